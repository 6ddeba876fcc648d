"""A loopback Chat Completions API server for the test suite.

Standard library only.  One thread per connection (``ThreadingMixIn``), HTTP/1.1 keep-alive,
every request recorded.  Replies are scripted per path and written as raw bytes, so a test can
make the server misbehave exactly: wrong status, stall, cut mid-stream, CR/CRLF framing,
1-byte writes, in-band errors, resets (design.md §7).

    with FakeAPIServer() as server:
        server.enqueue(error(429, openai_error("slow down"), headers={"Retry-After": "0"}),
                       stream(["Hel", "lo"]))
        ...                       # point the client at server.base_url
        assert server.requests[0].json()["stream"] is True

With an empty queue the server answers correctly: chat completions echo the last user message
("echo: <text>"), streamed or not as the request asks; ``GET /v1/models`` lists the API page's
four models; any other path is a 404 JSON error.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import io
import json
import re
import select
import socket
import socketserver
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
MODEL_IDS = ("atdak-gpt-4", "atdak-gpt-4-mini", "atdak-claude-3", "atdak-llama-70b")
CREATED = 1701234567  # fixed, so replies are reproducible
UTF8_BOM = b"\xef\xbb\xbf"
STOP_GRACE = 1.0  # seconds __exit__ waits for handler threads
_POLL = 0.02  # seconds between checks while holding a connection open
_MAX_HEAD = 64 * 1024

Headers = dict[str, str]
ToolCall = tuple[str, str]  # a function name and its arguments as JSON text
Framing = Literal["\n", "\r\n", "\r"]
UsageArg = dict[str, Any] | None | Literal[False]


# ---------------------------------------------------------------- recorded requests


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the server received it."""

    method: str
    target: str  # as sent: path plus query
    headers: http.client.HTTPMessage  # case-insensitive: headers["authorization"]
    body: bytes
    connection_id: int  # equal for requests that shared one TCP connection
    index: int  # 0-based arrival order over the server's life

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        """The query string, without the ``?``."""
        return self.target.partition("?")[2]

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class _Reader:
    """Buffered reads from a socket: heads, exact sizes and lines."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()

    def _fill(self) -> bool:
        data = self._sock.recv(65536)
        self._buf += data
        return bool(data)

    def read_head(self) -> bytes | None:
        """Bytes up to the blank line ending a request head; None on a clean EOF."""
        while (end := self._buf.find(b"\r\n\r\n")) < 0:
            if len(self._buf) > _MAX_HEAD:
                raise ValueError("request head too large")
            if not self._fill():
                if self._buf:
                    raise ConnectionError("EOF inside a request head")
                return None
        return self._take(end + 4)

    def read_exact(self, size: int) -> bytes:
        """Exactly ``size`` bytes, or ConnectionError."""
        while len(self._buf) < size:
            if not self._fill():
                raise ConnectionError("EOF inside a request body")
        return self._take(size)

    def read_line(self) -> bytes:
        """One CRLF-terminated line, without the CRLF."""
        while (end := self._buf.find(b"\r\n")) < 0:
            if not self._fill():
                raise ConnectionError("EOF inside a chunked body")
        return self._take(end + 2)[:-2]

    def _take(self, size: int) -> bytes:
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data


def _read_chunked(reader: _Reader) -> bytes:
    body = bytearray()
    while size := int(reader.read_line().split(b";")[0], 16):
        body += reader.read_exact(size)
        reader.read_exact(2)
    while reader.read_line():  # trailers
        pass
    return bytes(body)


@dataclass
class _Head:
    method: str
    target: str
    version: str
    headers: http.client.HTTPMessage

    @property
    def wants_close(self) -> bool:
        connection = self.headers.get("Connection", "").lower()
        return self.version == "HTTP/1.0" or "close" in connection


def _parse_head(raw: bytes) -> _Head:
    line, _, rest = raw.partition(b"\r\n")
    method, target, version = line.decode("latin-1").split(" ", 2)
    headers = http.client.parse_headers(io.BytesIO(rest))
    return _Head(method, target, version, headers)


def _read_body(reader: _Reader, head: _Head) -> bytes:
    if "chunked" in head.headers.get("Transfer-Encoding", "").lower():
        return _read_chunked(reader)
    return reader.read_exact(int(head.headers.get("Content-Length", "0")))


# ---------------------------------------------------------------- one exchange


class Exchange:
    """What a reply writes through: one request, its socket, and the server's stop signal."""

    def __init__(
        self, request: RecordedRequest, sock: socket.socket, server: FakeAPIServer
    ) -> None:
        self.request = request
        self.server = server
        self._sock = sock
        self.closed = False  # the reply closed or reset the connection

    def wait(self, seconds: float) -> bool:
        """Sleep, interruptibly; True if the server is stopping (the reply should give up)."""
        return self.server._stopping.wait(seconds) if seconds > 0 else self.stopping

    @property
    def stopping(self) -> bool:
        """True once the server has begun shutting down."""
        return self.server._stopping.is_set()

    def sendall(self, data: bytes) -> None:
        """Write raw bytes."""
        self._sock.sendall(data)

    def send_head(
        self, status: int, headers: Sequence[tuple[str, str]], *, reason: str | None = None
    ) -> None:
        """Write a status line and headers (plus an ``x-request-id``)."""
        self.sendall(self._head_bytes(status, headers, reason))

    def _head_bytes(
        self, status: int, headers: Sequence[tuple[str, str]], reason: str | None = None
    ) -> bytes:
        lines = [f"HTTP/1.1 {status} {reason or _reason(status)}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if not any(name.lower() == "x-request-id" for name, _ in headers):
            lines.append(f"x-request-id: req_fake_{self.request.index}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send_full(
        self, status: int, body: bytes, content_type: str | None, extra: Headers | None = None
    ) -> None:
        """A complete response delimited by Content-Length (the connection stays usable)."""
        base = [("Content-Length", str(len(body)))]
        if content_type is not None:
            base.insert(0, ("Content-Type", content_type))
        self.sendall(self._head_bytes(status, _merge_headers(base, extra)) + body)

    def start_chunked(self, status: int, content_type: str, extra: Headers | None) -> None:
        """Write the head of a ``Transfer-Encoding: chunked`` response."""
        base = [
            ("Content-Type", content_type),
            ("Cache-Control", "no-cache"),
            ("Transfer-Encoding", "chunked"),
        ]
        self.send_head(status, _merge_headers(base, extra))

    def write_chunk(self, data: bytes) -> None:
        """One HTTP chunk in one write (empty data is skipped: it would end the body)."""
        if data:
            self.sendall(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunks(self) -> None:
        """The terminating zero-length chunk."""
        self.sendall(b"0\r\n\r\n")

    def close(self) -> None:
        """Close the connection (FIN) without finishing the response."""
        self.closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def reset(self) -> None:
        """Close with SO_LINGER 0, so the peer gets a TCP RST."""
        self.closed = True
        with contextlib.suppress(OSError):
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._sock.close()

    def client_gone(self) -> bool:
        """True if the client has closed its side (readable with EOF, or an error)."""
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
            return bool(readable) and not self._sock.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):
            return True

    def hold_open(self) -> None:
        """Keep the connection open, sending nothing, until the client leaves or we stop."""
        while not self.client_gone() and not self.wait(_POLL):
            pass
        self.close()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _merge_headers(base: list[tuple[str, str]], extra: Headers | None) -> list[tuple[str, str]]:
    """``base`` with ``extra`` added; an extra header replaces a base one of the same name."""
    extra = extra or {}
    lowered = {name.lower() for name in extra}
    return [(n, v) for n, v in base if n.lower() not in lowered] + list(extra.items())


# ---------------------------------------------------------------- replies


class Reply:
    """A scripted response: a function that writes to an :class:`Exchange`."""

    def __init__(self, send: Callable[[Exchange], None], name: str) -> None:
        self._send = send
        self.name = name

    def __call__(self, exchange: Exchange) -> None:
        self._send(exchange)

    def __repr__(self) -> str:
        return f"<Reply {self.name}>"


#: What ``enqueue``/``set_default`` accept: a reply, or a function choosing one per request.
Responder = Reply | Callable[[RecordedRequest], Reply]


def respond_with(choose: Callable[[RecordedRequest], Reply]) -> Reply:
    """A reply chosen at request time from the request (e.g. to answer by model name)."""
    return Reply(lambda ex: choose(ex.request)(ex), "respond_with")


def _dumps(obj: Any) -> str:
    # ensure_ascii=False: multi-byte characters reach the wire as UTF-8, so splits are real
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def json_reply(obj: Any, status: int = 200, *, headers: Headers | None = None) -> Reply:
    """Any JSON document with a Content-Length (connection kept alive)."""
    body = _dumps(obj).encode()
    return Reply(lambda ex: ex.send_full(status, body, "application/json", headers), "json")


# -- request helpers shared by the default answers


def _message_text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _request_json(request: RecordedRequest) -> dict[str, Any]:
    try:
        data = request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _messages(request: RecordedRequest) -> list[Any]:
    messages = _request_json(request).get("messages")
    return messages if isinstance(messages, list) else []


def _last_user_text(request: RecordedRequest) -> str:
    users = [m for m in _messages(request) if isinstance(m, dict) and m.get("role") == "user"]
    return _message_text(users[-1]) if users else ""


def count_words(text: str) -> int:
    """The fake tokenizer: whitespace-separated words."""
    return len(text.split())


def word_usage(request: RecordedRequest, answer: str) -> dict[str, int]:
    """Usage counted in words: prompt from every message, completion from the answer."""
    prompt = sum(count_words(_message_text(m)) for m in _messages(request))
    completion = count_words(answer)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def split_words(text: str) -> list[str]:
    """Deltas that concatenate back to ``text`` exactly: each word with its trailing spaces."""
    return re.findall(r"\S+\s*|\s+", text) or [text]


def _wants_usage(request: RecordedRequest) -> bool:
    options = _request_json(request).get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


# -- chat.completion


def json_completion(
    content: str | None,
    *,
    finish_reason: str | None = "stop",
    model: str = "atdak-gpt-4",
    usage: UsageArg = None,
    extra: dict[str, Any] | None = None,
    reasoning: str | None = None,
    reasoning_field: str = "reasoning_content",
    tool_calls: Sequence[ToolCall] = (),
    status: int = 200,
    headers: Headers | None = None,
) -> Reply:
    """A full ``chat.completion`` object, shaped like the API page.

    ``usage``: None counts words from the request and ``content``; a dict is sent as is;
    False leaves the field out.  ``extra`` adds (or replaces) top-level fields.
    ``reasoning`` is sent as ``message.reasoning_content`` (or ``message.reasoning``, as vLLM
    and OpenRouter do, with ``reasoning_field="reasoning"``).  ``tool_calls`` (name and JSON
    arguments each) become ``message.tool_calls``.
    """

    def send(ex: Exchange) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if reasoning is not None:
            message[reasoning_field] = reasoning
        if tool_calls:
            message["tool_calls"] = [
                {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
                for i, (n, a) in enumerate(tool_calls)
            ]
        obj: dict[str, Any] = {
            "id": f"chatcmpl-fake{ex.request.index}",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        }
        if usage is not False:
            obj["usage"] = usage if usage is not None else word_usage(ex.request, content or "")
        obj.update(extra or {})
        ex.send_full(status, _dumps(obj).encode(), "application/json", headers)

    return Reply(send, "json_completion")


# -- chat.completion.chunk streams


@dataclass
class _Pause:
    seconds: float


Event = str | _Pause


@dataclass
class _StreamSpec:
    deltas: list[str]
    finish_reason: str | None = "stop"
    done: bool = True
    usage: UsageArg = None
    role_first: bool = True
    framing: str = "\n"
    write_size: int | None = None
    cut_after_events: int | None = None
    reasoning: list[str] = field(default_factory=list)
    reasoning_field: str = "reasoning_content"
    tool_calls: list[ToolCall] = field(default_factory=list)
    content_type: str = "text/event-stream"
    bom: bool = False
    extra_raw_events: list[str] = field(default_factory=list)
    tail_raw_events: list[str] = field(default_factory=list)
    after_done: list[str] = field(default_factory=list)
    choice_index: int = 0
    interleave_second_choice: bool = False
    chunk_extra: dict[str, Any] = field(default_factory=dict)
    model: str = "atdak-gpt-4"
    status: int = 200
    headers: Headers | None = None
    delay: float = 0.0
    pause_after_content: float | None = None


class _ChunkMaker:
    def __init__(self, spec: _StreamSpec, request: RecordedRequest) -> None:
        self.spec = spec
        self.id = f"chatcmpl-fake{request.index}"

    def base(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": self.spec.model,
        }

    def event(self, delta: dict[str, Any], *, index: int, finish: str | None = None) -> str:
        choice = {"index": index, "delta": delta, "finish_reason": finish}
        return "data: " + _dumps({**self.base(), "choices": [choice], **self.spec.chunk_extra})

    def events(self, delta: dict[str, Any], *, finish: str | None = None) -> list[str]:
        """The event for the main choice, then (if interleaving) for the second choice."""
        first = self.spec.choice_index
        out = [self.event(delta, index=first, finish=finish)]
        if self.spec.interleave_second_choice:
            second = {k: f"alt:{v}" if k == "content" and v else v for k, v in delta.items()}
            out.append(self.event(second, index=first + 1, finish=finish))
        return out

    def usage_event(self, usage: dict[str, Any]) -> str:
        return "data: " + _dumps({**self.base(), "choices": [], "usage": usage})


def _content_events(spec: _StreamSpec, maker: _ChunkMaker) -> list[Event]:
    events: list[Event] = list(spec.extra_raw_events)
    if spec.role_first:
        events += maker.events({"role": "assistant", "content": ""})
    for text in spec.reasoning:
        events += maker.events({spec.reasoning_field: text})
    for text in spec.deltas:
        events += maker.events({"content": text})
    for i, (name, arguments) in enumerate(spec.tool_calls):
        events += _tool_call_events(maker, i, name, arguments)
    if spec.pause_after_content is not None:
        events.append(_Pause(spec.pause_after_content))
    return events + list(spec.tail_raw_events)


def _tool_call_events(maker: _ChunkMaker, index: int, name: str, arguments: str) -> list[Event]:
    """OpenAI's shape: the id and name first, then the arguments in two pieces."""
    function = {"name": name, "arguments": ""}
    head = {"index": index, "id": f"call_{index}", "type": "function", "function": function}
    half = len(arguments) // 2
    pieces = [arguments[:half], arguments[half:]]
    tails = [{"index": index, "function": {"arguments": p}} for p in pieces]
    return [e for call in (head, *tails) for e in maker.events({"tool_calls": [call]})]


def _stream_usage(spec: _StreamSpec, request: RecordedRequest) -> dict[str, Any] | None:
    if spec.usage is False:
        return None
    if spec.usage is None:
        return word_usage(request, "".join(spec.deltas)) if _wants_usage(request) else None
    return spec.usage


def _stream_events(spec: _StreamSpec, request: RecordedRequest) -> list[Event]:
    maker = _ChunkMaker(spec, request)
    events = _content_events(spec, maker)
    if spec.finish_reason is not None:
        events += maker.events({}, finish=spec.finish_reason)
    if (usage := _stream_usage(spec, request)) is not None:
        events.append(maker.usage_event(usage))
    if spec.done:
        events.append("data: [DONE]")
    return events + list(spec.after_done)


def _frame(event: str, framing: str) -> bytes:
    """An event's lines joined by ``framing`` and ended by a blank line."""
    lines = event.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return (framing.join(lines) + framing * 2).encode()


def _pieces(blob: bytes, size: int | None) -> Iterator[bytes]:
    if size is None:
        yield blob
        return
    for start in range(0, len(blob), size):
        yield blob[start : start + size]


def _send_stream(ex: Exchange, spec: _StreamSpec) -> None:
    ex.start_chunked(spec.status, spec.content_type, spec.headers)
    prefix = UTF8_BOM if spec.bom else b""
    sent = 0
    for event in _stream_events(spec, ex.request):
        if _should_stop(ex, spec, event, sent):
            ex.close()
            return
        if isinstance(event, _Pause):
            continue
        for piece in _pieces(prefix + _frame(event, spec.framing), spec.write_size):
            ex.write_chunk(piece)
        prefix, sent = b"", sent + 1
    if spec.cut_after_events is not None and sent <= spec.cut_after_events:
        ex.close()
        return
    ex.write_chunk(prefix)  # a BOM alone, if there were no events
    ex.end_chunks()


def _should_stop(ex: Exchange, spec: _StreamSpec, event: Event, sent: int) -> bool:
    """Pause or delay before ``event``; True if the stream must be cut here."""
    if isinstance(event, _Pause):
        return ex.wait(event.seconds)
    if sent == spec.cut_after_events:
        return True
    return bool(sent) and ex.wait(spec.delay)


def stream(
    deltas: Sequence[str],
    *,
    finish_reason: str | None = "stop",
    done: bool = True,
    usage: UsageArg = None,
    role_first: bool = True,
    framing: Framing = "\n",
    write_size: int | None = None,
    cut_after_events: int | None = None,
    reasoning: Sequence[str] | None = None,
    reasoning_field: str = "reasoning_content",
    tool_calls: Sequence[ToolCall] = (),
    content_type: str = "text/event-stream",
    bom: bool = False,
    extra_raw_events: Sequence[str] = (),
    after_done: Sequence[str] = (),
    choice_index: int = 0,
    interleave_second_choice: bool = False,
    chunk_extra: dict[str, Any] | None = None,
    model: str = "atdak-gpt-4",
    status: int = 200,
    headers: Headers | None = None,
    delay: float = 0.0,
) -> Reply:
    """A ``chat.completion.chunk`` event stream over ``Transfer-Encoding: chunked``.

    Event order: ``extra_raw_events`` (raw text, e.g. ``": keep-alive"``, ``"event: ping\\nid: 3"``,
    ``"data: not json"``), a role chunk (``role_first``), one chunk per ``reasoning`` item
    (``delta.reasoning_content``, or the field ``reasoning_field`` names: vLLM, Ollama and
    OpenRouter send ``delta.reasoning``), one per content delta, three per ``tool_calls`` item
    (name and JSON arguments: OpenAI's id-and-name delta, then the arguments in two pieces),
    the finish chunk (empty delta; none if ``finish_reason`` is None), a usage chunk with
    empty ``choices``, ``data: [DONE]`` (``done``),
    then ``after_done``.

    ``usage``: None sends word-count usage only if the request asked for
    ``stream_options.include_usage``; a dict is always sent; False never.
    ``framing`` ends each line; ``"\\n"`` inside raw events is replaced by it.
    ``write_size``: None writes (and chunks) one event at a time; N writes N bytes at a time,
    splitting multi-byte UTF-8 characters.  ``cut_after_events=N`` closes the connection after N
    events (a BOM is not an event) without the terminating zero chunk.
    ``interleave_second_choice`` follows each chunk with one for ``choice_index + 1`` whose
    content deltas are prefixed ``"alt:"``.  ``chunk_extra`` adds unknown top-level fields to
    every chunk.  ``delay`` waits between events (interruptible by server shutdown).
    """
    spec = _StreamSpec(
        deltas=list(deltas),
        finish_reason=finish_reason,
        done=done,
        usage=usage,
        role_first=role_first,
        framing=framing,
        write_size=write_size,
        cut_after_events=cut_after_events,
        reasoning=list(reasoning or ()),
        reasoning_field=reasoning_field,
        tool_calls=list(tool_calls),
        content_type=content_type,
        bom=bom,
        extra_raw_events=list(extra_raw_events),
        after_done=list(after_done),
        choice_index=choice_index,
        interleave_second_choice=interleave_second_choice,
        chunk_extra=dict(chunk_extra or {}),
        model=model,
        status=status,
        headers=headers,
        delay=delay,
    )
    return _stream_reply(spec, "stream")


def _stream_reply(spec: _StreamSpec, name: str) -> Reply:
    return Reply(lambda ex: _send_stream(ex, spec), name)


def stream_error_event(
    deltas_before: Sequence[str],
    error_obj: dict[str, Any],
    *,
    wrap: bool = True,
    field_name: str = "data",
    event: str | None = None,
    done: bool = False,
    framing: Framing = "\n",
) -> Reply:
    """Content deltas, then an in-band error event, then the end of the body.

    OpenAI / recent vLLM / llama.cpp: ``data: {"error": {...}}`` (``wrap=True`` wraps
    ``error_obj``).  Older vLLM: ``wrap=False`` with ``{"object": "error", "message": ...}``.
    Older llama.cpp wrote ``error: {...}`` (``field_name="error"``, a field WHATWG parsers
    ignore).  ``event="error"`` adds an ``event: error`` line before the data line.
    No finish chunk; ``[DONE]`` only if ``done``.
    """
    payload = _dumps({"error": error_obj} if wrap else error_obj)
    text = f"{field_name}: {payload}"
    if event is not None:
        text = f"event: {event}\n{text}"
    spec = _StreamSpec(
        deltas=list(deltas_before),
        finish_reason=None,
        done=done,
        usage=False,
        tail_raw_events=[text],
        framing=framing,
    )
    return _stream_reply(spec, "stream_error_event")


# -- errors and other non-answers


def openai_error(
    message: str, type: str = "invalid_request_error", code: str | int | None = None
) -> dict[str, Any]:
    """An OpenAI error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


def error(
    status: int,
    body: dict[str, Any] | list[Any] | str | bytes | None = None,
    *,
    headers: Headers | None = None,
    content_type: str | None = None,
) -> Reply:
    """An error response with a Content-Length (connection kept alive).

    ``body``: a dict/list is sent as JSON (OpenAI ``{"error": ...}``, FastAPI ``{"detail": ...}``,
    vLLM ``{"object": "error", "message": ...}``); a str is sent as UTF-8 ``text/plain``; bytes
    as ``application/octet-stream`` (pass ``content_type="text/html"`` for a page); None sends
    an empty body with no Content-Type.  Any size works (``"x" * 5_000_000``).
    """
    data, default_type = _encode_body(body)
    ctype = content_type or default_type
    return Reply(lambda ex: ex.send_full(status, data, ctype, headers), f"error({status})")


def _encode_body(body: dict[str, Any] | list[Any] | str | bytes | None) -> tuple[bytes, str | None]:
    if body is None:
        return b"", None
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    return _dumps(body).encode(), "application/json"


CAPTIVE_PORTAL_HTML = """<!DOCTYPE html>
<html><head><title>Welcome to Hotel WiFi</title></head>
<body><h1>Please sign in</h1>
<form action="/login" method="post"><input name="room"><button>Connect</button></form>
</body></html>
"""


def html_page(status: int = 200, *, headers: Headers | None = None) -> Reply:
    """A captive-portal HTML page (``text/html``) instead of an API answer."""
    body = CAPTIVE_PORTAL_HTML.encode()
    ctype = "text/html; charset=utf-8"
    return Reply(lambda ex: ex.send_full(status, body, ctype, headers), "html_page")


def redirect(location: str, status: int = 302, *, headers: Headers | None = None) -> Reply:
    """A redirect with an empty body."""
    extra = {"Location": location, **(headers or {})}
    return Reply(lambda ex: ex.send_full(status, b"", None, extra), f"redirect({status})")


def stall(
    seconds: float,
    *,
    after_headers: bool = False,
    after_events: Sequence[str] | None = None,
    then: Reply | None = None,
) -> Reply:
    """Wait ``seconds`` (cut short when the server stops, then the connection is closed).

    Default: before anything is sent, then ``then`` (or the default answer for the request).
    ``after_headers``: after a 200 event-stream head, then finish the stream with no content.
    ``after_events``: after a role chunk and these content deltas, then the finish chunk and
    ``[DONE]``.  (``then`` applies only to the first form.)
    """
    if after_headers or after_events is not None:
        spec = _StreamSpec(
            deltas=list(after_events or ()),
            role_first=after_events is not None,
            pause_after_content=seconds,
        )
        return _stream_reply(spec, "stall(mid-stream)")

    def send(ex: Exchange) -> None:
        if ex.wait(seconds):
            ex.close()
        else:
            (then or ex.server._default_reply(ex.request))(ex)

    return Reply(send, "stall")


def keepalive_forever(
    interval: float = 0.05,
    *,
    comment: str = ": keep-alive",
    deltas_before: Sequence[str] = (),
    headers: Headers | None = None,
) -> Reply:
    """An event stream that sends ``deltas_before`` and then only SSE comments, every
    ``interval`` seconds, until the client disconnects or the server stops."""
    spec = _StreamSpec(deltas=list(deltas_before))
    keepalive = _frame(comment, "\n")

    def send(ex: Exchange) -> None:
        ex.start_chunked(200, "text/event-stream", headers)
        maker = _ChunkMaker(spec, ex.request)
        for event in _content_events(spec, maker):
            ex.write_chunk(_frame(str(event), "\n"))
        _repeat_until_gone(ex, keepalive, interval)

    return Reply(send, "keepalive_forever")


def trickle_forever(
    byte: bytes = b":", interval: float = 0.05, *, headers: Headers | None = None
) -> Reply:
    """An event stream that sends ``byte`` (one chunk each) every ``interval`` seconds, never
    completing a line, until the client disconnects or the server stops."""

    def send(ex: Exchange) -> None:
        ex.start_chunked(200, "text/event-stream", headers)
        _repeat_until_gone(ex, byte, interval)

    return Reply(send, "trickle_forever")


def _repeat_until_gone(ex: Exchange, data: bytes, interval: float) -> None:
    while not ex.client_gone():
        ex.write_chunk(data)
        if ex.wait(interval):
            break
    ex.close()


def raw(data: bytes, *, close: bool = True) -> Reply:
    """Arbitrary bytes (not HTTP, a truncated body, broken gzip...), then close the connection
    (``close=False``: hold it open, silent, until the client leaves or the server stops)."""

    def send(ex: Exchange) -> None:
        ex.sendall(data)
        if close:
            ex.close()
        else:
            ex.hold_open()

    return Reply(send, "raw")


def http_response_bytes(status: int, headers: Headers, body: bytes) -> bytes:
    """Bytes of a response, for ``raw``: exactly these headers, nothing added."""
    head = [f"HTTP/1.1 {status} {_reason(status)}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def broken_gzip() -> Reply:
    """A JSON response claiming ``Content-Encoding: gzip`` whose body is not valid gzip."""
    body = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03this is not deflate data"
    headers = {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "Content-Length": str(len(body)),
    }
    return raw(http_response_bytes(200, headers, body))


def truncated_json(content: str = "cut short") -> Reply:
    """A JSON completion whose Content-Length promises more bytes than are sent."""
    body = _dumps({"object": "chat.completion", "choices": [{"message": {"content": content}}]})
    data = body.encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(data) + 100)}
    return raw(http_response_bytes(200, headers, data))


def close_immediately() -> Reply:
    """Close the connection without sending a byte."""
    return Reply(lambda ex: ex.close(), "close_immediately")


def reset() -> Reply:
    """Reset the connection (TCP RST) without sending a byte."""
    return Reply(lambda ex: ex.reset(), "reset")


# -- the default answers


def echo() -> Reply:
    """The default chat answer: ``"echo: " + last user message``, streamed if asked."""

    return Reply(lambda ex: _echo_reply(_request_json(ex.request), ex.request)(ex), "echo")


def _echo_reply(data: dict[str, Any], request: RecordedRequest) -> Reply:
    if not data:
        return error(400, openai_error("request body is not a JSON object"))
    answer = "echo: " + _last_user_text(request)
    model = data.get("model")
    model = model if isinstance(model, str) else "atdak-gpt-4"
    if data.get("stream") is True:
        return stream(split_words(answer), model=model)
    return json_completion(answer, model=model)


def models_list(ids: Sequence[str] = MODEL_IDS) -> Reply:
    """An OpenAI-style model list: ``{"object": "list", "data": [{"id", ...}]}``."""
    data = [{"id": i, "object": "model", "created": CREATED, "owned_by": "atdak"} for i in ids]
    return json_reply({"object": "list", "data": data})


def not_found() -> Reply:
    """A 404 JSON error naming the path."""

    def send(ex: Exchange) -> None:
        body = openai_error(f"Unknown path: {ex.request.path}", code="not_found")
        error(404, body)(ex)

    return Reply(send, "not_found")


def _builtin_default(request: RecordedRequest) -> Reply:
    routes = {("POST", CHAT_PATH): echo, ("GET", MODELS_PATH): models_list}
    if make := routes.get((request.method, request.path)):
        return make()
    if request.path in (CHAT_PATH, MODELS_PATH):
        return error(405, openai_error(f"Method {request.method} not allowed"))
    return not_found()


# ---------------------------------------------------------------- the server


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    block_on_close = False  # FakeAPIServer joins its own threads, with a deadline
    allow_reuse_address = True

    def __init__(self, owner: FakeAPIServer) -> None:
        self.owner = owner
        self.handler_threads: set[threading.Thread] = set()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._run, args=(request, client_address), daemon=True, name="fake-api-conn"
        )
        with self.owner._lock:
            self.handler_threads.add(thread)
        thread.start()

    def _run(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self.owner._lock:
                self.handler_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silent: clients that hang up mid-reply are part of the tests."""


class _Handler(socketserver.BaseRequestHandler):
    server: _TCPServer
    request: socket.socket

    def handle(self) -> None:
        owner = self.server.owner
        conn_id = owner._open_connection(self.request)
        try:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._serve(owner, conn_id)
        except (OSError, ValueError):
            pass  # the client went away, or sent garbage: nothing to report
        except Exception as exc:  # a bug in a reply: keep it for FakeAPIServer.errors
            owner._record_error(exc)
        finally:
            owner._close_connection(self.request)

    def _serve(self, owner: FakeAPIServer, conn_id: int) -> None:
        reader = _Reader(self.request)
        while not owner._stopping.is_set():
            raw_head = reader.read_head()
            if raw_head is None:
                return
            head = _parse_head(raw_head)
            body = _read_body(reader, head)
            request = owner._record(head.method, head.target, head.headers, body, conn_id)
            exchange = Exchange(request, self.request, owner)
            if exchange.wait(owner.latency):
                return
            owner._next_reply(request)(exchange)
            if exchange.closed or head.wants_close:
                return


class FakeAPIServer:
    """The loopback API server: a context manager serving on 127.0.0.1 in daemon threads.

    ``enqueue``/``enqueue_for`` script replies (FIFO per path); with an empty queue the default
    answer for the path is used (``set_default`` changes it).  ``requests`` lists what arrived.
    Leaving the ``with`` block stops everything within about a second, stalls included.
    """

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency  # seconds added before every reply
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._queues: dict[str, collections.deque[Responder]] = collections.defaultdict(
            collections.deque
        )
        self._defaults: dict[str, Responder] = {}
        self._requests: list[RecordedRequest] = []
        self._errors: list[BaseException] = []
        self._connections: set[socket.socket] = set()
        self._connection_count = 0
        self._server: _TCPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle

    def __enter__(self) -> FakeAPIServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Bind a free port and serve in a daemon thread."""
        self._server = _TCPServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, wake every stalled reply, close every socket, join the threads."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._shutdown_connections()
        self._join_threads()
        self._server = None

    def _shutdown_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for sock in connections:  # unblocks recv() on idle keep-alive connections
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _join_threads(self) -> None:
        assert self._server is not None and self._thread is not None
        self._thread.join(STOP_GRACE)
        with self._lock:
            threads = list(self._server.handler_threads)
        for thread in threads:
            thread.join(STOP_GRACE)

    # -- addresses

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL: ``url + "/v1"``."""
        return self.url + "/v1"

    # -- scripting

    def enqueue(self, *replies: Responder) -> None:
        """Queue replies for ``POST /v1/chat/completions``, consumed first in, first out."""
        self.enqueue_for(CHAT_PATH, *replies)

    def enqueue_for(self, path: str, *replies: Responder) -> None:
        """Queue replies for requests to ``path`` (without query string)."""
        with self._lock:
            self._queues[path].extend(replies)

    def set_default(self, reply: Responder | None, *, path: str = CHAT_PATH) -> None:
        """The reply used for ``path`` when its queue is empty (None restores the built-in)."""
        with self._lock:
            if reply is None:
                self._defaults.pop(path, None)
            else:
                self._defaults[path] = reply

    def pending(self, path: str = CHAT_PATH) -> int:
        """How many queued replies for ``path`` are not yet used."""
        with self._lock:
            return len(self._queues[path])

    def reset(self) -> None:
        """Forget recorded requests, errors, queues and defaults (the latency too)."""
        with self._lock:
            self._requests.clear()
            self._errors.clear()
            self._queues.clear()
            self._defaults.clear()
            self.latency = 0.0

    # -- observations

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions raised by replies (bugs in a test's script, not disconnects)."""
        with self._lock:
            return list(self._errors)

    @property
    def connection_count(self) -> int:
        """How many TCP connections were accepted."""
        with self._lock:
            return self._connection_count

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until ``count`` requests have arrived (TimeoutError otherwise)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(f"{len(self._requests)} of {count} requests arrived")
            return list(self._requests)

    # -- called by handler threads

    def _open_connection(self, sock: socket.socket) -> int:
        with self._lock:
            self._connections.add(sock)
            self._connection_count += 1
            return self._connection_count

    def _close_connection(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.discard(sock)

    def _record(
        self,
        method: str,
        target: str,
        headers: http.client.HTTPMessage,
        body: bytes,
        connection_id: int,
    ) -> RecordedRequest:
        with self._arrived:
            index = len(self._requests)
            request = RecordedRequest(method, target, headers, body, connection_id, index)
            self._requests.append(request)
            self._arrived.notify_all()
            return request

    def _record_error(self, exc: BaseException) -> None:
        with self._lock:
            self._errors.append(exc)

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            queue = self._queues.get(request.path)
            responder = queue.popleft() if queue else None
        return _resolve(responder, request) if responder else self._default_reply(request)

    def _default_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            responder = self._defaults.get(request.path)
        if responder is None:
            return _builtin_default(request)
        return _resolve(responder, request)


def _resolve(responder: Responder, request: RecordedRequest) -> Reply:
    return responder if isinstance(responder, Reply) else responder(request)


@contextlib.contextmanager
def serve_api(*, latency: float = 0.0) -> Iterator[FakeAPIServer]:
    """A running :class:`FakeAPIServer`, stopped on exit (wrap it in a pytest fixture)."""
    with FakeAPIServer(latency=latency) as server:
        yield server
