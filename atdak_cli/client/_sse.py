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
# An event id longer than this is ignored (WHATWG sets no bound; memory must have one).
MAX_ID_LENGTH = 1024


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
        # The unterminated last line, in the pieces it came in: joined once, when its line
        # ends (joining on every read is quadratic in the reads of one long line).
        self._pending: list[str] = []
        self._at_start = True
        # The last line ended with a CR: an LF starting the next read is the rest of a CRLF.
        self._after_cr = False
        self._data: list[str] = []
        self._error: str | None = None
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk`` and return the events it completes."""
        return self._lines(self._utf8.decode(chunk))

    def close(self) -> list[ServerSentEvent]:
        """End of stream: an unterminated last line still counts, as servers often omit the
        final blank line after ``data: [DONE]``."""
        events = self._lines(self._utf8.decode(b"", final=True))
        if self._pending:
            self._line("".join(self._pending), events)
            self._pending = []
        self._dispatch(events)
        return events

    def _lines(self, text: str) -> list[ServerSentEvent]:
        if not text:
            return []
        if self._at_start:
            self._at_start = False
            text = text.removeprefix(_BOM)
        if self._after_cr:
            self._after_cr = False
            text = text.removeprefix("\n")
        # A CR ends its line at once (a server framing with CR alone must not wait a read);
        # the LF of a CRLF split across reads is skipped when it arrives.
        end = max(text.rfind("\n"), text.rfind("\r"))
        if end < 0:
            if text:
                self._pending.append(text)
            return []
        complete, rest = text[: end + 1], text[end + 1 :]
        # Only a CR that ends the read can be half of a CRLF: after text, an LF ends a line.
        self._after_cr = text[end] == "\r" and not rest
        if self._pending:
            self._pending.append(complete)
            complete = "".join(self._pending)
        self._pending = [rest] if rest else []
        lines = _LINE_END.split(complete) if "\r" in complete else complete.split("\n")
        lines.pop()  # the empty string after the last line end
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
        elif name == "error":
            # llama.cpp's legacy in-band error (``error: {"message": ...}``): not a WHATWG
            # field, but dropping it would turn a failed answer into a silent success.
            self._error = value
        elif name == "id" and "\0" not in value and len(value) <= MAX_ID_LENGTH:
            self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit() and len(value) <= 18:
            # Bounded before int(): Python refuses to convert more than 4300 digits.
            self._retry = int(value)

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        # WHATWG: a block with no data field (only event:/id:/retry:) is not dispatched.
        if self._data:
            data = self._data[0] if len(self._data) == 1 else "\n".join(self._data)
            events.append(
                ServerSentEvent(data, self._event or "message", self._last_id, self._retry)
            )
            self._data = []
        if self._error is not None:
            # After the block's data: what the server sent before failing is kept.
            events.append(ServerSentEvent(self._error, "error", self._last_id, self._retry))
            self._error = None
        self._event = ""


def iter_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Events of a whole byte stream."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()
