"""``AtdakClient``: the sync client (what it decides is in ``_base``, shared with the async one)."""

from __future__ import annotations

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
from atdak_cli.client._defaults import DEFAULT_BASE_URL
from atdak_cli.client._errors import APIError, StreamError
from atdak_cli.client._redact import mask_key
from atdak_cli.client._retry import RetryPolicy
from atdak_cli.client._timeouts import Deadline, Timeout, TimeoutLike, Watchdog

if TYPE_CHECKING:
    from atdak_cli.client._resources import Call, Chat, Mode, Models


class AtdakClient:
    """Client of the atdak Chat Completions API (and any OpenAI-compatible server).

    With no arguments it reads ``ATDAK_API_KEY`` and ``ATDAK_BASE_URL``. One client is safe to
    share between threads.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: TimeoutLike = None,
        max_retries: int = 2,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
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
        self._http = http_client or httpx.Client(follow_redirects=False)

    @classmethod
    def _from_config(cls, config: ClientConfig, http: httpx.Client) -> AtdakClient:
        client = cls.__new__(cls)
        client._config, client._http, client._owns_http = config, http, False
        return client

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
    def chat(self) -> Chat:
        from atdak_cli.client._resources import Chat

        return Chat(self)

    @cached_property
    def models(self) -> Models:
        from atdak_cli.client._resources import Models

        return Models(self)

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
    ) -> AtdakClient:
        """A copy with some options replaced (headers and query merged) over the same
        connection pool, which this client keeps owning: close this one, not the copy."""
        config = self._config.copy(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            default_headers=default_headers,
            default_query=default_query,
        )
        return AtdakClient._from_config(config, self._http)

    copy = with_options

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def is_closed(self) -> bool:
        return self._http.is_closed

    def __enter__(self) -> AtdakClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def redact(self, text: str) -> str:
        """``text`` with this client's key masked (servers sometimes echo it back)."""
        return self._config.redact(text)

    def send(
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
                return self._send_once(method, path, body, deadline, stream, options)
            except APIError as error:
                delay = self._config.retry_delay(error, attempt, deadline)
                self._config.retry_policy.sleep(delay)
                attempt += 1

    def _send_once(
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
            response = self._http.send(request, stream=True)
        if response.is_success:
            return response
        try:
            raw = _read_bounded(response, MAX_ERROR_BODY)
        except (httpx.HTTPError, OSError):
            raw = b""
        finally:
            response.close()
        raise self._config.status_error(response, raw)

    def _request(self, call: Call, mode: Mode) -> Any:
        """Send ``call`` and answer as ``mode`` says: the object, or a raw response."""
        timeout = self._config.request_timeout(call.options)
        deadline = Deadline(timeout.total)

        def send() -> httpx.Response:
            return self.send(
                call.method,
                call.path,
                body=call.body,
                deadline=deadline,
                stream=call.stream,
                options=call.options,
            )

        if mode == "streaming":
            from atdak_cli.client._response import APIResponse, ResponseContextManager

            def opened() -> APIResponse[Any]:
                response = send()
                return APIResponse(response, lambda: self._parse(call, response, timeout, deadline))

            return ResponseContextManager(opened)
        response = send()
        if mode == "parsed":
            return self._parse(call, response, timeout, deadline)
        from atdak_cli.client._response import LegacyAPIResponse

        if call.stream:
            return LegacyAPIResponse(
                response, lambda: self._open_stream(call, response, timeout, deadline)
            )
        content = _read_body(response, deadline)
        return LegacyAPIResponse(
            response, lambda: self._parse_read(call, response, content, timeout, deadline)
        )

    def _open_stream(
        self, call: Call, response: httpx.Response, timeout: Timeout, deadline: Deadline
    ) -> Any:
        from atdak_cli.client._streaming import Stream

        return Stream(
            response,
            timeout=timeout,
            deadline=deadline,
            redact=self.redact,
            include_usage=call.include_usage,
        )

    def _parse(
        self, call: Call, response: httpx.Response, timeout: Timeout, deadline: Deadline
    ) -> Any:
        if call.parse_json is None:
            stream = self._open_stream(call, response, timeout, deadline)
            if call.stream:
                return stream
            return _read_completion(stream)
        from atdak_cli.client._resources import parse_json_answer

        return parse_json_answer(call, response, _read_body(response, deadline))

    def _parse_read(
        self,
        call: Call,
        response: httpx.Response,
        content: bytes,
        timeout: Timeout,
        deadline: Deadline,
    ) -> Any:
        """The object of an answer whose body was read already (the raw mode)."""
        if call.parse_json is not None:
            from atdak_cli.client._resources import parse_json_answer

            return parse_json_answer(call, response, content)
        from atdak_cli.client._streaming import _StreamCore, completion_from_body

        core = _StreamCore(response, timeout=timeout, deadline=deadline, redact=self.redact)
        return completion_from_body(core, content)


def _read_completion(stream: Any) -> Any:
    """A non-streamed answer; a server that streams anyway is assembled transparently."""
    from atdak_cli.client._streaming import completion_of

    with stream:
        for _ in stream:
            pass
    return completion_of(stream)


def _read_body(response: httpx.Response, deadline: Deadline) -> bytes:
    """The whole body, within what is left of the deadline; the response is closed after."""
    watchdog = Watchdog(response)
    watchdog.arm(deadline.remaining(), "total")
    try:
        return response.read()
    except httpx.HTTPError as exc:
        raise StreamError(
            f"the answer could not be read ({exc})", request=response.request
        ) from exc
    finally:
        watchdog.disarm()
        response.close()


def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    for part in response.iter_bytes():
        parts.append(part)
        size += len(part)
        if size >= limit:
            break
    return b"".join(parts)[:limit]


__all__ = ["AtdakClient", "DEFAULT_BASE_URL", "mask_key"]
