"""The request body of ``POST /chat/completions``: every field of the Chat Completions API as
a typed keyword (``ChatParams``), the API page's ranges checked before anything is sent.

The sync and the async ``create`` take ``**params: Unpack[ChatParams]``: one declaration of
the fields for both, and mypy checks each keyword's name and type as if it were written out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

from atdak_cli.client._timeouts import TimeoutLike
from atdak_cli.client._types import BaseModel

__all__ = ["ChatParams", "MessageParam", "build_chat_body"]

#: A message of ``messages``: a dict as the API defines it (``system``, ``user``,
#: ``assistant`` with or without ``tool_calls``, ``tool`` with ``tool_call_id``), or a message
#: object this library returned (``completion.choices[0].message``).
MessageParam = Mapping[str, Any] | BaseModel


class ChatParams(TypedDict, total=False):
    """The optional keywords of ``chat.completions.create``. ``None`` (or leaving one out)
    sends nothing, so the server's default applies."""

    audio: Mapping[str, Any] | None
    frequency_penalty: float | None  # -2 to 2
    function_call: str | Mapping[str, Any] | None
    functions: Iterable[Mapping[str, Any]] | None
    logit_bias: Mapping[str, int] | None
    logprobs: bool | None
    max_completion_tokens: int | None
    max_tokens: int | None
    metadata: Mapping[str, str] | None
    modalities: Sequence[str] | None
    n: int | None
    parallel_tool_calls: bool | None
    prediction: Mapping[str, Any] | None
    presence_penalty: float | None  # -2 to 2
    prompt_cache_key: str | None
    reasoning_effort: str | None
    response_format: Mapping[str, Any] | None
    safety_identifier: str | None
    seed: int | None
    service_tier: str | None
    stop: str | Sequence[str] | None
    store: bool | None
    stream_options: Mapping[str, Any] | None
    temperature: float | None  # 0 to 2
    tool_choice: str | Mapping[str, Any] | None
    tools: Iterable[Mapping[str, Any]] | None
    top_logprobs: int | None
    top_p: float | None
    user: str | None
    verbosity: str | None
    web_search_options: Mapping[str, Any] | None
    # Not fields of the API: options of this one request.
    extra_headers: Mapping[str, str | None] | None
    extra_query: Mapping[str, str | int | float | bool | None] | None
    extra_body: Mapping[str, Any] | None
    timeout: TimeoutLike


REQUEST_OPTIONS = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
_FIELDS = frozenset(ChatParams.__annotations__) - REQUEST_OPTIONS
# The ranges the API page gives (chat-completions.md, 参数说明).
_RANGES = {
    "temperature": (0.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
    "presence_penalty": (-2.0, 2.0),
}
# Sent back to a server, the model's thinking is refused by some (DeepSeek answers 400).
_NOT_RESENT = ("reasoning_content", "reasoning")


def build_chat_body(
    model: str, messages: Iterable[MessageParam], stream: bool, params: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON body; ``TypeError`` for an unknown keyword, ``ValueError`` for a value out of
    the API page's range (nothing is sent either way)."""
    unknown = params.keys() - _FIELDS - REQUEST_OPTIONS
    if unknown:
        name = sorted(unknown)[0]
        raise TypeError(f"create() got an unexpected keyword argument {name!r}")
    body: dict[str, Any] = {"model": model, "messages": [_message(m) for m in messages]}
    for name, value in params.items():
        if value is None or name in REQUEST_OPTIONS:
            continue
        if name in _RANGES:
            _check_range(name, value)
        body[name] = _plain(value)
    if stream:
        body["stream"] = True
    body.update(params.get("extra_body") or {})
    return body


def wants_usage_chunk(body: Mapping[str, Any]) -> bool:
    """Whether the request asked for the usage-only chunk at the end of the stream."""
    options = body.get("stream_options")
    return isinstance(options, Mapping) and options.get("include_usage") is True


def _message(message: MessageParam) -> dict[str, Any]:
    if isinstance(message, BaseModel):
        # `content: null` stays: an assistant message with tool calls has it so in the API.
        data = {k: v for k, v in message.to_dict().items() if v is not None or k == "content"}
        for name in _NOT_RESENT:
            data.pop(name, None)
        return data
    return dict(message)


def _plain(value: object) -> Any:
    """Iterables the JSON encoder does not take (tuples, generators) become lists."""
    if isinstance(value, (str, bytes, Mapping, list, int, float)) or value is None:
        return value
    if isinstance(value, Iterable):
        return list(value)
    return value


def _check_range(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    low, high = _RANGES[name]
    if math.isnan(value) or not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, not {value!r}")


def jsonable(value: object) -> Any:
    """``json.dumps``'s ``default``: a response object inside a request is its JSON object."""
    if isinstance(value, BaseModel):
        return value.to_dict(exclude_none=True)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
