"""The non-streamed answer (``object: chat.completion``): frozen dataclasses, lenient parsing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from atdak_cli.client._types import JSON, CompletionUsage, _dict, _int, _rest, _str

__all__ = ["ChatCompletion", "ChatCompletionMessage", "Choice"]


@dataclass(frozen=True, slots=True)
class ChatCompletionMessage:
    """The assistant's message of a non-streamed answer. ``reasoning_content`` is read from
    ``reasoning_content`` or ``reasoning`` (vLLM, Ollama, OpenRouter); ``tool_calls`` holds
    the server's tool-call objects as sent."""

    role: str = "assistant"
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    _KNOWN = frozenset({"role", "content", "reasoning_content", "reasoning", "tool_calls"})

    @property
    def reasoning(self) -> str | None:
        """The same as ``reasoning_content``."""
        return self.reasoning_content

    @classmethod
    def from_dict(cls, data: JSON) -> ChatCompletionMessage:
        content = data.get("content")
        reasoning = data.get("reasoning_content") or data.get("reasoning")
        calls = data.get("tool_calls")
        return cls(
            role=_str(data.get("role"), "assistant"),
            content=content if isinstance(content, str) else None,
            reasoning_content=reasoning if isinstance(reasoning, str) else None,
            tool_calls=tuple(c for c in calls if isinstance(c, dict))
            if isinstance(calls, list)
            else (),
            extra=_rest(data, cls._KNOWN),
        )


@dataclass(frozen=True, slots=True)
class Choice:
    """One choice of a non-streamed answer."""

    index: int = 0
    message: ChatCompletionMessage = field(default_factory=ChatCompletionMessage)
    finish_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    _KNOWN = frozenset({"index", "message", "finish_reason"})

    @classmethod
    def from_dict(cls, data: JSON) -> Choice:
        reason = data.get("finish_reason")
        return cls(
            index=_int(data.get("index")),
            message=ChatCompletionMessage.from_dict(_dict(data.get("message"))),
            finish_reason=reason if isinstance(reason, str) else None,
            extra=_rest(data, cls._KNOWN),
        )


@dataclass(frozen=True, slots=True)
class ChatCompletion:
    """A complete answer (``object: chat.completion``)."""

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[Choice] = field(default_factory=list)
    usage: CompletionUsage | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: JSON) -> ChatCompletion:
        choices = data.get("choices")
        usage = data.get("usage")
        return cls(
            id=_str(data.get("id")),
            object=_str(data.get("object"), "chat.completion"),
            created=_int(data.get("created")),
            model=_str(data.get("model")),
            choices=[Choice.from_dict(c) for c in choices if isinstance(c, dict)]
            if isinstance(choices, list)
            else [],
            usage=CompletionUsage.from_dict(usage) if isinstance(usage, dict) else None,
            raw=dict(data),
        )

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON object, as the server sent it (or as assembled from a stream)."""
        return dict(self.raw)
