"""``client.chat.completions`` and ``client.models``, sync and async, each also
``with_raw_response`` and ``with_streaming_response``.

A resource method only describes its request (a :class:`Call`); the client sends it and the
functions here turn the answer into objects. The sync and the async resources share those
descriptions and parsers, and differ only by ``await``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, ParamSpec, TypeVar, overload
from urllib.parse import quote

from atdak_cli.client._base import RequestOptions
from atdak_cli.client._errors import APIResponseValidationError
from atdak_cli.client._params import MessageParam, build_chat_body, wants_usage_chunk
from atdak_cli.client._types import ChatCompletion, ChatCompletionChunk, Model, ModelList

if TYPE_CHECKING:
    import httpx
    from typing_extensions import Unpack

    from atdak_cli.client._async_client import AsyncAtdakClient
    from atdak_cli.client._client import AtdakClient
    from atdak_cli.client._params import ChatParams
    from atdak_cli.client._response import (
        AsyncResponseContextManager,
        LegacyAPIResponse,
        ResponseContextManager,
    )
    from atdak_cli.client._streaming import AsyncStream, Stream
    from atdak_cli.client._timeouts import TimeoutLike

Mode = Literal["parsed", "raw", "streaming"]
_P = ParamSpec("_P")
_R = TypeVar("_R")


class Call(NamedTuple):
    """One request: what to send, and how to read a JSON answer (None: a chat answer)."""

    method: str
    path: str
    body: Mapping[str, Any] | None
    stream: bool
    options: RequestOptions
    parse_json: Callable[[object], Any] | None = None

    @property
    def include_usage(self) -> bool:
        return self.body is not None and wants_usage_chunk(self.body)


def chat_call(
    model: str, messages: Iterable[MessageParam], stream: bool, params: Mapping[str, Any]
) -> Call:
    body = build_chat_body(model, messages, stream, params)
    return Call("POST", "/chat/completions", body, stream, _options(params))


def _options(params: Mapping[str, Any]) -> RequestOptions:
    return RequestOptions(
        params.get("timeout"), params.get("extra_headers"), params.get("extra_query")
    )


def _model_list(data: object) -> ModelList:
    try:
        return ModelList.parse(data)
    except ValueError as exc:
        raise APIResponseValidationError(
            f"the server's answer to GET /models is not a model list ({exc})", body=data
        ) from None


def _model(data: object) -> Model:
    try:
        return Model.parse(data)
    except ValueError as exc:
        raise APIResponseValidationError(
            f"the server's answer to GET /models/ID is not a model ({exc})", body=data
        ) from None


def parse_json_answer(call: Call, response: httpx.Response, content: bytes) -> Any:
    """The object of a JSON endpoint's read answer."""
    assert call.parse_json is not None
    try:
        data = json.loads(content)
    except (ValueError, RecursionError):
        raise APIResponseValidationError(
            f"the server's answer to {call.method} {call.path} is not JSON", response=response
        ) from None
    try:
        return call.parse_json(data)
    except APIResponseValidationError as exc:
        exc.response, exc.status_code, exc.request = (
            response,
            response.status_code,
            response.request,
        )
        raise


def _models_list_call(options: RequestOptions) -> Call:
    return Call("GET", "/models", None, False, options, _model_list)


def _models_retrieve_call(model: str, options: RequestOptions) -> Call:
    return Call("GET", f"/models/{quote(model, safe='')}", None, False, options, _model)


def _as_raw(func: Callable[_P, _R]) -> Callable[_P, LegacyAPIResponse[_R]]:
    return func  # type: ignore[return-value]  # the "raw" mode returns the raw response


def _as_streaming(func: Callable[_P, _R]) -> Callable[_P, ResponseContextManager[_R]]:
    return func  # type: ignore[return-value]


# ---------------------------------------------------------------- sync


class Completions:
    """``POST /chat/completions``."""

    def __init__(self, client: AtdakClient, mode: Mode = "parsed") -> None:
        self._client = client
        self._mode = mode

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageParam],
        stream: Literal[True],
        **params: Unpack[ChatParams],
    ) -> Stream[ChatCompletionChunk]: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageParam],
        stream: Literal[False] | None = ...,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageParam],
        stream: bool,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion | Stream[ChatCompletionChunk]: ...

    def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageParam],
        stream: bool | None = False,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """Ask for an answer; with ``stream=True`` get its chunks as they are generated.

        Every field of the Chat Completions API is a keyword (:class:`ChatParams`); one left
        out or ``None`` is not sent, so the server's default applies. ``extra_body`` adds
        fields; ``extra_headers``, ``extra_query`` and ``timeout`` apply to this request only.
        """
        call = chat_call(model, messages, bool(stream), params)
        result: Any = self._client._request(call, self._mode)
        return result  # type: ignore[no-any-return]

    @cached_property
    def with_raw_response(self) -> CompletionsWithRawResponse:
        return CompletionsWithRawResponse(self._client)

    @cached_property
    def with_streaming_response(self) -> CompletionsWithStreamingResponse:
        return CompletionsWithStreamingResponse(self._client)


class CompletionsWithRawResponse:
    """``create`` answering a :class:`LegacyAPIResponse` (``.headers``, ``.parse()``)."""

    def __init__(self, client: AtdakClient) -> None:
        self.create = _as_raw(Completions(client, "raw").create)


class CompletionsWithStreamingResponse:
    """``create`` answering a context manager of an :class:`APIResponse`."""

    def __init__(self, client: AtdakClient) -> None:
        self.create = _as_streaming(Completions(client, "streaming").create)


class Chat:
    """``client.chat``: groups ``completions`` as the API page does."""

    def __init__(self, client: AtdakClient) -> None:
        self.completions = Completions(client)


class Models:
    """``GET /models`` and ``GET /models/{id}``."""

    def __init__(self, client: AtdakClient, mode: Mode = "parsed") -> None:
        self._client = client
        self._mode = mode

    def list(
        self,
        *,
        extra_headers: Mapping[str, str | None] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike = None,
    ) -> ModelList:
        call = _models_list_call(RequestOptions(timeout, extra_headers, extra_query))
        result: Any = self._client._request(call, self._mode)
        return result  # type: ignore[no-any-return]

    def retrieve(
        self,
        model: str,
        *,
        extra_headers: Mapping[str, str | None] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike = None,
    ) -> Model:
        call = _models_retrieve_call(model, RequestOptions(timeout, extra_headers, extra_query))
        result: Any = self._client._request(call, self._mode)
        return result  # type: ignore[no-any-return]

    @cached_property
    def with_raw_response(self) -> ModelsWithRawResponse:
        return ModelsWithRawResponse(self._client)

    @cached_property
    def with_streaming_response(self) -> ModelsWithStreamingResponse:
        return ModelsWithStreamingResponse(self._client)


class ModelsWithRawResponse:
    def __init__(self, client: AtdakClient) -> None:
        models = Models(client, "raw")
        self.list = _as_raw(models.list)
        self.retrieve = _as_raw(models.retrieve)


class ModelsWithStreamingResponse:
    def __init__(self, client: AtdakClient) -> None:
        models = Models(client, "streaming")
        self.list = _as_streaming(models.list)
        self.retrieve = _as_streaming(models.retrieve)


# ---------------------------------------------------------------- async


class AsyncCompletions:
    """``POST /chat/completions``, awaited."""

    def __init__(self, client: AsyncAtdakClient, mode: Mode = "parsed") -> None:
        self._client = client
        self._mode = mode

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageParam],
        stream: Literal[True],
        **params: Unpack[ChatParams],
    ) -> AsyncStream[ChatCompletionChunk]: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageParam],
        stream: Literal[False] | None = ...,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageParam],
        stream: bool,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]: ...

    async def create(
        self,
        *,
        model: str,
        messages: Iterable[MessageParam],
        stream: bool | None = False,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """As :meth:`Completions.create`; ``async for chunk in stream`` with ``stream=True``."""
        call = chat_call(model, messages, bool(stream), params)
        result: Any = await self._client._request(call, self._mode)
        return result  # type: ignore[no-any-return]

    @cached_property
    def with_raw_response(self) -> AsyncCompletionsWithRawResponse:
        return AsyncCompletionsWithRawResponse(self._client)

    @cached_property
    def with_streaming_response(self) -> AsyncCompletionsWithStreamingResponse:
        return AsyncCompletionsWithStreamingResponse(self._client)


class AsyncCompletionsWithRawResponse:
    """``await create(...)`` answering a :class:`LegacyAPIResponse`."""

    def __init__(self, client: AsyncAtdakClient) -> None:
        completions = AsyncCompletions(client, "raw")
        self.create = _as_async_raw(completions.create)


class AsyncCompletionsWithStreamingResponse:
    """``async with create(...) as response``: an :class:`AsyncAPIResponse`."""

    def __init__(self, client: AsyncAtdakClient) -> None:
        completions = AsyncCompletions(client, "streaming")
        self.create = _as_async_streaming(completions.create)


class AsyncChat:
    def __init__(self, client: AsyncAtdakClient) -> None:
        self.completions = AsyncCompletions(client)


class AsyncModels:
    """``GET /models`` and ``GET /models/{id}``, awaited."""

    def __init__(self, client: AsyncAtdakClient, mode: Mode = "parsed") -> None:
        self._client = client
        self._mode = mode

    async def list(
        self,
        *,
        extra_headers: Mapping[str, str | None] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike = None,
    ) -> ModelList:
        call = _models_list_call(RequestOptions(timeout, extra_headers, extra_query))
        result: Any = await self._client._request(call, self._mode)
        return result  # type: ignore[no-any-return]

    async def retrieve(
        self,
        model: str,
        *,
        extra_headers: Mapping[str, str | None] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: TimeoutLike = None,
    ) -> Model:
        call = _models_retrieve_call(model, RequestOptions(timeout, extra_headers, extra_query))
        result: Any = await self._client._request(call, self._mode)
        return result  # type: ignore[no-any-return]

    @cached_property
    def with_raw_response(self) -> AsyncModelsWithRawResponse:
        return AsyncModelsWithRawResponse(self._client)

    @cached_property
    def with_streaming_response(self) -> AsyncModelsWithStreamingResponse:
        return AsyncModelsWithStreamingResponse(self._client)


class AsyncModelsWithRawResponse:
    def __init__(self, client: AsyncAtdakClient) -> None:
        models = AsyncModels(client, "raw")
        self.list = _as_async_raw(models.list)
        self.retrieve = _as_async_raw(models.retrieve)


class AsyncModelsWithStreamingResponse:
    def __init__(self, client: AsyncAtdakClient) -> None:
        models = AsyncModels(client, "streaming")
        self.list = _as_async_streaming(models.list)
        self.retrieve = _as_async_streaming(models.retrieve)


def _as_async_raw(
    func: Callable[_P, Awaitable[_R]],
) -> Callable[_P, Awaitable[LegacyAPIResponse[_R]]]:
    return func  # type: ignore[return-value]  # the "raw" mode returns the raw response


def _as_async_streaming(
    func: Callable[_P, Awaitable[_R]],
) -> Callable[_P, AsyncResponseContextManager[_R]]:
    """``create(...)`` is entered with ``async with``, not awaited: the coroutine (which, in
    the "streaming" mode, gives the :class:`AsyncAPIResponse`) runs on entry."""
    from atdak_cli.client._response import AsyncResponseContextManager

    def call(*args: _P.args, **kwargs: _P.kwargs) -> AsyncResponseContextManager[_R]:
        return AsyncResponseContextManager(lambda: func(*args, **kwargs))  # type: ignore[arg-type,return-value]

    return call
