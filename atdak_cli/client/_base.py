"""What the sync and the async client share, with no I/O of its own: configuration, building a
request, the retry decision, reading an error answer, and the translation of httpx's errors.

``AtdakClient`` and ``AsyncAtdakClient`` differ only in how they wait (``send`` and ``sleep``
or their ``await``ed twins); everything they decide is decided here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

import httpx

from atdak_cli.client._defaults import DEFAULT_BASE_URL
from atdak_cli.client._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AtdakError,
    ProxyConnectionError,
    RedirectRefusedError,
    status_error_class,
)
from atdak_cli.client._params import jsonable
from atdak_cli.client._redact import redact_key, strip_userinfo
from atdak_cli.client._retry import MAX_RETRY_AFTER, RetryPolicy, retry_after
from atdak_cli.client._timeouts import Deadline, Timeout, TimeoutLike

# An error body is read up to this size: enough for any real message, bounded for a
# misbehaving server that sends megabytes.
MAX_ERROR_BODY = 256 * 1024

Query = Mapping[str, str | int | float | bool | None]


class RequestOptions(NamedTuple):
    """One request's options over the client's: ``timeout`` (None: the client's),
    ``extra_headers`` (a ``None`` value removes a header), ``extra_query``."""

    timeout: TimeoutLike = None
    extra_headers: Mapping[str, str | None] | None = None
    extra_query: Query | None = None


NO_OPTIONS = RequestOptions()


class ClientConfig:
    """The settings of a client, validated once; copied (not shared) by ``with_options``."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: TimeoutLike,
        max_retries: int,
        retry_policy: RetryPolicy | None,
        default_headers: Mapping[str, str] | None,
        default_query: Query | None,
    ) -> None:
        key = os.environ.get("ATDAK_API_KEY") if api_key is None else api_key
        if key is None:
            raise AtdakError("no API key: pass api_key= or set ATDAK_API_KEY")
        if any(ord(c) < 0x21 or ord(c) == 0x7F for c in key):
            raise AtdakError("the API key contains whitespace or control characters")
        self.api_key = key
        url = base_url or os.environ.get("ATDAK_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = str(url).rstrip("/")
        self.timeout = Timeout.coerce(timeout)
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self.headers = {"User-Agent": "atdak-python", **(default_headers or {})}
        self.query: dict[str, Any] = dict(default_query or {})

    def copy(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: TimeoutLike,
        max_retries: int | None,
        retry_policy: RetryPolicy | None,
        default_headers: Mapping[str, str] | None,
        default_query: Query | None,
    ) -> ClientConfig:
        """These settings with some replaced; headers and query parameters are merged."""
        if retry_policy is None:
            retry_policy = self.retry_policy
            if max_retries is not None:
                retry_policy = _with_max_retries(retry_policy, max_retries)
        return ClientConfig(
            api_key=self.api_key if api_key is None else api_key,
            base_url=base_url or self.base_url,
            timeout=self.timeout if timeout is None else timeout,
            max_retries=retry_policy.max_retries,
            retry_policy=retry_policy,
            default_headers={**self.headers, **(default_headers or {})},
            default_query={**self.query, **(default_query or {})},
        )

    def redact(self, text: str) -> str:
        """``text`` with this client's key masked (servers sometimes echo it back)."""
        return redact_key(text, self.api_key)

    def request_timeout(self, options: RequestOptions) -> Timeout:
        return self.timeout if options.timeout is None else Timeout.coerce(options.timeout)

    def build_request(
        self,
        http: httpx.Client | httpx.AsyncClient,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None,
        deadline: Deadline,
        stream: bool,
        options: RequestOptions = NO_OPTIONS,
    ) -> httpx.Request:
        timeout = self.request_timeout(options)
        read = deadline.cap(timeout.first_content if stream else timeout.idle)
        headers = {**self.headers, "Accept": "text/event-stream" if stream else "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if stream:
            # Compressed event streams are buffered by some proxies: ask for none.
            headers["Accept-Encoding"] = "identity"
        content = (
            None
            if body is None
            else json.dumps(body, ensure_ascii=False, default=jsonable).encode()
        )
        if content is not None:
            headers["Content-Type"] = "application/json"
        _apply_extra_headers(headers, options.extra_headers)
        query = {**self.query, **(options.extra_query or {})}
        connect = deadline.cap(timeout.connect)
        return http.build_request(
            method,
            self.base_url + path,
            content=content,
            headers=headers,
            params=_query_params(query) if query else None,
            timeout=httpx.Timeout(connect=connect, read=read, write=connect, pool=connect),
        )

    def retry_delay(self, error: APIError, attempt: int, deadline: Deadline) -> float:
        """The wait before retrying after ``error`` on 0-based ``attempt``; raises ``error``
        when it is not to be retried or the wait cannot fit the deadline."""
        policy = self.retry_policy
        if not policy.should_retry(error, attempt):
            raise error
        headers = error.response.headers if isinstance(error, APIStatusError) else None
        delay = policy.delay(attempt, headers)
        left = deadline.remaining()
        if delay > MAX_RETRY_AFTER or (left is not None and delay >= left):
            # A wait that cannot fit is not slept: the error is reported at once.
            if headers is not None and retry_after(headers) is not None:
                error.message = f"{error.message} (the server asks to retry in {delay:.0f} s)"
                error.args = (error.message,)
            raise error
        return delay

    def status_error(self, response: httpx.Response, raw: bytes) -> APIError:
        """The error for a non-2xx ``response`` whose body (at most MAX_ERROR_BODY) is ``raw``."""
        if response.is_redirect:
            location = strip_userinfo(response.headers.get("location", ""))
            return RedirectRefusedError(response.status_code, location, request=response.request)
        # Redacted before anything is cut or parsed: a key straddling a cut must not leak.
        body, message = _error_message(self.redact(raw.decode("utf-8", "replace")), response)
        cls = status_error_class(response.status_code)
        return cls(message, response=response, body=body)


def _with_max_retries(policy: RetryPolicy, max_retries: int) -> RetryPolicy:
    from dataclasses import replace

    return replace(policy, max_retries=max_retries)


def _apply_extra_headers(headers: dict[str, str], extra: Mapping[str, str | None] | None) -> None:
    for name, value in (extra or {}).items():
        for existing in [h for h in headers if h.lower() == name.lower()]:
            del headers[existing]
        if value is not None:
            headers[name] = value


def _query_params(query: Mapping[str, object]) -> dict[str, str]:
    """Query values as the API expects them: booleans lower-case, ``None`` left out."""
    params: dict[str, str] = {}
    for name, value in query.items():
        if value is None:
            continue
        params[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return params


@contextmanager
def translate_transport_errors(
    request: httpx.Request, *, proxy: str | None = None
) -> Iterator[None]:
    """httpx's exceptions become ours at the library boundary (sync and async alike).
    ``proxy`` is the one the request goes through, if any: when it fails, the message is
    about it, not the server."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise APITimeoutError(f"{_timeout_kind(exc)} timed out", request=request) from exc
    except httpx.UnsupportedProtocol as exc:
        raise APIConnectionError(f"unsupported URL: {exc}", request=request) from exc
    except (httpx.ConnectError, httpx.ProxyError) as exc:
        if proxy is None:
            raise APIConnectionError(_describe_transport(exc, request), request=request) from exc
        shown = strip_userinfo(proxy)
        message = f"cannot reach {_address(request.url)} through the proxy {shown} ({_detail(exc)})"
        raise ProxyConnectionError(message, proxy=shown, request=request) from exc
    except httpx.TransportError as exc:
        raise APIConnectionError(_describe_transport(exc, request), request=request) from exc


def environment_proxy(url: httpx.URL) -> str | None:
    """The proxy httpx takes from the environment for ``url`` (``HTTPS_PROXY``,
    ``HTTP_PROXY``, ``ALL_PROXY``, less the hosts in ``NO_PROXY``), read as httpx reads it."""
    from urllib.request import getproxies, proxy_bypass

    proxies = getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or proxy_bypass(_address(url)):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _timeout_kind(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connecting"
    if isinstance(exc, httpx.ReadTimeout):
        return "waiting for the server to answer"
    if isinstance(exc, httpx.PoolTimeout):
        return "waiting for a free connection"
    return "sending the request"


def _describe_transport(exc: httpx.TransportError, request: httpx.Request) -> str:
    host, detail = _address(request.url), _detail(exc)
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host} ({detail})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{host} closed the connection or did not speak HTTP ({detail})"
    if isinstance(exc, httpx.ProxyError):
        return f"the proxy failed ({strip_userinfo(detail)})"
    return f"connection to {host} failed ({detail})"


def _address(url: httpx.URL) -> str:
    """``host:port``: with several local servers, the port is what tells them apart."""
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{port}" if port else host


def _detail(exc: httpx.TransportError) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _error_message(raw: str, response: httpx.Response) -> tuple[object, str]:
    """The body (parsed when JSON) and one readable line about the failure."""
    status = f"HTTP {response.status_code}"
    text = raw.strip()
    try:
        body: object = json.loads(text) if text else None
    except ValueError:
        body = None
    message = _message_in(body)
    if message is None:
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if not text:
            message = response.reason_phrase or "no details"
        elif media in ("text/html", "application/xhtml+xml") or text.lstrip().startswith("<"):
            message = _html_title(text) or "an HTML error page"
        else:
            message = text
        body = text if body is None else body
    line = " ".join(message.split())
    if len(line) > 300:
        line = line[:297] + "..."
    return body, f"{status}: {line}"


def _message_in(body: object) -> str | None:
    """OpenAI ``{"error": {"message"}}``, FastAPI ``{"detail"}``, vLLM ``{"message"}``, a string."""
    if isinstance(body, str):
        return body
    if not isinstance(body, dict):
        return None
    error = body.get("error", body)
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        for key in ("message", "detail", "msg"):
            value = error.get(key)
            if isinstance(value, str) and value:
                return value
        detail = error.get("detail")
        if detail is not None:
            return json.dumps(detail, ensure_ascii=False)
    return None


def _html_title(text: str) -> str | None:
    lower = text.lower()
    start = lower.find("<title>")
    end = lower.find("</title>")
    if start == -1 or end <= start:
        return None
    title = " ".join(text[start + 7 : end].split())
    return f"an HTML page: {title}" if title else None
