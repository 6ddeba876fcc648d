"""MCP servers on the official SDK, run by one event loop on a background thread.

The rest of atdak is synchronous: it calls :meth:`McpServers.call` and gets a
:class:`ToolResult` back, whatever the server did (failed to start, crashed, hung, erred).
This is the only module that imports ``mcp`` (pydantic and anyio with it: ~0.9 s here), and
it does so on the background thread, so the main thread can keep streaming meanwhile.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO, TypeVar

from atdak_cli.errors import AppError, ExitStatus
from atdak_cli.tools.config import ServerConfig, default_environment, expand
from atdak_cli.tools.spec import ToolResult, ToolSpec

if TYPE_CHECKING:
    import asyncio
    import concurrent.futures

    from mcp import Client

_T = TypeVar("_T")
_CLOSE_GRACE = 5.0  # seconds to let servers exit (the SDK: 2 s after stdin closes, then TERM)


class ToolServerError(AppError):
    """An MCP server could not be started or listed (its tools cannot be offered)."""

    status = ExitStatus.USAGE

    def __init__(self, server: ServerConfig, cause: str) -> None:
        super().__init__(
            f"the MCP server {server.name!r} did not start ({cause})",
            hint=f"check [mcp.{server.name}] in the config (`atdak mcp list` tries it)",
        )
        if server.url:
            self.status = ExitStatus.NETWORK


class McpServers:
    """Starts servers when asked, in the background; joins them only when their tools or a
    call are needed. A context manager: every server is stopped on the way out."""

    def __init__(
        self, configs: Mapping[str, ServerConfig], *, environ: Mapping[str, str] | None = None
    ) -> None:
        import os

        self.configs = dict(configs)
        self._environ = dict(os.environ if environ is None else environ)
        self._connections: dict[str, _Connection] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._serving: list[concurrent.futures.Future[None]] = []

    def __enter__(self) -> McpServers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self, names: list[str] | None = None) -> None:
        """Start these servers (all by default) without waiting for them."""
        names = list(self.configs) if names is None else names
        if not names:
            return  # not even the loop's thread: importing asyncio is CPU the answer needs
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run_loop, name="atdak-mcp", daemon=True
                )
                self._thread.start()
            for name in names:
                if name not in self._connections:
                    connection = _Connection(self.configs[name], self._environ)
                    self._connections[name] = connection
                    self._serving.append(self._submit(connection.serve()))

    def tools(self, name: str, *, timeout: float | None = None) -> list[ToolSpec]:
        """The server's tools, listed once it has started; ToolServerError if it cannot."""
        self.start([name])
        config = self.configs[name]
        import concurrent.futures

        try:
            return self._connections[name].listed.result(timeout or config.timeout)
        except concurrent.futures.TimeoutError:
            raise ToolServerError(config, f"no answer within {config.timeout:g} s") from None

    def call(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolResult:
        """Run one tool; every failure is a result for the model, never an exception."""
        return self.submit_call(server, tool, arguments).result()

    def submit_call(
        self, server: str, tool: str, arguments: dict[str, Any]
    ) -> concurrent.futures.Future[ToolResult]:
        """The same, without waiting: calls of one turn run concurrently."""
        self.start([server])
        return self._submit(self._connections[server].call(tool, arguments))

    def prompts(self, name: str) -> list[PromptInfo]:
        """The server's prompts (MCP prompts: templates the user picks, e.g. /prompt)."""
        listing = self._ask(name, lambda client: client.list_prompts())
        return [_prompt_info(name, prompt) for prompt in listing.prompts]

    def get_prompt(self, name: str, prompt: str, arguments: dict[str, str]) -> list[dict[str, str]]:
        """A prompt's messages as chat messages (text parts only)."""
        result = self._ask(name, lambda client: client.get_prompt(prompt, arguments))
        return [
            {"role": str(message.role), "content": _content_text(message.content)}
            for message in result.messages
        ]

    def resources(self, name: str) -> list[ResourceInfo]:
        listing = self._ask(name, lambda client: client.list_resources())
        return [_resource_info(name, resource) for resource in listing.resources]

    def read_resource(self, name: str, uri: str) -> str:
        """A resource's text, to attach as context (binary contents are named, not sent)."""
        result = self._ask(name, lambda client: client.read_resource(uri))
        return "\n".join(_content_text(item) for item in result.contents)

    def _ask(self, name: str, request: Callable[[Client], Awaitable[_T]]) -> _T:
        """A request the user made (not the model): its failure is theirs to see."""
        self.start([name])
        config = self.configs[name]
        future = self._submit(self._connections[name].request(request))
        import concurrent.futures

        try:
            return future.result(config.timeout)  # type: ignore[no-any-return]
        except concurrent.futures.TimeoutError:
            raise ToolServerError(config, f"no answer within {config.timeout:g} s") from None
        except ToolServerError:
            raise
        except Exception as exc:
            raise AppError(f"the MCP server {name!r} refused: {_describe(exc)}") from None

    def listed(self, name: str) -> concurrent.futures.Future[list[ToolSpec]] | None:
        """The server's tool list to come, if it was started."""
        connection = self._connections.get(name)
        return connection.listed if connection else None

    def stderr_tail(self, name: str) -> str:
        connection = self._connections.get(name)
        return connection.stderr_tail() if connection else ""

    def close(self) -> None:
        """Stop every server (bounded), then the loop."""
        loop = self._loop
        if loop is None:
            return
        import concurrent.futures

        for connection in self._connections.values():
            self._submit(connection.stop())
        concurrent.futures.wait(self._serving, timeout=_CLOSE_GRACE)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(_CLOSE_GRACE)
        self._loop = None

    def _run_loop(self) -> None:
        import asyncio

        loop = asyncio.new_event_loop()
        self._loop = loop
        self._loop_ready.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                _cancel_all(loop)
            loop.close()

    def _submit(self, coroutine: Any) -> concurrent.futures.Future[Any]:
        import asyncio

        self._loop_ready.wait()
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    import asyncio

    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


class _Connection:
    """One server's session, held open by one task (anyio's scopes must be left by the task
    that entered them)."""

    def __init__(self, config: ServerConfig, environ: Mapping[str, str]) -> None:
        import concurrent.futures
        import tempfile

        self.config = config
        self._environ = environ
        self.listed: concurrent.futures.Future[list[ToolSpec]] = concurrent.futures.Future()
        self._client: Client | None = None
        self._ready: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._failure: str | None = None
        # The server's stderr: kept out of the transcript, its last line names a failure.
        self._errlog: TextIO = tempfile.TemporaryFile(  # noqa: SIM115 - closed by serve()
            "w+", encoding="utf-8", errors="replace"
        )

    async def serve(self) -> None:
        import asyncio

        self._ready, self._stopping = asyncio.Event(), asyncio.Event()
        try:
            from mcp import Client

            async with Client(self._transport()) as client:
                self._client = client
                listing = await client.list_tools()
                tools = [_spec(self.config.name, tool) for tool in listing.tools]
                self.listed.set_result(tools)
                self._ready.set()
                await self._stopping.wait()
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a message
            self._fail(_describe(exc) or "it stopped", exc)
        finally:
            self._client = None
            self._ready.set()
            if self._failure is None:
                self._failure = "it was stopped"
            self._errlog.close()

    def _fail(self, cause: str, exc: BaseException) -> None:
        tail = self.stderr_tail()
        self._failure = f"{cause}: {tail}" if tail and tail not in cause else cause
        if not self.listed.done():
            self.listed.set_exception(ToolServerError(self.config, self._failure))
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise exc

    def _transport(self) -> Any:
        where = f"[mcp.{self.config.name}]"
        if self.config.url:
            headers = {k: expand(v, self._environ, where) for k, v in self.config.headers.items()}
            return _http_transport(self.config.url, headers)
        from mcp.client.stdio import StdioServerParameters, stdio_client

        env = default_environment(self._environ)
        env.update({k: expand(v, self._environ, where) for k, v in self.config.env.items()})
        params = StdioServerParameters(
            command=self.config.command or "",
            args=list(self.config.args),
            env=env,
            cwd=_expand_user(self.config.cwd),
        )
        return stdio_client(params, errlog=self._errlog)

    async def call(self, tool: str, arguments: dict[str, Any]) -> ToolResult:
        import asyncio

        started = time.monotonic()
        timeout = self.config.timeout
        try:
            client = await asyncio.wait_for(self._joined(), timeout)
            result = await asyncio.wait_for(client.call_tool(tool, arguments), timeout)
        except asyncio.TimeoutError:  # not yet the builtin TimeoutError on 3.10
            text = f"error: {self.config.name}.{tool} gave no answer within {timeout:g} s"
            return ToolResult(text, "error", time.monotonic() - started)
        except _NotRunning as exc:
            text = f"error: the MCP server {self.config.name!r} is not running ({exc})"
            return ToolResult(text, "error", time.monotonic() - started)
        except Exception as exc:
            text = f"error: {self.config.name}.{tool} failed ({self._cause(exc)})"
            return ToolResult(text, "error", time.monotonic() - started)
        text, seconds = result_text(result), time.monotonic() - started
        if getattr(result, "is_error", False):
            return ToolResult(text or f"error: {self.config.name}.{tool} failed", "error", seconds)
        return ToolResult(text, "ok", seconds)

    async def request(self, request: Callable[[Client], Awaitable[_T]]) -> _T:
        try:
            client = await self._joined()
        except _NotRunning as exc:
            raise ToolServerError(self.config, str(exc)) from None
        return await request(client)

    async def _joined(self) -> Client:
        """The client once the server has started; _NotRunning if it failed or stopped."""
        while self._ready is None:  # serve() has not run yet
            import asyncio

            await asyncio.sleep(0)
        await self._ready.wait()
        if self._client is None:
            raise _NotRunning(self._failure or "it stopped")
        return self._client

    def _cause(self, exc: BaseException) -> str:
        cause = _describe(exc)
        if "closed" in cause.lower():
            tail = self.stderr_tail()
            cause = "the server closed the connection; it may have crashed"
            cause += f": {tail}" if tail else ""
        return cause

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()

    def stderr_tail(self) -> str:
        """The server's last line on stderr (why it failed, usually)."""
        with contextlib.suppress(ValueError, OSError):
            self._errlog.seek(0)
            lines = [line.strip() for line in self._errlog.read()[-4000:].splitlines()]
            return next((line for line in reversed(lines) if line), "")[:200]
        return ""


@contextlib.asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str]) -> AsyncIterator[Any]:
    """Streamable HTTP with our headers; the SDK leaves a client it was given open."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    timeout = httpx2.Timeout(30, read=300)  # the SDK's own: a response stream may stay open
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


class _NotRunning(Exception):
    pass


class PromptInfo(NamedTuple):
    source: str
    name: str
    description: str = ""
    arguments: tuple[tuple[str, bool], ...] = ()  # (name, required)


class ResourceInfo(NamedTuple):
    source: str
    uri: str
    name: str = ""
    description: str = ""


def _prompt_info(source: str, prompt: Any) -> PromptInfo:
    arguments = tuple((str(a.name), bool(a.required)) for a in prompt.arguments or [])
    return PromptInfo(source, str(prompt.name), str(prompt.description or ""), arguments)


def _resource_info(source: str, resource: Any) -> ResourceInfo:
    return ResourceInfo(
        source, str(resource.uri), str(resource.name or ""), str(resource.description or "")
    )


def _content_text(item: Any) -> str:
    text = getattr(item, "text", None)
    if isinstance(text, str):
        return text
    resource = getattr(item, "resource", None)
    if resource is not None:
        return _content_text(resource)
    mime = getattr(item, "mime_type", None) or "binary"
    return f"[{mime} content left out: atdak sends text only]"


def _expand_user(path: str | None) -> str | None:
    import os

    return os.path.expanduser(path) if path else None


def _spec(source: str, tool: Any) -> ToolSpec:
    schema = getattr(tool, "input_schema", None)
    return ToolSpec(
        source=source,
        name=str(tool.name),
        description=str(getattr(tool, "description", None) or ""),
        input_schema=dict(schema) if isinstance(schema, dict) else {"type": "object"},
    )


def _describe(exc: BaseException) -> str:
    """One line for the deepest real cause (anyio wraps failures in exception groups)."""
    while getattr(exc, "exceptions", None):  # an ExceptionGroup (3.11+, or its backport)
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename or 'the command'} was not found"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def result_text(result: Any) -> str:
    """A CallToolResult as text for the model: text parts as they are, other content named
    (an image cannot go into a ``tool`` message of the Chat Completions API)."""
    parts = []
    for item in getattr(result, "content", None) or []:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(str(item.text))
        elif kind == "resource":
            resource = item.resource
            parts.append(str(getattr(resource, "text", None) or f"[resource {resource.uri}]"))
        elif kind == "resource_link":
            parts.append(f"[resource link {item.uri}]")
        else:
            mime = getattr(item, "mime_type", None) or "unknown type"
            parts.append(f"[{kind} content ({mime}) left out: atdak sends text only]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        import json

        parts.append(json.dumps(structured, ensure_ascii=False))
    return "\n".join(parts)


class ServerStatus(NamedTuple):
    """What ``atdak mcp list`` shows of one server: its tools, or why it did not start."""

    config: ServerConfig
    tools: tuple[ToolSpec, ...] = ()
    error: str | None = None


def probe(configs: Mapping[str, ServerConfig]) -> list[ServerStatus]:
    """Start every server at once, list each one's tools, stop them all."""
    statuses = []
    with McpServers(configs) as servers:
        servers.start()
        for name, config in configs.items():
            try:
                statuses.append(ServerStatus(config, tuple(servers.tools(name))))
            except ToolServerError as exc:
                statuses.append(ServerStatus(config, error=exc.message))
    return statuses
