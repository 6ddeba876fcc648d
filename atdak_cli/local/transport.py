"""An httpx transport that answers the Chat Completions API in-process, from the local model.

``httpx.Client(transport=LocalTransport(), base_url="http://local/v1")`` speaks to the embedded
model exactly as to a server: ``POST /v1/chat/completions`` (JSON, or Server-Sent Events with
``"stream": true``) and ``GET /v1/models``, with the API's JSON shapes. So the client, its SSE
decoder, its error mapping and every layer above are the same for the local model as for the API.

The answers are llama.cpp's own (its server code, run in-process by `atdak_cli.local.model`):
``tools``/``tool_calls``, ``response_format`` with a JSON schema, ``stop``, ``seed``, the
penalties and ``reasoning_content`` for models that think are passed through as llama.cpp
implements them. This module checks what it can before the model is loaded, and frames the
engine's chunks as an event stream.

Every failure becomes an HTTP-shaped response with ``{"error": {"message", "type", "param",
"code"}}``: 400 bad JSON or parameters (``context_length_exceeded`` too); 404 unknown path or
model, or no model file (the message names the file or the install command); 405 wrong method;
500 the model failed to load or run. All but 503 carry ``x-should-retry: false``: they would fail
again. A failure after the stream has begun is sent in-band as ``data: {"error": ...}`` with no
``[DONE]``, as OpenAI-compatible servers do.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from atdak_cli.catalog import LOCAL_MODEL_ID
from atdak_cli.local import model as local_model
from atdak_cli.local.model import Engine, LocalModelError, ModelNotFoundError

_MESSAGE_ROLES = frozenset({"system", "user", "assistant", "developer", "tool"})
# llama.cpp's error type for a prompt longer than the context; OpenAI's code for it.
_CONTEXT_ERROR_TYPE = "exceed_context_size_error"
_CONTEXT_ERROR_CODE = "context_length_exceeded"


class _RequestError(Exception):
    """A request the transport answers with an error status instead of a completion."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param


class LocalTransport(httpx.BaseTransport):
    """Answers Chat Completions requests from a GGUF model run in this process.

    The model is loaded on the first completion and cached for the process
    (`atdak_cli.local.model.load_engine`); `GET /v1/models` does not load it. ``n_threads``
    defaults to every physical core.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        n_ctx: int = local_model.DEFAULT_N_CTX,
        n_threads: int | None = None,
    ) -> None:
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._route(request)
        except _RequestError as exc:
            return _error_response(exc)
        except ModelNotFoundError as exc:
            return _error_response(_RequestError(404, str(exc), code="model_not_found"))
        except LocalModelError as exc:
            return _error_response(_RequestError(500, str(exc), type="local_model_error"))

    def _route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.rstrip("/")
        path = path.removeprefix("/v1")
        if path == "/chat/completions":
            _require_method(request, "POST")
            return self._chat_completions(request)
        if path == "/models":
            _require_method(request, "GET")
            return _json_response(200, {"object": "list", "data": self._models()})
        if path.startswith("/models/"):
            _require_method(request, "GET")
            return self._model(path.removeprefix("/models/"))
        raise _RequestError(404, f"unknown path: {request.url.path}", code="not_found")

    # -- models ---------------------------------------------------------------------------------

    def _model_file(self) -> Path | None:
        if self.model_path is not None:
            return self.model_path if self.model_path.is_file() else None
        return local_model.default_model_path()

    def _model_ids(self) -> tuple[str, ...]:
        path = self._model_file()
        return (LOCAL_MODEL_ID, path.stem) if path is not None else ()

    def _models(self) -> list[dict[str, Any]]:
        path = self._model_file()
        if path is None:
            return []
        created = int(path.stat().st_mtime)
        return [_model_object(model_id, created) for model_id in self._model_ids()]

    def _model(self, model_id: str) -> httpx.Response:
        for entry in self._models():
            if entry["id"] == model_id:
                return _json_response(200, entry)
        raise _model_not_found(model_id)

    # -- chat completions -----------------------------------------------------------------------

    def _chat_completions(self, request: httpx.Request) -> httpx.Response:
        body = _parse_body(request.read())
        if self._model_file() is None:
            local_model.resolve_model_path(self.model_path)  # raises, naming the file or the fix
        if body.get("model") not in self._model_ids():
            raise _model_not_found(str(body.get("model")))
        engine_request, stream = _engine_request(body)
        engine = local_model.load_engine(
            self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads
        )
        answer = _Answer(engine, engine_request)
        try:
            first = answer.next_chunk()
            if not stream:
                return _json_response(200, _completion([json.loads(first), *answer.rest()]))
        except BaseException:
            answer.close()  # also on Ctrl-C: the engine stops at its next token
            raise
        return httpx.Response(
            200,
            headers={
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
            },
            stream=_EventStream(first, answer),
        )


# -- request parsing ------------------------------------------------------------------------------


def _require_method(request: httpx.Request, method: str) -> None:
    if request.method != method:
        raise _RequestError(405, f"method {request.method} not allowed; use {method}")


def _model_not_found(model_id: str) -> _RequestError:
    return _RequestError(
        404,
        f"The model `{model_id}` does not exist; the local provider serves `{LOCAL_MODEL_ID}`",
        code="model_not_found",
        param="model",
    )


def _parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _RequestError(400, f"the request body is not valid JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise _RequestError(400, "the request body must be a JSON object")
    return body


def _parse_messages(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise _RequestError(400, "`messages` must be a non-empty array", param="messages")
    return [_parse_message(item, index) for index, item in enumerate(value)]


def _parse_message(item: object, index: int) -> dict[str, Any]:
    param = f"messages[{index}]"
    if not isinstance(item, dict) or item.get("role") not in _MESSAGE_ROLES:
        raise _RequestError(400, f"`{param}` needs a valid `role`", param=param)
    # OpenAI's newer name for the system role, which chat templates do not know.
    return {**item, "role": "system"} if item["role"] == "developer" else item


def _engine_request(body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The request for llama.cpp: checked here first, where its own checks are lax or its
    messages unclear; everything else (tools, response_format, seed...) passes unchanged.
    The engine always streams, so that an answer can be stopped at any token; a completion
    asked for whole is put together from the chunks (`_completion`). Returns the request
    and whether the caller asked for a stream."""
    request = {**body, "messages": _parse_messages(body.get("messages")), "stream": True}
    if body.get("n", 1) != 1:
        raise _RequestError(400, "the local model answers with n=1 only", param="n")
    for name, low, high in _RANGES:
        _check_number(body, name, low, high)
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if _optional_int(max_tokens, "max_tokens", minimum=1) is not None:
        request["max_tokens"] = max_tokens
    _optional_int(body.get("seed"), "seed", minimum=None)
    _parse_stop(body.get("stop"))
    stream = _parse_bool(body, "stream")
    _parse_include_usage(body)
    # The usage, as a last chunk without choices (OpenAI's shape), even when not asked for:
    # the history keeps the token counts of every answer.
    request["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    return request, stream


_RANGES = (
    ("temperature", 0.0, 2.0),
    ("top_p", 0.0, 1.0),
    ("frequency_penalty", -2.0, 2.0),
    ("presence_penalty", -2.0, 2.0),
)


def _check_number(body: dict[str, Any], name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _RequestError(400, f"`{name}` must be a number from {low} to {high}", param=name)


def _optional_int(value: object, name: str, *, minimum: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _RequestError(400, f"`{name}` must be an integer", param=name)
    if minimum is not None and value < minimum:
        raise _RequestError(400, f"`{name}` must be at least {minimum}", param=name)
    return value


def _parse_stop(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(s, str) for s in value) and len(value) <= 4:
        return tuple(value)
    raise _RequestError(400, "`stop` must be a string or up to 4 strings", param="stop")


def _parse_bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _RequestError(400, f"`{name}` must be a boolean", param=name)
    return value


def _parse_include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise _RequestError(400, "`stream_options` must be an object", param="stream_options")
    return _parse_bool(options, "include_usage")


# -- response shapes ------------------------------------------------------------------------------


def _model_object(model_id: str, created: int) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": "atdak-local"}


def _encode(payload: object) -> bytes:
    text: str = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


def _json_response(status: int, payload: object, **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        content=_encode(payload),
        headers={"content-type": "application/json", **headers},
    )


def _error_payload(exc: _RequestError) -> dict[str, Any]:
    return {
        "error": {"message": exc.message, "type": exc.type, "param": exc.param, "code": exc.code}
    }


def _error_response(exc: _RequestError) -> httpx.Response:
    # A local failure is deterministic, so retrying cannot help; a busy model may free up.
    retry = "true" if exc.status == 503 else "false"
    return _json_response(exc.status, _error_payload(exc), **{"x-should-retry": retry})


def _error_of(payload: bytes) -> dict[str, Any] | None:
    """The engine's ``{"error": {...}}``, or None for an answer (which starts ``{"choices"``:
    llama.cpp writes keys sorted)."""
    if not payload.startswith(b'{"error"'):
        return None
    error = json.loads(payload).get("error")
    return error if isinstance(error, dict) else {"message": str(error)}


def _engine_error(error: dict[str, Any]) -> _RequestError:
    """llama.cpp's error (``code`` is its HTTP status) in the API's shape."""
    status = error.get("code")
    status = status if isinstance(status, int) and 400 <= status <= 599 else 500
    kind = str(error.get("type") or "server_error")
    code = _CONTEXT_ERROR_CODE if kind == _CONTEXT_ERROR_TYPE else None
    return _RequestError(
        status, str(error.get("message") or "local model failed"), type=kind, code=code
    )


# -- the engine's answer --------------------------------------------------------------------------


_END = b""  # queued when the engine returns (none of its payloads is empty)


class _Answer:
    """One request run by the engine in a worker thread. Its chunks (JSON bytes) come out of a
    queue as they are generated, so the reader can stop (or be interrupted) at any moment;
    `close()` stops the engine at its next token."""

    def __init__(self, engine: Engine, request: dict[str, Any]) -> None:
        self._chunks: queue.SimpleQueue[bytes | BaseException] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(engine, _encode(request)), name="atdak-local", daemon=True
        )
        self._thread.start()

    def _run(self, engine: Engine, body: bytes) -> None:
        try:
            engine.chat(body, self._on_chunk)
            self._chunks.put(_END)
        except BaseException as exc:  # handed to the reader, which raises it
            self._chunks.put(exc)

    def _on_chunk(self, payload: bytes) -> bool:
        self._chunks.put(payload)
        return self._stop.is_set()

    def next(self) -> bytes:
        """The next chunk, or `_END` once the engine is done; raises what the engine raised."""
        item = self._chunks.get()
        if isinstance(item, BaseException):
            raise LocalModelError(f"local model failed: {item}") from item
        return item

    def next_chunk(self) -> bytes:
        """The first chunk; an error or the end (none is due) raises `_RequestError`."""
        try:
            payload = self.next()
        except LocalModelError as exc:
            # The engine raises before answering only on what it cannot take from this
            # request (content parts it cannot read, a template failure); llama.cpp's own
            # HTTP server answers those 400 too.
            raise _RequestError(400, str(exc.__cause__ or exc), param="messages") from exc
        if payload == _END:
            raise _RequestError(500, "the local model gave no answer", type="local_model_error")
        error = _error_of(payload)
        if error is not None:
            raise _engine_error(error)
        return payload

    def rest(self) -> Iterator[dict[str, Any]]:
        """The remaining chunks, parsed, until the engine is done."""
        while (payload := self.next()) != _END:
            error = _error_of(payload)
            if error is not None:
                raise _engine_error(error)
            yield json.loads(payload)

    def close(self) -> None:
        self._stop.set()


def _completion(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``chat.completion`` object the chunks of one streamed answer make up."""
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    finish_reason, usage = None, None
    for chunk in chunks:
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or ():
            _add_delta(message, choice.get("delta") or {})
            finish_reason = choice.get("finish_reason") or finish_reason
    if message.get("tool_calls") and not message["content"]:
        message["content"] = None  # OpenAI's shape for an answer that is only tool calls
    first = chunks[0]
    choice = {"index": 0, "message": message, "finish_reason": finish_reason or "stop"}
    keys = ("id", "created", "model", "system_fingerprint")
    return {
        **{key: first[key] for key in keys if key in first},
        "object": "chat.completion",
        "choices": [choice],
        **({"usage": usage} if usage else {}),
    }


def _add_delta(message: dict[str, Any], delta: dict[str, Any]) -> None:
    message["content"] += delta.get("content") or ""
    if delta.get("reasoning_content"):
        message["reasoning_content"] = message.get("reasoning_content", "") + str(
            delta["reasoning_content"]
        )
    for part in delta.get("tool_calls") or ():
        _add_tool_call(message.setdefault("tool_calls", []), part)


def _add_tool_call(calls: list[dict[str, Any]], part: dict[str, Any]) -> None:
    # A tool call streams as parts sharing an index: the first has its id and name, the
    # following ones more of its arguments.
    index = part.get("index", len(calls))
    while len(calls) <= index:
        calls.append({"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
    call, function = calls[index], part.get("function") or {}
    call["id"] = part.get("id") or call["id"]
    call["type"] = part.get("type") or call["type"]
    call["function"]["name"] += function.get("name") or ""
    call["function"]["arguments"] += function.get("arguments") or ""


class _EventStream(httpx.SyncByteStream):
    """The SSE body: the engine's chunks as they come, then ``[DONE]``, or an in-band error."""

    def __init__(self, first: bytes, answer: _Answer) -> None:
        self._first = first
        self._answer = answer

    def __iter__(self) -> Iterator[bytes]:
        payload = self._first
        try:
            while payload != _END:
                error = _error_of(payload)
                if error is not None:
                    # Headers are gone: report in-band and end without [DONE].
                    yield _sse(_error_payload(_engine_error(error)))
                    return
                yield b"data: " + payload + b"\n\n"
                payload = self._answer.next()
            yield b"data: [DONE]\n\n"
        except LocalModelError as exc:
            yield _sse(_error_payload(_RequestError(500, str(exc), type="local_model_error")))

    def close(self) -> None:
        self._answer.close()


def _sse(payload: object) -> bytes:
    return b"data: " + _encode(payload) + b"\n\n"
