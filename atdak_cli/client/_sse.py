"""Server-sent events decoded from bytes, following the WHATWG event-stream rules.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
Lines end at CR, LF or CRLF only: never ``str.splitlines`` or httpx ``iter_lines``, which
also split on U+2028/U+2029/U+0085, characters that are legal inside JSON strings.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

_LINE_END = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"


class ServerSentEvent(NamedTuple):
    """One dispatched event (a tuple: made once per chunk, it must be cheap)."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental decoder: feed bytes as they arrive, get the events they complete."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._at_start = True
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk`` and return the events it completes."""
        return self._lines(self._utf8.decode(chunk), final=False)

    def close(self) -> list[ServerSentEvent]:
        """End of stream: an unterminated last line still counts, as servers often omit the
        final blank line after ``data: [DONE]``."""
        events = self._lines(self._utf8.decode(b"", final=True), final=True)
        if self._pending:
            self._line(self._pending, events)
            self._pending = ""
        self._dispatch(events)
        return events

    def _lines(self, text: str, *, final: bool) -> list[ServerSentEvent]:
        if self._at_start and text:
            self._at_start = False
            text = text.removeprefix(_BOM)
        buffer = self._pending + text
        # A CR at the very end may be the first half of a CRLF split across chunks: the line it
        # ends waits, with its CR, until the next chunk says whether an LF follows.
        held = "\r" if buffer.endswith("\r") and not final else ""
        if held:
            buffer = buffer[:-1]
        lines = _LINE_END.split(buffer) if "\r" in buffer else buffer.split("\n")
        self._pending = lines.pop() + held
        events: list[ServerSentEvent] = []
        for line in lines:
            self._line(line, events)
        return events

    def _line(self, line: str, events: list[ServerSentEvent]) -> None:
        if not line:
            self._dispatch(events)
        elif line.startswith("data:"):
            self._data.append(line[6:] if line.startswith("data: ") else line[5:])
        elif not line.startswith(":"):
            self._field(line)

    def _field(self, line: str) -> None:
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        # WHATWG: a block with no data field (only event:/id:/retry:) is not dispatched.
        if self._data:
            data = self._data[0] if len(self._data) == 1 else "\n".join(self._data)
            events.append(
                ServerSentEvent(data, self._event or "message", self._last_id, self._retry)
            )
            self._data = []
        self._event = ""


def iter_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Events of a whole byte stream."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()
