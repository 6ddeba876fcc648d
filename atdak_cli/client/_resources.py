"""``client.chat.completions`` and ``client.models``: the API's endpoints."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal, overload

import httpx

from atdak_cli.client._errors import StreamError
from atdak_cli.client._streaming import Stream
from atdak_cli.client._timeouts import Deadline, Watchdog

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from atdak_cli.client._client import AtdakClient
    from atdak_cli.client._completion import ChatCompletion
    from atdak_cli.client._models import ModelList


class Completions:
    """``POST /chat/completions``."""

    def __init__(self, client: AtdakClient) -> None:
        self._client = client

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Iterable[Mapping[str, Any]],
        stream: Literal[True],
        temperature: float | None = ...,
        max_tokens: int | None = ...,
        top_p: float | None = ...,
        frequency_penalty: float | None = ...,
        presence_penalty: float | None = ...,
        extra_body: Mapping[str, Any] | None = ...,
    ) -> Stream: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Iterable[Mapping[str, Any]],
        stream: Literal[False] = ...,
        temperature: float | None = ...,
        max_tokens: int | None = ...,
        top_p: float | None = ...,
        frequency_penalty: float | None = ...,
        presence_penalty: float | None = ...,
        extra_body: Mapping[str, Any] | None = ...,
    ) -> ChatCompletion: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Iterable[Mapping[str, Any]],
        stream: bool,
        temperature: float | None = ...,
        max_tokens: int | None = ...,
        top_p: float | None = ...,
        frequency_penalty: float | None = ...,
        presence_penalty: float | None = ...,
        extra_body: Mapping[str, Any] | None = ...,
    ) -> ChatCompletion | Stream: ...

    def create(
        self,
        *,
        model: str,
        messages: Iterable[Mapping[str, Any]],
        stream: bool = False,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ChatCompletion | Stream:
        """Ask for an answer; with ``stream=True`` get its chunks as they are generated.

        Parameters left as ``None`` are not sent, so the server's defaults apply.
        """
        body: dict[str, Any] = {"model": model, "messages": [dict(m) for m in messages]}
        optional = {
            "temperature": temperature,
            "max_tokens": max_tokens,
            "top_p": top_p,
            "frequency_penalty": frequency_penalty,
            "presence_penalty": presence_penalty,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if stream:
            body["stream"] = True
        body.update(extra_body or {})
        client = self._client
        deadline = Deadline(client.timeout.total)
        response = client.send(
            "POST", "/chat/completions", body=body, deadline=deadline, stream=stream
        )
        result = Stream(response, timeout=client.timeout, deadline=deadline, redact=client.redact)
        if stream:
            return result
        return _read_completion(result)


def _read_completion(stream: Stream) -> ChatCompletion:
    """A non-streamed answer; a server that streams anyway is assembled transparently."""
    from atdak_cli.client._completion import ChatCompletion  # not needed by streamed answers

    with stream:
        for _ in stream:
            pass
    if stream.json_body is not None:
        return ChatCompletion.from_dict(stream.json_body)
    return stream.to_completion()


class Chat:
    """``client.chat``: groups ``completions`` as the API page does."""

    def __init__(self, client: AtdakClient) -> None:
        self.completions = Completions(client)


class Models:
    """``GET /models``."""

    def __init__(self, client: AtdakClient) -> None:
        self._client = client

    def list(self) -> ModelList:
        from atdak_cli.client._models import ModelList

        client = self._client
        deadline = Deadline(client.timeout.total)
        response = client.send("GET", "/models", body=None, deadline=deadline, stream=False)
        watchdog = Watchdog(response)
        watchdog.arm(deadline.remaining(), "total")
        try:
            raw = response.read()
        except httpx.HTTPError as exc:
            raise StreamError(f"the model list could not be read ({exc})") from exc
        finally:
            watchdog.disarm()
            response.close()
        try:
            body = json.loads(raw)
        except ValueError:
            raise StreamError("the server's model list is not JSON") from None
        try:
            return ModelList.parse(body)
        except ValueError as exc:
            raise StreamError(
                f"the server's answer to GET /models is not a model list ({exc})"
            ) from None
