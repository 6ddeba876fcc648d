"""What the tool machinery passes around: a tool as offered, a call as asked, its outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# A result longer than this is cut before it is sent: one tool must not fill the context.
MAX_RESULT_CHARS = 16_000

Outcome = Literal["ok", "error", "declined", "interrupted"]


@dataclass(frozen=True)
class ToolSpec:
    """One tool: where it comes from (an MCP server, or ``functions`` for --functions) and
    the name, description and JSON schema of its arguments."""

    source: str
    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})

    @property
    def qualified(self) -> str:
        """``server.tool``, as ``-T`` and ``allow`` name it."""
        return f"{self.source}.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
        }

    @classmethod
    def from_dict(cls, source: str, data: dict[str, Any]) -> ToolSpec:
        schema = data.get("input_schema")
        return cls(
            source=source,
            name=str(data.get("name", "")),
            description=str(data.get("description") or ""),
            input_schema=schema if isinstance(schema, dict) else {"type": "object"},
        )


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for: its id, the function name and the arguments as sent."""

    id: str
    name: str
    arguments: str

    @classmethod
    def from_api(cls, data: dict[str, Any], index: int) -> ToolCall:
        """From the API's ``{"id", "type", "function": {"name", "arguments"}}``."""
        function = data.get("function")
        function = function if isinstance(function, dict) else {}
        name, arguments = function.get("name"), function.get("arguments")
        call_id = data.get("id")
        return cls(
            id=call_id if isinstance(call_id, str) and call_id else f"call_{index}",
            name=name if isinstance(name, str) else "",
            arguments=arguments if isinstance(arguments, str) else "",
        )

    def to_api(self) -> dict[str, Any]:
        function = {"name": self.name, "arguments": self.arguments}
        return {"id": self.id, "type": "function", "function": function}


@dataclass(frozen=True)
class ToolResult:
    """What the model is told about one call. ``text`` is untrusted: never show it on a
    terminal without :func:`atdak_cli.tools.untrusted.printable`."""

    text: str
    outcome: Outcome = "ok"
    seconds: float = 0.0

    @property
    def is_error(self) -> bool:
        return self.outcome != "ok"


def truncated(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying so (the model should know it saw part)."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[truncated by atdak: {limit} of {len(text)} characters shown]"
