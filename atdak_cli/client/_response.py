"""Raw responses: ``with_raw_response`` (headers, status and ``.parse()``) and
``with_streaming_response`` (the same, the body read only when asked for), as openai-python
names them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import httpx

__all__ = [
    "APIResponse",
    "AsyncAPIResponse",
    "AsyncResponseContextManager",
    "LegacyAPIResponse",
    "ResponseContextManager",
]

_R = TypeVar("_R")


class _ResponseInfo:
    def __init__(self, response: httpx.Response) -> None:
        self.http_response = response

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def url(self) -> httpx.URL:
        return self.http_response.url

    @property
    def http_request(self) -> httpx.Request:
        return self.http_response.request

    @property
    def http_version(self) -> str:
        return self.http_response.http_version

    @property
    def request_id(self) -> str | None:
        """The server's ``x-request-id``."""
        value = self.http_response.headers.get("x-request-id")
        return None if value is None else str(value)


class LegacyAPIResponse(_ResponseInfo, Generic[_R]):
    """What ``with_raw_response`` returns: the HTTP answer (body read, unless streamed) and
    ``parse()``, the object ``create`` would have returned."""

    def __init__(self, response: httpx.Response, parse: Callable[[], _R]) -> None:
        super().__init__(response)
        self._parse = parse
        self._parsed: list[_R] = []

    def parse(self) -> _R:
        if not self._parsed:
            self._parsed.append(self._parse())
        return self._parsed[0]

    @property
    def content(self) -> bytes:
        return self.http_response.content

    @property
    def text(self) -> str:
        return self.http_response.text

    def json(self) -> Any:
        return json.loads(self.http_response.content)


class APIResponse(_ResponseInfo, Generic[_R]):
    """``with_streaming_response``'s answer: headers now, the body when asked for."""

    def __init__(self, response: httpx.Response, parse: Callable[[], _R]) -> None:
        super().__init__(response)
        self._parse = parse

    def parse(self) -> _R:
        return self._parse()

    def read(self) -> bytes:
        return self.http_response.read()

    def text(self) -> str:
        self.read()
        return self.http_response.text

    def json(self) -> Any:
        return json.loads(self.read())

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return self.http_response.iter_bytes(chunk_size)

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        return self.http_response.iter_text(chunk_size)

    def iter_lines(self) -> Iterator[str]:
        return self.http_response.iter_lines()

    def close(self) -> None:
        self.http_response.close()


class AsyncAPIResponse(_ResponseInfo, Generic[_R]):
    """The async ``with_streaming_response``'s answer."""

    def __init__(self, response: httpx.Response, parse: Callable[[], Awaitable[_R]]) -> None:
        super().__init__(response)
        self._parse = parse

    async def parse(self) -> _R:
        return await self._parse()

    async def read(self) -> bytes:
        return await self.http_response.aread()

    async def text(self) -> str:
        await self.read()
        return self.http_response.text

    async def json(self) -> Any:
        return json.loads(await self.read())

    def iter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        return self.http_response.aiter_bytes(chunk_size)

    def iter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        return self.http_response.aiter_text(chunk_size)

    def iter_lines(self) -> AsyncIterator[str]:
        return self.http_response.aiter_lines()

    async def close(self) -> None:
        await self.http_response.aclose()


class ResponseContextManager(Generic[_R]):
    """``with client.chat.completions.with_streaming_response.create(...) as response:`` sends
    the request on entry and closes the response on exit."""

    def __init__(self, send: Callable[[], APIResponse[_R]]) -> None:
        self._send = send
        self._response: APIResponse[_R] | None = None

    def __enter__(self) -> APIResponse[_R]:
        self._response = self._send()
        return self._response

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._response is not None:
            self._response.close()


class AsyncResponseContextManager(Generic[_R]):
    """The async twin of :class:`ResponseContextManager` (``async with``)."""

    def __init__(self, send: Callable[[], Awaitable[AsyncAPIResponse[_R]]]) -> None:
        self._send = send
        self._response: AsyncAPIResponse[_R] | None = None

    async def __aenter__(self) -> AsyncAPIResponse[_R]:
        self._response = await self._send()
        return self._response

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._response is not None:
            await self._response.close()
