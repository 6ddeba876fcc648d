"""Replies for the fault tests that ``api_server`` has no builder for: hand-written event
streams (any bytes, in any order) and small helpers to spell chunks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tests.utils.api_server import CREATED, Exchange, Headers, Reply


def chunk(
    content: str | None = None,
    *,
    index: int = 0,
    finish: str | None = None,
    choices: list[Any] | None = None,
    **delta: Any,
) -> str:
    """One ``data:`` line of a ``chat.completion.chunk``; ``content=None`` leaves it out."""
    if content is not None:
        delta["content"] = content
    if choices is None:
        choices = [{"index": index, "delta": delta, "finish_reason": finish}]
    obj = {
        "id": "chatcmpl-x",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": "atdak-gpt-4",
        "choices": choices,
    }
    return "data: " + json.dumps(obj, ensure_ascii=False)


def finish(reason: str = "stop") -> str:
    return chunk(finish=reason)


DONE = "data: [DONE]"


def sse(
    *events: str | bytes,
    content_type: str = "text/event-stream",
    end: bool = True,
    headers: Headers | None = None,
    status: int = 200,
) -> Reply:
    """A chunked event stream of exactly these events (a ``str`` is framed with a blank line;
    ``bytes`` go out as they are). ``end=False`` closes the connection without the final
    zero-length chunk (a truncated body)."""

    def send(ex: Exchange) -> None:
        ex.start_chunked(status, content_type, headers)
        for event in events:
            ex.write_chunk(event if isinstance(event, bytes) else (event + "\n\n").encode())
        if end:
            ex.end_chunks()
        else:
            ex.close()

    return Reply(send, "sse")


def body(
    data: bytes, *, content_type: str | None = "text/event-stream", status: int = 200
) -> Reply:
    """A whole body with a Content-Length."""
    return Reply(lambda ex: ex.send_full(status, data, content_type), "body")


def answer(*deltas: str, reason: str = "stop") -> list[str]:
    """The events of a well-formed answer, for composing with faulty ones."""
    return [chunk("", role="assistant"), *[chunk(d) for d in deltas], finish(reason), DONE]


def events_text(events: Sequence[str]) -> bytes:
    return "".join(e + "\n\n" for e in events).encode()
