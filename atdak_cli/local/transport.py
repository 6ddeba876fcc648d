"""An httpx transport that answers the Chat Completions API in-process, from the local model.

``httpx.Client(transport=LocalTransport(), base_url="http://local/v1")`` speaks to the embedded
model exactly as to a server: ``POST /v1/chat/completions`` (JSON, or Server-Sent Events with
``"stream": true``) and ``GET /v1/models``, with the API's JSON shapes. So the client, its SSE
decoder, its error mapping and every layer above are the same for the local model as for the API.

Every failure becomes an HTTP-shaped response with ``{"error": {"message", "type", "param",
"code"}}``: 400 bad JSON or parameters (``context_length_exceeded`` too, and a chat template
that refuses the messages); 404 unknown path or model, or no model file (the message names the
file or the install command); 405 wrong method; 500 the model failed to load or run; 503 the
model is busy. All but 503 carry ``x-should-retry: false``: they would fail again. A failure
after the stream has begun is sent in-band as ``data: {"error": ...}`` with no ``[DONE]``, as
OpenAI-compatible servers do.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from atdak_cli.catalog import LOCAL_MODEL_ID
from atdak_cli.local import model as local_model
from atdak_cli.local.model import (
    Completion,
    ContextLengthError,
    LoadedModel,
    LocalModelError,
    ModelNotFoundError,
    PromptError,
    SamplingParams,
)

_MESSAGE_ROLES = frozenset({"system", "user", "assistant", "developer", "tool"})


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
    (`atdak_cli.local.model.load_model`); `GET /v1/models` does not load it.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        n_ctx: int = local_model.DEFAULT_N_CTX,
        n_threads: int | None = None,
        busy_timeout: float = 30.0,
    ) -> None:
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.busy_timeout = busy_timeout

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._route(request)
        except _RequestError as exc:
            return _error_response(exc)
        except ContextLengthError as exc:
            return _error_response(_RequestError(400, str(exc), code="context_length_exceeded"))
        except PromptError as exc:
            return _error_response(_RequestError(400, str(exc), param="messages"))
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
        model_name = body.get("model")
        if self._model_file() is None:
            local_model.resolve_model_path(self.model_path)  # raises, naming the file or the fix
        if model_name not in self._model_ids():
            raise _model_not_found(str(model_name))
        messages = _parse_messages(body.get("messages"))
        params = _parse_sampling(body)
        stream = _parse_bool(body, "stream")
        include_usage = _parse_include_usage(body) if stream else False
        loaded = local_model.load_model(self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads)
        release = self._acquire(loaded)
        streaming = False
        try:
            completion = Completion(loaded, messages, params)
            if not stream:
                return _json_response(200, _completion_object(completion, completion.text()))
            streaming = True  # from here the stream owns the lock, and releases it on close
            return _stream_response(completion, release, include_usage=include_usage)
        finally:
            if not streaming:
                release()

    def _acquire(self, loaded: LoadedModel) -> Callable[[], None]:
        if not loaded.lock.acquire(timeout=self.busy_timeout):
            raise _RequestError(
                503, "the local model is busy with another request", type="server_error"
            )
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                loaded.lock.release()

        return release


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
    role = "system" if item["role"] == "developer" else item["role"]
    return {"role": role, "content": _message_text(item.get("content"), param)}


def _message_text(content: object, param: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    # The array form: [{"type": "text", "text": "..."}]; a text-only model takes text parts only.
    if isinstance(content, list) and all(
        isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        for part in content
    ):
        return "".join(part["text"] for part in content)
    raise _RequestError(400, f"`{param}.content` must be a string or text parts", param=param)


def _parse_sampling(body: dict[str, Any]) -> SamplingParams:
    if body.get("n", 1) != 1:
        raise _RequestError(400, "the local model answers with n=1 only", param="n")
    defaults = SamplingParams()
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    return SamplingParams(
        temperature=_number(body, "temperature", defaults.temperature, 0.0, 2.0),
        top_p=_number(body, "top_p", defaults.top_p, 0.0, 1.0),
        max_tokens=_optional_int(max_tokens, "max_tokens", minimum=1) or defaults.max_tokens,
        frequency_penalty=_number(body, "frequency_penalty", 0.0, -2.0, 2.0),
        presence_penalty=_number(body, "presence_penalty", 0.0, -2.0, 2.0),
        stop=_parse_stop(body.get("stop")),
        seed=_optional_int(body.get("seed"), "seed", minimum=None),
    )


def _number(body: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _RequestError(400, f"`{name}` must be a number from {low} to {high}", param=name)
    return float(value)


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


def _usage(completion: Completion) -> dict[str, int]:
    return {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "total_tokens": completion.prompt_tokens + completion.completion_tokens,
    }


def _completion_object(completion: Completion, text: str) -> dict[str, Any]:
    return {
        "id": _completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": completion.model.model_id,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": completion.finish_reason or "stop",
            }
        ],
        "usage": _usage(completion),
    }


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


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


# -- streaming ------------------------------------------------------------------------------------


class _EventStream(httpx.SyncByteStream):
    """The SSE body. Tokens are generated as it is read; closing it stops the model."""

    def __init__(self, events: Iterator[bytes], on_close: Callable[[], None]) -> None:
        self._events = events
        self._on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        yield from self._events

    def close(self) -> None:
        try:
            close = getattr(self._events, "close", None)
            if close is not None:
                close()
        finally:
            self._on_close()


def _stream_response(
    completion: Completion, release: Callable[[], None], *, include_usage: bool
) -> httpx.Response:
    events = _sse_events(completion, release, include_usage=include_usage)
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"},
        stream=_EventStream(events, release),
    )


def _sse(payload: object) -> bytes:
    return b"data: " + _encode(payload) + b"\n\n"


def _sse_events(
    completion: Completion, release: Callable[[], None], *, include_usage: bool
) -> Iterator[bytes]:
    chunk = _ChunkFactory(completion.model.model_id)
    pieces = completion.pieces()
    try:
        yield _sse(chunk({"role": "assistant", "content": ""}))
        for piece in pieces:
            yield _sse(chunk({"content": piece}))
        finish = chunk({}, finish_reason=completion.finish_reason or "stop")
        if include_usage:
            # OpenAI's `stream_options.include_usage`: one more chunk, no choices, the usage.
            yield _sse(finish)
            yield _sse({**chunk.base(), "choices": [], "usage": _usage(completion)})
        else:
            yield _sse({**finish, "usage": _usage(completion)})
        yield b"data: [DONE]\n\n"
    except LocalModelError as exc:
        # Headers are gone: report in-band and end without [DONE], so the reader sees the failure.
        yield _sse(_error_payload(_RequestError(500, str(exc), type="local_model_error")))
    finally:
        pieces.close()
        release()


class _ChunkFactory:
    """`chat.completion.chunk` objects sharing one id and timestamp."""

    def __init__(self, model_id: str) -> None:
        self._id = _completion_id()
        self._created = int(time.time())
        self._model = model_id

    def base(self) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
        }

    def __call__(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return {**self.base(), "choices": [choice]}
