"""Server-sent events decoded from bytes, following the WHATWG event-stream rules.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
Lines end at CR, LF or CRLF only: never ``str.splitlines`` or httpx ``iter_lines``, which
also split on U+2028/U+2029/U+0085, characters that are legal inside JSON strings.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_LINE_END = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event."""

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
            events.extend(self._line(self._pending))
            self._pending = ""
        events.extend(self._line(""))
        return events

    def _lines(self, text: str, *, final: bool) -> list[ServerSentEvent]:
        if self._at_start and text:
            self._at_start = False
            text = text.removeprefix(_BOM)
        buffer = self._pending + text
        events: list[ServerSentEvent] = []
        start = 0
        for match in _LINE_END.finditer(buffer):
            # A CR at the very end may be the first half of a CRLF split across chunks.
            if match.end() == len(buffer) and match.group() == "\r" and not final:
                break
            events.extend(self._line(buffer[start : match.start()]))
            start = match.end()
        self._pending = buffer[start:]
        return events

    def _line(self, line: str) -> list[ServerSentEvent]:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return []
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
        return []

    def _dispatch(self) -> list[ServerSentEvent]:
        # WHATWG: a block with no data field (only event:/id:/retry:) is not dispatched.
        if not self._data:
            self._event = ""
            return []
        event = ServerSentEvent(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self._last_id,
            retry=self._retry,
        )
        self._data = []
        self._event = ""
        return [event]


def iter_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Events of a whole byte stream."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()
