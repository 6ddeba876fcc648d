"""``Stream`` and ``AsyncStream``: the chunks of a streamed answer, read from an open response.

Everything but the reading is in ``_StreamCore``, which does no I/O: it is fed the bytes of the
body (``feed``, ``end``, or ``json_body`` for a server that answers with one JSON object) and
hands back the chunks they complete, keeping the answer so far and the deadlines. ``Stream``
reads with ``iter_bytes``, ``AsyncStream`` with ``aiter_bytes``; both hand out the chunks of a
read from a list, with no generator in between (per-chunk cost is the budget here).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from atdak_cli.client._errors import (
    APIResponseValidationError,
    IncompleteStreamError,
    ServerStreamError,
    StreamError,
    StreamTimeoutError,
)
from atdak_cli.client._sse import ServerSentEvent, SSEDecoder
from atdak_cli.client._timeouts import Deadline, Scheduler, Timeout, Watchdog, thread_timer
from atdak_cli.client._tool_calls import ToolCallAssembler
from atdak_cli.client._types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessageToolCall,
    CompletionUsage,
)

if TYPE_CHECKING:
    from collections.abc import Callable

# A JSON body longer than this is not an answer we can use (and must not exhaust memory).
MAX_JSON_BODY = 64 * 1024 * 1024
# httpx's read timeout is capped at the deadline too, so either may fire first.
_DEADLINE_SLACK = 0.05

_T = TypeVar("_T")


class _StreamCore:
    """The state of one streamed answer, fed bytes; no I/O.

    While chunks come it gathers choice 0 (``text``, ``reasoning``, ``tool_calls``,
    ``finish_reason``, ``usage``) so that a caller stopped by an error still has the partial
    answer. Chunks without choices (the usage-only chunk that ends an ``include_usage``
    stream, Azure's prompt-filter chunk) are handed out only when ``include_usage`` was asked
    for: code that did not ask may index ``chunk.choices[0]``, as the API page's example does.
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        timeout: Timeout,
        deadline: Deadline,
        redact: Callable[[str], str] = str,
        include_usage: bool = False,
        schedule: Scheduler = thread_timer,
    ) -> None:
        self.response = response
        self.text_parts: list[str] = []
        self.reasoning_parts: list[str] = []
        self._tool_calls = ToolCallAssembler()
        self.finish_reason: str | None = None
        self.usage: CompletionUsage | None = None
        # The server's own object when it answered with one JSON completion.
        self.json_body: dict[str, Any] | None = None
        # True while chunks already received are still to come out of the iterator: a writer
        # flushes when it is False, once per network read rather than once per delta.
        self.more_ready = False
        self._include_empty = include_usage
        self._first: ChatCompletionChunk | None = None
        self._timeout = timeout
        self._deadline = deadline
        self._redact = redact
        self._watchdog = Watchdog(response, schedule)
        self._decoder = SSEDecoder()
        self._done = False  # [DONE] came (or the JSON body was read): read no more
        self._failure: StreamError | None = None
        self._ready: list[ChatCompletionChunk] = []
        self._next = 0

    @property
    def request_id(self) -> str | None:
        """The server's ``x-request-id``."""
        value = self.response.headers.get("x-request-id")
        return None if value is None else str(value)

    @property
    def text(self) -> str:
        """The answer (choice 0) received so far."""
        return "".join(self.text_parts)

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_parts)

    @property
    def tool_calls(self) -> list[ChatCompletionMessageToolCall]:
        """The tool calls of choice 0 so far, their fragments joined, in the server's order."""
        return self._tool_calls.calls()

    def to_completion(self) -> ChatCompletion:
        """The answer assembled as a ``chat.completion`` object (for ``--json``)."""
        first = self._first
        message: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.reasoning_parts:
            message["reasoning_content"] = self.reasoning
        if tool_calls := self.tool_calls:
            message["tool_calls"] = [call.to_dict() for call in tool_calls]
        data: dict[str, Any] = {
            "id": first.id if first else "",
            "object": "chat.completion",
            "created": first.created if first else 0,
            "model": first.model if first else "",
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
        }
        if self.usage is not None:
            data["usage"] = self.usage.to_dict()
        completion = ChatCompletion.from_dict(data)
        completion._request_id = self.request_id
        return completion

    # -- fed by the reader

    def _start(self) -> str:
        """The body's kind (``"sse"`` or ``"json"``); arms the first-content deadline."""
        self._watchdog.arm(self._deadline.cap(self._timeout.first_content), "first_content")
        kind = _content_kind(self.response.headers.get("content-type", ""))
        if kind == "html":
            raise StreamError(
                "the server sent an HTML page instead of an answer (a proxy or captive portal?)",
                request=self.response.request,
            )
        return kind

    def _feed(self, data: bytes) -> None:
        self._check_watchdog()
        self._events(self._decoder.feed(data))

    def _end(self) -> None:
        """The body ended: what the decoder still holds, then was the answer complete?"""
        self._check_watchdog()
        self._events(self._decoder.close())
        self._done = True
        if self.finish_reason is None and self._failure is None:
            # Raised once the chunks that did come are handed out.
            self._failure = IncompleteStreamError(
                "the stream ended before the model finished"
                if self._first is not None
                else "the server ended the stream without sending any of the answer",
                partial=self.text,
                request=self.response.request,
            )

    def _finish(self) -> None:
        """Nothing more to hand out: the stream's failure, if it had one."""
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def _events(self, events: list[ServerSentEvent]) -> None:
        for event in events:
            for part in _split_documents(event):
                if part.data == "[DONE]":
                    self._done = True
                    return
                try:
                    self._accept(part)
                except StreamError as exc:
                    if self._next >= len(self._ready):
                        raise
                    # The chunks before it in this read are handed out first: what a reader
                    # sees must not depend on where the network split the bytes.
                    self._failure, self._done = exc, True
                    return

    def _json_body(self, body: bytes) -> None:
        """A server that answers a stream request with one JSON object (or mislabels SSE)."""
        if len(body) > MAX_JSON_BODY:
            raise StreamError("the answer is too large", request=self.response.request)
        stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
        if stripped.startswith((b"data:", b":", b"event:")):
            self._feed(body)
            if not self._done:
                self._end()
            return
        self._done = True
        data = _loads(body, self.response.request, redact=self._redact)
        _raise_in_band_error(data, self.response.request, self._redact)
        if not isinstance(data, dict):
            raise APIResponseValidationError(
                "the answer is not a JSON object", response=self.response, body=data
            )
        self.json_body = data
        self._record(_chunk_from_completion(ChatCompletion.from_dict(data), data))

    def _accept(self, event: ServerSentEvent) -> None:
        if not event.data or event.data.isspace():
            return
        try:
            data = (
                _error_event_body(event.data)
                if event.event == "error"
                else _loads(event.data, self.response.request, redact=self._redact)
            )
            _raise_in_band_error(data, self.response.request, self._redact)
            if not isinstance(data, dict):
                raise StreamError(
                    "the stream sent a chunk that is not a JSON object",
                    request=self.response.request,
                )
        except StreamError as exc:
            exc.partial = self.text  # joined only now: per chunk it would be quadratic
            raise
        self._record(ChatCompletionChunk.from_dict(data))

    def _record(self, chunk: ChatCompletionChunk) -> None:
        if self._first is None:
            self._first = chunk
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta.content or delta.reasoning_content:
                self._content_arrived()
                if delta.content:
                    self.text_parts.append(delta.content)
                if delta.reasoning_content:
                    self.reasoning_parts.append(delta.reasoning_content)
            if delta.tool_calls:
                self._tool_calls.add(delta.tool_calls)
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason
        if chunk.choices or self._include_empty:
            self._ready.append(chunk)

    def _take(self) -> ChatCompletionChunk | None:
        """The next chunk already received, if any."""
        ready = self._ready
        if self._next >= len(ready):
            if ready:
                self._ready, self._next = [], 0
            return None
        chunk = ready[self._next]
        self._next += 1
        self.more_ready = self._next < len(ready)
        return chunk

    def _content_arrived(self) -> None:
        if self._watchdog.expired is None and not self.text_parts and not self.reasoning_parts:
            self._watchdog.arm(self._deadline.remaining(), "total")

    def _check_watchdog(self) -> None:
        if self._watchdog.expired is not None:
            raise self._timeout_error()
        if self._deadline.remaining() == 0.0:
            self._watchdog.expired = "total"
            raise self._timeout_error()

    @contextmanager
    def _translating(self) -> Iterator[None]:
        """httpx's errors while reading become ours, with the answer so far."""
        try:
            yield
        except httpx.TimeoutException as exc:
            raise self._timeout_error() from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise self._cut_error(exc) from exc
        except RecursionError:
            # JSON nested deeper than the interpreter's stack: hostile, not a bug of ours.
            raise StreamError(
                "the server sent a chunk nested too deeply to read",
                request=self.response.request,
                partial=self.text,
            ) from None

    def _timeout_error(self) -> StreamTimeoutError:
        reason = self._watchdog.expired
        left = self._deadline.remaining()
        if reason is None and left is not None and left < _DEADLINE_SLACK:
            reason = "total"  # httpx's read timeout won the race against the watchdog
        if reason == "first_content":
            message = f"no answer within {self._timeout.first_content:g} s"
        elif reason == "total":
            message = "the request took longer than its deadline"
        else:
            message = "the server went silent mid-answer"
        return StreamTimeoutError(message, partial=self.text, request=self.response.request)

    def _cut_error(self, exc: Exception) -> IncompleteStreamError:
        if self._watchdog.expired is not None:
            return self._timeout_error()
        return IncompleteStreamError(
            f"the connection broke mid-answer ({_describe(exc)})",
            partial=self.text,
            reason="network",
            request=self.response.request,
        )


class Stream(_StreamCore, Generic[_T]):
    """An iterator of :class:`ChatCompletionChunk` and a context manager.

    The connection is closed when the stream is exhausted, fails, is closed early, or is
    garbage-collected.
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        timeout: Timeout,
        deadline: Deadline,
        redact: Callable[[str], str] = str,
        include_usage: bool = False,
        schedule: Scheduler = thread_timer,
    ) -> None:
        super().__init__(
            response,
            timeout=timeout,
            deadline=deadline,
            redact=redact,
            include_usage=include_usage,
            schedule=schedule,
        )
        self._kind: str | None = None
        self._bytes: Iterator[bytes] | None = None
        self._closed = False

    def __iter__(self) -> Iterator[_T]:
        return self

    def __next__(self) -> _T:
        chunk = self._take()
        while chunk is None:
            self._read()
            chunk = self._take()
        return chunk  # type: ignore[return-value]  # _T is ChatCompletionChunk

    def _read(self) -> None:
        """One network read's chunks into the queue; StopIteration once there are no more."""
        if self._done or self._closed:
            self.close()
            self._finish()
            raise StopIteration
        try:
            with self._translating():
                if self._kind is None:
                    self._kind = self._start()
                    if self._kind == "sse":
                        self._bytes = self.response.iter_bytes()
                if self._kind == "json":
                    self._json_body(self.response.read())
                    return
                assert self._bytes is not None
                data = next(self._bytes, None)
                if data is None:
                    self._end()
                else:
                    self._feed(data)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Stream[_T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; safe to call more than once."""
        self._closed = True
        self._watchdog.disarm()
        self.response.close()

    def __del__(self) -> None:
        try:
            if not self._closed:
                self.close()
        except Exception:  # noqa: S110  # the interpreter may be shutting down
            pass


class AsyncStream(_StreamCore, Generic[_T]):
    """An async iterator of :class:`ChatCompletionChunk` and an async context manager:
    ``async with stream:`` closes the connection however the loop ends."""

    def __init__(
        self,
        response: httpx.Response,
        *,
        timeout: Timeout,
        deadline: Deadline,
        redact: Callable[[str], str] = str,
        include_usage: bool = False,
    ) -> None:
        super().__init__(
            response,
            timeout=timeout,
            deadline=deadline,
            redact=redact,
            include_usage=include_usage,
            schedule=_loop_timer,
        )
        self._kind: str | None = None
        self._bytes: AsyncIterator[bytes] | None = None
        self._closed = False

    def __aiter__(self) -> AsyncStream[_T]:
        return self

    async def __anext__(self) -> _T:
        chunk = self._take()
        while chunk is None:
            await self._read()
            chunk = self._take()
        return chunk  # type: ignore[return-value]  # _T is ChatCompletionChunk

    async def _read(self) -> None:
        if self._done or self._closed:
            await self.close()
            self._finish()
            raise StopAsyncIteration
        try:
            with self._translating():
                if self._kind is None:
                    self._kind = self._start()
                    if self._kind == "sse":
                        self._bytes = self.response.aiter_bytes()
                if self._kind == "json":
                    self._json_body(await self.response.aread())
                    return
                assert self._bytes is not None
                data = await anext(self._bytes, None)
                if data is None:
                    self._end()
                else:
                    self._feed(data)
        except BaseException:
            await self.close()
            raise

    async def __aenter__(self) -> AsyncStream[_T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection; safe to call more than once."""
        self._closed = True
        self._watchdog.disarm()
        await self.response.aclose()


def _loop_timer(seconds: float, callback: Callable[[], None]) -> Any:
    import asyncio

    return asyncio.get_running_loop().call_later(seconds, callback)


def _content_kind(content_type: str) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("text/html", "application/xhtml+xml"):
        return "html"
    if media == "application/json" or media.endswith("+json"):
        return "json"
    # text/event-stream, and servers that label SSE text/plain or nothing at all.
    return "sse"


def _split_documents(event: ServerSentEvent) -> list[ServerSentEvent]:
    """One event per JSON document. Servers that copy the API page's example write one
    ``data:`` line per chunk with no blank line between, which WHATWG joins into one event."""
    if "\n" not in event.data or _is_json(event.data):
        return [event]
    lines = [line for line in event.data.split("\n") if line.strip()]
    if not all(line == "[DONE]" or _is_json(line) for line in lines):
        return [event]
    return [event._replace(data=line) for line in lines]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _loads(
    body: bytes | str,
    request: httpx.Request | None,
    *,
    redact: Callable[[str], str] = str,
) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        head = body[:4096]
        text = head.decode("utf-8", "replace") if isinstance(head, bytes) else head
        # Redacted before the cut, so a key echoed by the server cannot leak even in part.
        snippet = redact(text)[:60].replace("\n", " ")
        raise StreamError(
            f"the server sent a malformed chunk: {snippet!r}", request=request
        ) from None


def _raise_in_band_error(
    data: object, request: httpx.Request | None, redact: Callable[[str], str]
) -> None:
    """OpenAI and vLLM send ``{"error": {...}}``; llama.cpp ``{"error": {...}}`` after
    ``event: error``; vLLM's older shape is ``{"object": "error", "message": ...}``."""
    if not isinstance(data, dict):
        return
    error = data.get("error")
    if error is None and data.get("object") == "error":
        error = data
    if error is None:
        return
    message = error.get("message") if isinstance(error, dict) else error
    # Only scalars are shown: str() of a deeply nested value could exhaust the stack.
    shown = str(message) if isinstance(message, (str, int, float)) and message else "error"
    text = redact(shown).strip().splitlines()
    raise ServerStreamError(
        f"the server reported an error mid-answer: {text[0] if text else 'error'}",
        request=request,
        body=data,
    )


def _error_event_body(data: str) -> Any:
    """The body of an ``event: error`` (or llama.cpp's ``error:`` field) as an in-band error,
    JSON or not: ``{"message": ...}`` and plain text are the error itself."""
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        body = {"message": data}
    return body if isinstance(body, dict) and "error" in body else {"error": body}


def _chunk_from_completion(completion: ChatCompletion, data: dict[str, Any]) -> ChatCompletionChunk:
    choice = completion.choices[0] if completion.choices else None
    delta: dict[str, Any] = {"role": "assistant"}
    if choice is not None:
        delta["content"] = choice.message.content or ""
        if choice.message.reasoning_content:
            delta["reasoning_content"] = choice.message.reasoning_content
        if choice.message.tool_calls:
            delta["tool_calls"] = [
                {**call.to_dict(), "index": i} for i, call in enumerate(choice.message.tool_calls)
            ]
    chunk: dict[str, Any] = {
        "id": completion.id,
        "object": "chat.completion.chunk",
        "created": completion.created,
        "model": completion.model,
        "choices": [
            {
                "index": 0,
                "delta": delta,
                "finish_reason": (choice.finish_reason if choice else None) or "stop",
            }
        ],
    }
    if "usage" in data:
        chunk["usage"] = data["usage"]
    return ChatCompletionChunk.from_dict(chunk)


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def completion_of(stream: _StreamCore) -> ChatCompletion:
    """The complete answer of a stream read to its end: the server's own object when it sent
    one JSON completion, else the chunks assembled."""
    if stream.json_body is None:
        return stream.to_completion()
    completion = ChatCompletion.from_dict(stream.json_body)
    completion._request_id = stream.request_id
    return completion


def completion_from_body(stream: _StreamCore, content: bytes) -> ChatCompletion:
    """The complete answer in a body already read (no I/O: sync and async alike)."""
    try:
        if stream._start() == "json":
            stream._json_body(content)
        else:
            stream._feed(content)
            if not stream._done:
                stream._end()
            stream._finish()
    finally:
        stream._watchdog.disarm()
    return completion_of(stream)
