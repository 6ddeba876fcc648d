"""``AsyncAtdakClient``: the client on ``httpx.AsyncClient``.

The same configuration, request building, retry decisions, error tree, SSE decoder and stream
state as :class:`AtdakClient` (``_base``, ``_streaming``): only the waiting is ``await``ed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from atdak_cli.client._base import (
    MAX_ERROR_BODY,
    NO_OPTIONS,
    ClientConfig,
    Query,
    RequestOptions,
    environment_proxy,
    translate_transport_errors,
)
from atdak_cli.client._errors import APIError, StreamError
from atdak_cli.client._retry import RetryPolicy
from atdak_cli.client._timeouts import Deadline, Timeout, TimeoutLike, Watchdog

if TYPE_CHECKING:
    from atdak_cli.client._resources import AsyncChat, AsyncModels, Call, Mode

__all__ = ["AsyncAtdakClient"]


class AsyncAtdakClient:
    """The async client: ``await client.chat.completions.create(...)``,
    ``async for chunk in stream``, ``async with AsyncAtdakClient() as client``.

    Retry waits use ``retry_policy.async_sleep`` (``asyncio.sleep`` unless injected).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: TimeoutLike = None,
        max_retries: int = 2,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        default_headers: Mapping[str, str] | None = None,
        default_query: Query | None = None,
    ) -> None:
        self._config = ClientConfig(
            api_key=api_key,
            base_url=None if base_url is None else str(base_url),
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            default_headers=default_headers,
            default_query=default_query,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(follow_redirects=False)

    @property
    def api_key(self) -> str:
        return self._config.api_key

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def timeout(self) -> Timeout:
        return self._config.timeout

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._config.retry_policy

    @property
    def max_retries(self) -> int:
        return self._config.retry_policy.max_retries

    @cached_property
    def chat(self) -> AsyncChat:
        from atdak_cli.client._resources import AsyncChat

        return AsyncChat(self)

    @cached_property
    def models(self) -> AsyncModels:
        from atdak_cli.client._resources import AsyncModels

        return AsyncModels(self)

    def with_options(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: TimeoutLike = None,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        default_query: Query | None = None,
    ) -> AsyncAtdakClient:
        """A copy with some options replaced over the same connection pool (which this
        client keeps owning)."""
        config = self._config.copy(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            default_headers=default_headers,
            default_query=default_query,
        )
        client = AsyncAtdakClient.__new__(AsyncAtdakClient)
        client._config, client._http, client._owns_http = config, self._http, False
        return client

    copy = with_options

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    def is_closed(self) -> bool:
        return self._http.is_closed

    async def __aenter__(self) -> AsyncAtdakClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def redact(self, text: str) -> str:
        return self._config.redact(text)

    async def send(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None,
        deadline: Deadline,
        stream: bool,
        options: RequestOptions = NO_OPTIONS,
    ) -> httpx.Response:
        """Send with retries; returns an open response with a 2xx status (caller closes)."""
        attempt = 0
        while True:
            try:
                return await self._send_once(method, path, body, deadline, stream, options)
            except APIError as error:
                delay = self._config.retry_delay(error, attempt, deadline)
                sleep = self._config.retry_policy.async_sleep or asyncio.sleep
                await sleep(delay)
                attempt += 1

    async def _send_once(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        deadline: Deadline,
        stream: bool,
        options: RequestOptions,
    ) -> httpx.Response:
        request = self._config.build_request(
            self._http, method, path, body=body, deadline=deadline, stream=stream, options=options
        )
        proxy = environment_proxy(request.url) if self._http.trust_env else None
        with translate_transport_errors(request, proxy=proxy):
            response = await self._http.send(request, stream=True)
        if response.is_success:
            return response
        try:
            raw = await _read_bounded(response, MAX_ERROR_BODY)
        except (httpx.HTTPError, OSError):
            raw = b""
        finally:
            await response.aclose()
        raise self._config.status_error(response, raw)

    async def _request(self, call: Call, mode: Mode) -> Any:
        from atdak_cli.client._response import AsyncAPIResponse, LegacyAPIResponse

        timeout = self._config.request_timeout(call.options)
        deadline = Deadline(timeout.total)
        response = await self.send(
            call.method,
            call.path,
            body=call.body,
            deadline=deadline,
            stream=call.stream,
            options=call.options,
        )
        if mode == "parsed":
            return await self._parse(call, response, timeout, deadline)
        if mode == "streaming":
            return AsyncAPIResponse(
                response, lambda: self._parse(call, response, timeout, deadline)
            )
        if call.stream:
            stream = self._open_stream(call, response, timeout, deadline)
            return LegacyAPIResponse(response, lambda: stream)
        content = await _read_body(response, deadline)
        return LegacyAPIResponse(
            response, lambda: self._parse_read(call, response, content, timeout, deadline)
        )

    def _open_stream(
        self, call: Call, response: httpx.Response, timeout: Timeout, deadline: Deadline
    ) -> Any:
        from atdak_cli.client._streaming import AsyncStream

        return AsyncStream(
            response,
            timeout=timeout,
            deadline=deadline,
            redact=self.redact,
            include_usage=call.include_usage,
        )

    async def _parse(
        self, call: Call, response: httpx.Response, timeout: Timeout, deadline: Deadline
    ) -> Any:
        if call.parse_json is None:
            stream = self._open_stream(call, response, timeout, deadline)
            if call.stream:
                return stream
            return await _read_completion(stream)
        from atdak_cli.client._resources import parse_json_answer

        return parse_json_answer(call, response, await _read_body(response, deadline))

    def _parse_read(
        self,
        call: Call,
        response: httpx.Response,
        content: bytes,
        timeout: Timeout,
        deadline: Deadline,
    ) -> Any:
        if call.parse_json is not None:
            from atdak_cli.client._resources import parse_json_answer

            return parse_json_answer(call, response, content)
        from atdak_cli.client._streaming import _StreamCore, completion_from_body

        core = _StreamCore(response, timeout=timeout, deadline=deadline, redact=self.redact)
        return completion_from_body(core, content)


async def _read_completion(stream: Any) -> Any:
    from atdak_cli.client._streaming import completion_of

    async with stream:
        async for _ in stream:
            pass
    return completion_of(stream)


async def _read_body(response: httpx.Response, deadline: Deadline) -> bytes:
    from atdak_cli.client._streaming import _loop_timer

    watchdog = Watchdog(response, _loop_timer)
    watchdog.arm(deadline.remaining(), "total")
    try:
        return await response.aread()
    except httpx.HTTPError as exc:
        raise StreamError(
            f"the answer could not be read ({exc})", request=response.request
        ) from exc
    finally:
        watchdog.disarm()
        await response.aclose()


async def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for part in response.aiter_bytes():
        parts.append(part)
        size += len(part)
        if size >= limit:
            break
    return b"".join(parts)[:limit]
