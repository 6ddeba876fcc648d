"""Errors raised by the client library.

    AtdakError
    └ APIError(message, *, request, body)            .code .type .param
      ├ APIStatusError(.status_code, .response, .request_id)
      │   BadRequestError 400, AuthenticationError 401, PermissionDeniedError 403,
      │   NotFoundError 404, ConflictError 409, RequestTooLargeError 413,
      │   UnprocessableEntityError 422, RateLimitError 429, InternalServerError 5xx
      ├ APIConnectionError
      │ ├ APITimeoutError
      │ ├ ProxyConnectionError
      │ └ RedirectRefusedError
      └ StreamError (malformed SSE, bad JSON chunk, in-band {"error": ...})
        ├ ServerStreamError (the server reported an error mid-answer)
        ├ APIResponseValidationError (a 2xx answer that is not the object the API promises)
        └ IncompleteStreamError (EOF or reset before the model finished; carries the partial text)
          └ StreamTimeoutError (a deadline passed mid-answer: also an APITimeoutError)

httpx exceptions are translated at the boundary and never escape this package. Messages carry
the server's ``error.message``; never a header or a key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import httpx

__all__ = [
    "AtdakError",
    "APIError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "RequestTooLargeError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "APIConnectionError",
    "APITimeoutError",
    "ProxyConnectionError",
    "RedirectRefusedError",
    "StreamError",
    "ServerStreamError",
    "APIResponseValidationError",
    "IncompleteStreamError",
    "StreamTimeoutError",
]


class AtdakError(Exception):
    """Base of every error this library raises."""


class APIError(AtdakError):
    """A request to the API failed."""

    message: str
    request: httpx.Request | None
    body: object | None
    code: str | None
    type: str | None
    param: str | None

    def __init__(
        self, message: str, *, request: httpx.Request | None = None, body: object | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body
        error = _error_object(body)
        self.code = _str_or_none(error.get("code"))
        self.type = _str_or_none(error.get("type"))
        self.param = _str_or_none(error.get("param"))


class APIStatusError(APIError):
    """The server answered with a 4xx or 5xx status."""

    status_code: int
    response: httpx.Response
    request_id: str | None

    def __init__(self, message: str, *, response: httpx.Response, body: object | None) -> None:
        super().__init__(message, request=response.request, body=body)
        self.response = response
        self.status_code = response.status_code
        self.request_id = response.headers.get("x-request-id")


class BadRequestError(APIStatusError):
    """400: the server rejected the request."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this."""


class NotFoundError(APIStatusError):
    """404: no such model or endpoint."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the server's state."""


class RequestTooLargeError(APIStatusError):
    """413: the request body is too large."""


class UnprocessableEntityError(APIStatusError):
    """422: the request is well-formed but invalid."""


class RateLimitError(APIStatusError):
    """429: too many requests, or the quota is used up."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class APIConnectionError(APIError):
    """The server could not be reached, or the connection broke."""

    def __init__(
        self,
        message: str = "connection error",
        *,
        request: httpx.Request | None = None,
        body: object | None = None,
    ) -> None:
        super().__init__(message, request=request, body=body)


class APITimeoutError(APIConnectionError):
    """A connect, read or overall deadline passed."""

    def __init__(
        self,
        message: str = "request timed out",
        *,
        request: httpx.Request | None = None,
        body: object | None = None,
    ) -> None:
        super().__init__(message, request=request, body=body)


class ProxyConnectionError(APIConnectionError):
    """The proxy (from ``HTTPS_PROXY``, ``HTTP_PROXY`` or ``ALL_PROXY``) could not be reached
    or refused the connection; ``proxy`` is its URL with any credentials masked."""

    def __init__(self, message: str, *, proxy: str, request: httpx.Request | None = None):
        super().__init__(message, request=request)
        self.proxy = proxy


class RedirectRefusedError(APIConnectionError):
    """The server answered with a redirect: never followed (nor retried), so the key never
    leaves its origin."""

    def __init__(self, status_code: int, location: str, *, request: httpx.Request | None) -> None:
        super().__init__(
            f"the server redirected ({status_code}) to {location or 'elsewhere'}; "
            "redirects are not followed",
            request=request,
        )


class StreamError(APIError):
    """The answer could not be used: malformed event stream or chunk.

    ``partial`` holds the text of the answer received before the failure.
    """

    partial: str

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        body: object | None = None,
        partial: str = "",
    ) -> None:
        super().__init__(message, request=request, body=body)
        self.partial = partial


class ServerStreamError(StreamError):
    """The server reported an error inside the stream."""


class APIResponseValidationError(StreamError):
    """The server answered 2xx with something that is not the API's object (a model list
    that is not a list, a completion that is not a JSON object)."""

    response: httpx.Response | None
    status_code: int | None

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response | None = None,
        body: object | None = None,
    ) -> None:
        super().__init__(message, request=response.request if response else None, body=body)
        self.response = response
        self.status_code = response.status_code if response is not None else None


class IncompleteStreamError(StreamError):
    """The stream ended before the model finished.

    ``reason`` says why: ``"eof"`` (the server closed cleanly too early), ``"network"`` (the
    connection broke) or ``"timeout"`` (a deadline passed).
    """

    reason: Literal["eof", "network", "timeout"]

    def __init__(
        self,
        message: str,
        *,
        partial: str = "",
        reason: Literal["eof", "network", "timeout"] = "eof",
        request: httpx.Request | None = None,
    ) -> None:
        super().__init__(message, request=request, partial=partial)
        self.reason = reason


class StreamTimeoutError(IncompleteStreamError, APITimeoutError):
    """A deadline (first content, idle, total) passed mid-answer: ``except APITimeoutError``
    catches it as it catches a connect timeout, and ``partial`` keeps what came."""

    def __init__(
        self, message: str, *, partial: str = "", request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, partial=partial, reason="timeout", request=request)


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The error class for an HTTP status."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status_code, APIStatusError)


def _error_object(body: object) -> dict[str, Any]:
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            return inner
        return body
    return {}


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
