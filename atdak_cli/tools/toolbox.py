"""The tools of one run: chosen with ``-T NAME`` / ``-T NAME.tool`` and ``--functions``,
offered to the model under unique names, and each call checked before it may run."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atdak_cli.errors import UsageError
from atdak_cli.tools.cache import ToolListCache
from atdak_cli.tools.config import ServerConfig
from atdak_cli.tools.mcp_client import McpServers
from atdak_cli.tools.spec import ToolCall, ToolResult, ToolSpec, truncated

if TYPE_CHECKING:
    import concurrent.futures

    from atdak_cli.tools.functions import PythonTool

_API_NAME = re.compile(r"[^A-Za-z0-9_-]")  # what the Chat Completions API allows in a name


@dataclass(frozen=True)
class Offered:
    """A tool as the model sees it (``api_name``) and where it really comes from."""

    spec: ToolSpec
    api_name: str
    pre_approved: bool = False

    def to_api(self) -> dict[str, Any]:
        function = {
            "name": self.api_name,
            "description": self.spec.description,
            "parameters": self.spec.input_schema,
        }
        return {"type": "function", "function": function}


@dataclass
class Prepared:
    """A call checked against the tools: ``error`` is set if it cannot run as asked."""

    call: ToolCall
    offered: Offered | None = None
    arguments: dict[str, Any] | None = None
    error: ToolResult | None = None


def parse_selection(values: list[str]) -> dict[str, set[str] | None]:
    """``-T git -T time.get_current_time`` -> {server: None (all) or the tools named}."""
    chosen: dict[str, set[str] | None] = {}
    for value in values:
        server, _, tool = value.partition(".")
        if not server:
            raise UsageError(f"-T {value!r} names no server", hint="use -T NAME or -T NAME.tool")
        if not tool:
            chosen[server] = None
        elif chosen.get(server, set()) is not None:
            chosen.setdefault(server, set()).add(tool)  # type: ignore[union-attr]
    return chosen


class Toolbox:
    """Owns the servers it starts: a context manager."""

    def __init__(
        self,
        configs: Mapping[str, ServerConfig],
        selection: Mapping[str, set[str] | None],
        *,
        functions: list[PythonTool] = (),  # type: ignore[assignment]
        cache: ToolListCache,
        environ: Mapping[str, str] | None = None,
        approve_all: bool = False,
    ) -> None:
        for name in selection:
            if name not in configs:
                known = ", ".join(sorted(configs)) or "none yet: atdak mcp add NAME -- CMD"
                raise UsageError(f"no MCP server named {name!r}", hint=f"known servers: {known}")
        self.configs = {name: configs[name] for name in selection}
        self.selection = dict(selection)
        self.functions = {tool.spec.name: tool for tool in functions}
        self.cache = cache
        self.approve_all = approve_all
        self.servers = McpServers(self.configs, environ=environ)
        self.offered: dict[str, Offered] = {}
        self.disabled: set[str] = set()  # api names turned off (the REPL's /tools off)
        self._waiting: list[str] = []  # servers whose tools came from the cache

    def __enter__(self) -> Toolbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def load(self) -> list[Offered]:
        """Every tool chosen. A server with a cached tool list is not waited for (its start
        is left to :meth:`start_background`); one without is started and listed now."""
        specs: list[ToolSpec] = [tool.spec for tool in self.functions.values()]
        fresh = [
            name for name, c in self.configs.items() if self.cache.get(c.cache_key(), name) is None
        ]
        self.servers.start(fresh)
        for name, config in self.configs.items():
            tools = self.cache.get(config.cache_key(), name)
            if tools is None:
                tools = self.servers.tools(name)
                self.cache.put(config.cache_key(), tools)
            else:
                self._waiting.append(name)
            specs.extend(self._chosen(name, tools))
        self.offered = _name_uniquely(specs, self._pre_approved)
        return list(self.offered.values())

    def start_background(self) -> None:
        """Start the servers whose tools were cached, once the model asks for a call (the
        SDK's import would otherwise compete with the answer's streaming for the GIL)."""
        self.servers.start(self._waiting)

    def api_tools(self) -> list[dict[str, Any]]:
        """The request's ``tools`` field."""
        return [o.to_api() for name, o in self.offered.items() if name not in self.disabled]

    def switch(self, pattern: str, *, on: bool) -> list[str]:
        """Turn tools on or off by API name, ``server.tool`` or ``server`` (all of its
        tools); the names switched. UsageError if nothing matches."""
        matched = [
            name
            for name, o in self.offered.items()
            if pattern in (name, o.spec.qualified, o.spec.source)
        ]
        if not matched:
            raise UsageError(
                f"no tool or server {pattern!r} in this session", hint="/tools lists them"
            )
        if on:
            self.disabled.difference_update(matched)
        else:
            self.disabled.update(matched)
        return matched

    def _chosen(self, server: str, tools: list[ToolSpec]) -> list[ToolSpec]:
        wanted = self.selection.get(server)
        if wanted is None:
            return tools
        missing = wanted - {tool.name for tool in tools}
        if missing:
            have = ", ".join(tool.name for tool in tools) or "none"
            raise UsageError(
                f"the MCP server {server!r} has no tool {sorted(missing)[0]!r}",
                hint=f"its tools: {have}",
            )
        return [tool for tool in tools if tool.name in wanted]

    def _pre_approved(self, spec: ToolSpec) -> bool:
        config = self.configs.get(spec.source)
        return self.approve_all or (config is not None and config.allows(spec.name))

    def prepare(self, call: ToolCall) -> Prepared:
        """Check a call: a known tool, arguments that are a JSON object matching its schema.
        Each failure is an error result the model can learn from."""
        offered = self.offered.get(call.name)
        if offered is None or call.name in self.disabled:
            names = ", ".join(n for n in self.offered if n not in self.disabled) or "none"
            text = f"error: there is no tool named {call.name!r}; the tools are: {names}"
            return Prepared(call, error=ToolResult(text, "error"))
        prepared = Prepared(call, offered)
        try:
            arguments = json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError as exc:
            text = f"error: the arguments of {call.name} are not valid JSON ({exc})"
            prepared.error = ToolResult(text, "error")
            return prepared
        problem = schema_problem(offered.spec.input_schema, arguments)
        if problem:
            prepared.error = ToolResult(f"error: bad arguments for {call.name}: {problem}", "error")
        else:
            prepared.arguments = arguments
        return prepared

    def submit(self, prepared: Prepared) -> concurrent.futures.Future[ToolResult]:
        """Run a prepared (and approved) call without waiting for it."""
        assert prepared.offered is not None and prepared.arguments is not None
        spec = prepared.offered.spec
        if spec.source in self.configs:
            return self.servers.submit_call(spec.source, spec.name, prepared.arguments)
        from atdak_cli.tools.functions import run_function  # inspect and typing: --functions only

        return run_function(self.functions[spec.name], prepared.arguments)

    def close(self) -> None:
        """Stop the servers, and remember tool lists that changed since they were cached."""
        for name in self._waiting:
            future = self.servers.listed(name)
            if future is not None and future.done() and future.exception() is None:
                self.cache.put(self.configs[name].cache_key(), future.result())
        self.servers.close()


def schema_problem(schema: dict[str, Any], arguments: object) -> str | None:
    """Why ``arguments`` do not fit ``schema`` (one line), or None."""
    if not isinstance(arguments, dict):
        return f"they must be a JSON object, not {type(arguments).__name__}"
    import jsonschema  # type: ignore[import-untyped]

    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError:
        return None  # the tool's own schema is broken: let the tool judge
    error = jsonschema.exceptions.best_match(validator_class(schema).iter_errors(arguments))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{error.message}" + (f" (at {where})" if where else "")


def _name_uniquely(specs: list[ToolSpec], pre_approved: Any) -> dict[str, Offered]:
    """API names: the tool's own name when unique, else ``server_tool``; only the
    characters the API allows, at most 64."""
    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec.name] = counts.get(spec.name, 0) + 1
    offered: dict[str, Offered] = {}
    for spec in specs:
        base = spec.name if counts[spec.name] == 1 else f"{spec.source}_{spec.name}"
        name = _API_NAME.sub("_", base)[:64] or "tool"
        suffix = 2
        while name in offered:
            name, suffix = f"{name[:60]}_{suffix}", suffix + 1
        offered[name] = Offered(spec, name, pre_approved(spec))
    return offered


def result_for_model(result: ToolResult) -> ToolResult:
    """Cut to the stated limit before it is sent (and stored)."""
    text = truncated(result.text)
    return result if text == result.text else ToolResult(text, result.outcome, result.seconds)


def load_function_files(paths: list[Path]) -> list[PythonTool]:
    from atdak_cli.tools.functions import load_functions

    return [tool for path in paths for tool in load_functions(path)]
