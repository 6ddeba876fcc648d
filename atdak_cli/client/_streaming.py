"""``Stream``: the chunks of a streamed answer, read from an open response."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from atdak_cli.client._errors import (
    IncompleteStreamError,
    ServerStreamError,
    StreamError,
)
from atdak_cli.client._sse import ServerSentEvent, SSEDecoder
from atdak_cli.client._timeouts import Deadline, Timeout, Watchdog
from atdak_cli.client._types import ChatCompletionChunk, CompletionUsage

if TYPE_CHECKING:
    from collections.abc import Callable

    from atdak_cli.client._completion import ChatCompletion

# A JSON body longer than this is not an answer we can use (and must not exhaust memory).
MAX_JSON_BODY = 64 * 1024 * 1024
# httpx's read timeout is capped at the deadline too, so either may fire first.
_DEADLINE_SLACK = 0.05


class Stream:
    """An iterator of :class:`ChatCompletionChunk` and a context manager.

    The connection is closed when the stream is exhausted, fails, or is closed early.
    While iterating it gathers choice 0 (``text``, ``reasoning``, ``tool_calls``,
    ``finish_reason``, ``usage``) so that a caller stopped by an error still has the partial
    answer.
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        timeout: Timeout,
        deadline: Deadline,
        redact: Callable[[str], str] = str,
        watchdog: Watchdog | None = None,
    ) -> None:
        self.response = response
        self.text_parts: list[str] = []
        self.reasoning_parts: list[str] = []
        self._tool_calls = _ToolCalls()
        self.finish_reason: str | None = None
        self.usage: CompletionUsage | None = None
        # The server's own object when it answered with one JSON completion.
        self.json_body: dict[str, Any] | None = None
        # True while chunks already received are still to come out of the iterator: a writer
        # flushes when it is False, once per network read rather than once per delta.
        self.more_ready = False
        self._first: ChatCompletionChunk | None = None
        self._timeout = timeout
        self._deadline = deadline
        self._redact = redact
        self._watchdog = watchdog or Watchdog(response)
        self._iterator = self._chunks()

    @property
    def text(self) -> str:
        """The answer (choice 0) received so far."""
        return "".join(self.text_parts)

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_parts)

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The tool calls of choice 0 so far, their deltas joined: ``{"id", "type",
        "function": {"name", "arguments"}}`` each, in the server's order."""
        return self._tool_calls.calls()

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self

    def __next__(self) -> ChatCompletionChunk:
        return next(self._iterator)

    def __enter__(self) -> Stream:
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
        self._watchdog.disarm()
        self._iterator.close()
        self.response.close()

    def to_completion(self) -> ChatCompletion:
        """The answer assembled as a ``chat.completion`` object (for ``--json``)."""
        first = self._first
        message: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.reasoning_parts:
            message["reasoning_content"] = self.reasoning
        if tool_calls := self.tool_calls:
            message["tool_calls"] = tool_calls
        data: dict[str, Any] = {
            "id": first.id if first else "",
            "object": "chat.completion",
            "created": first.created if first else 0,
            "model": first.model if first else "",
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
        }
        if self.usage is not None:
            data["usage"] = self.usage.to_dict()
        from atdak_cli.client._completion import ChatCompletion  # only --json and non-streamed

        return ChatCompletion.from_dict(data)

    def _chunks(self) -> Generator[ChatCompletionChunk, None, None]:
        try:
            self._arm_first_content()
            yield from self._body_chunks()
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
        finally:
            self._watchdog.disarm()
            self.response.close()

    def _body_chunks(self) -> Iterator[ChatCompletionChunk]:
        kind = _content_kind(self.response.headers.get("content-type", ""))
        if kind == "html":
            raise StreamError(
                "the server sent an HTML page instead of an answer (a proxy or captive portal?)",
                request=self.response.request,
            )
        if kind == "json":
            yield from self._json_body()
            return
        yield from self._sse_body(SSEDecoder(), self.response.iter_bytes())

    def _sse_body(
        self, decoder: SSEDecoder, source: Iterator[bytes]
    ) -> Iterator[ChatCompletionChunk]:
        for raw in source:
            self._check_watchdog()
            if (yield from self._events(decoder.feed(raw))):
                return
        self._check_watchdog()
        if (yield from self._events(decoder.close())):
            return
        if self.finish_reason is None:
            raise IncompleteStreamError(
                "the stream ended before the model finished"
                if self._first is not None
                else "the server ended the stream without sending any of the answer",
                partial=self.text,
                request=self.response.request,
            )

    def _events(self, events: list[ServerSentEvent]) -> Generator[ChatCompletionChunk, None, bool]:
        """The chunks of ``events``; returns True once ``[DONE]`` arrived."""
        last = len(events) - 1
        for i, event in enumerate(events):
            parts = _split_documents(event)
            for j, part in enumerate(parts):
                if part.data == "[DONE]":
                    return True
                chunk = self._accept(part)
                if chunk is not None:
                    # False on the last chunk of the bytes received: the next one needs a read.
                    self.more_ready = i < last or j < len(parts) - 1
                    yield chunk
        return False

    def _json_body(self) -> Iterator[ChatCompletionChunk]:
        """A server that answers a stream request with one JSON object (or mislabels SSE)."""
        body = self.response.read()
        if len(body) > MAX_JSON_BODY:
            raise StreamError("the answer is too large", request=self.response.request)
        stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
        if stripped.startswith((b"data:", b":", b"event:")):
            yield from self._sse_body(SSEDecoder(), iter([body]))
            return
        data = _loads(body, self.response.request, redact=self._redact)
        _raise_in_band_error(data, self.response.request, self._redact)
        if not isinstance(data, dict):
            raise StreamError("the answer is not a JSON object", request=self.response.request)
        self.json_body = data
        from atdak_cli.client._completion import ChatCompletion

        completion = ChatCompletion.from_dict(data)
        yield self._record(_chunk_from_completion(completion, data))

    def _accept(self, event: ServerSentEvent) -> ChatCompletionChunk | None:
        if not event.data or event.data.isspace():
            return None
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
        return self._record(ChatCompletionChunk.from_dict(data))

    def _record(self, chunk: ChatCompletionChunk) -> ChatCompletionChunk:
        if self._first is None:
            self._first = chunk
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            if choice.delta.content or choice.delta.reasoning_content:
                self._content_arrived()
            if choice.delta.content:
                self.text_parts.append(choice.delta.content)
            if choice.delta.reasoning_content:
                self.reasoning_parts.append(choice.delta.reasoning_content)
            if choice.delta.tool_calls:
                self._tool_calls.add(choice.delta.tool_calls)
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason
        return chunk

    def _arm_first_content(self) -> None:
        self._watchdog.arm(self._deadline.cap(self._timeout.first_content), "first_content")

    def _content_arrived(self) -> None:
        if self._watchdog.expired is None and not self.text_parts and not self.reasoning_parts:
            self._watchdog.arm(self._deadline.remaining(), "total")

    def _check_watchdog(self) -> None:
        if self._watchdog.expired is not None:
            raise self._timeout_error()
        if self._deadline.remaining() == 0.0:
            self._watchdog.expired = "total"
            raise self._timeout_error()

    def _timeout_error(self) -> IncompleteStreamError:
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
        return IncompleteStreamError(
            message, partial=self.text, reason="timeout", request=self.response.request
        )

    def _cut_error(self, exc: Exception) -> IncompleteStreamError:
        if self._watchdog.expired is not None:
            return self._timeout_error()
        return IncompleteStreamError(
            f"the connection broke mid-answer ({_describe(exc)})",
            partial=self.text,
            reason="network",
            request=self.response.request,
        )


def _content_kind(content_type: str) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("text/html", "application/xhtml+xml"):
        return "html"
    if media == "application/json" or media.endswith("+json"):
        return "json"
    # text/event-stream, and servers that label SSE text/plain or nothing at all.
    return "sse"


class _ToolCalls:
    """Tool-call deltas joined by their ``index``: the name and id come once, the arguments
    in pieces (OpenAI's streaming shape, followed by vLLM and llama.cpp)."""

    def __init__(self) -> None:
        self._by_index: dict[object, dict[str, Any]] = {}

    def add(self, deltas: tuple[dict[str, Any], ...]) -> None:
        for delta in deltas:
            key = delta.get("index", len(self._by_index))
            if not isinstance(key, (int, str)):
                key = len(self._by_index)
            call = self._by_index.setdefault(
                key, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
            )
            self._merge(call, delta)

    @staticmethod
    def _merge(call: dict[str, Any], delta: dict[str, Any]) -> None:
        for key in ("id", "type"):
            if isinstance(value := delta.get(key), str) and value:
                call[key] = value
        function = delta.get("function")
        if not isinstance(function, dict):
            return
        if isinstance(name := function.get("name"), str) and not call["function"]["name"]:
            call["function"]["name"] = name
        if isinstance(arguments := function.get("arguments"), str):
            call["function"]["arguments"] += arguments
        elif isinstance(arguments, dict):  # Ollama sends the arguments as an object
            call["function"]["arguments"] += json.dumps(arguments)

    def calls(self) -> list[dict[str, Any]]:
        return list(self._by_index.values())


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
                {**call, "index": i} for i, call in enumerate(choice.message.tool_calls)
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
