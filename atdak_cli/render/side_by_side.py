"""Several answers at once: columns on a wide terminal, blocks one under another on a narrow
one. Plain text, wrapped by terminal cells (CJK and emoji included); never imports rich.

While the answers stream, a :class:`CompareView` keeps a live region of at most the screen's
height minus two rows (its erase never starts at the top-left cell: tmux copies the screen
into its scrollback then), each pane showing its model, its last lines and how far it got.
When every answer is done, the region is replaced by the whole layout, printed once. Into a
pipe or a file the answers are always stacked: columns are for reading, blocks for tools.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

from atdak_cli.text import cell_width

SizeProvider = Callable[[], tuple[int, int]]
MIN_COLUMN = 30  # narrower than this, answers are stacked
SEPARATOR = " │ "
BOLD, DIM, RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


@dataclass
class Pane:
    """One model's answer as it stands, and the figures under it once it is done."""

    title: str
    text: str = ""
    status: str = "waiting"
    figures: list[str] = field(default_factory=list)


def wrap_words(text: str, width: int) -> list[str]:
    """``text`` wrapped at spaces to ``width`` cells; a word too long is cut; nothing lost
    but the spaces a line break replaces."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += _wrap_paragraph(paragraph, width)
    return lines


def _wrap_paragraph(paragraph: str, width: int) -> list[str]:
    lines, line, used = [], "", 0
    for word in paragraph.split(" "):
        size = cell_width(word)
        if line and used + 1 + size > width:
            lines.append(line)
            line, used = "", 0
        if size > width:
            for piece in _cut(word, width):
                if line:
                    lines.append(line)
                line, used = piece, cell_width(piece)
            continue
        line, used = (f"{line} {word}", used + 1 + size) if line else (word, size)
    return [*lines, line]


def _cut(word: str, width: int) -> list[str]:
    pieces, piece, used = [], "", 0
    for char in word:
        size = cell_width(char)
        if used + size > width and piece:
            pieces.append(piece)
            piece, used = "", 0
        piece, used = piece + char, used + size
    return [*pieces, piece]


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - cell_width(text), 0)


def column_width(count: int, columns: int) -> int | None:
    """Each column's width when ``count`` answers fit side by side, else None (stacked)."""
    if count < 2:
        return None
    # One cell spare: a line as wide as the screen leaves some terminals waiting to wrap.
    width = (columns - 1 - len(SEPARATOR) * (count - 1)) // count
    return width if width >= MIN_COLUMN else None


def layout(
    panes: Sequence[Pane], columns: int, *, bold: bool = True, side_by_side: bool = True
) -> list[str]:
    """Every answer whole, with its figures: side by side if asked and they fit, else
    stacked."""
    width = column_width(len(panes), columns) if side_by_side else None
    if width is None:
        return _stacked(panes, columns, bold=bold)
    cells = [_pane_lines(p, width, bold=bold) for p in panes]
    height = max(len(c) for c in cells)
    rows = []
    for y in range(height):
        parts = [_pad(c[y] if y < len(c) else "", width) for c in cells]
        rows.append(SEPARATOR.join(parts).rstrip())
    return rows


def _pane_lines(pane: Pane, width: int, *, bold: bool, body: list[str] | None = None) -> list[str]:
    title = _cut(pane.title, width)[0]
    head = f"{BOLD}{title}{RESET}" if bold else title
    lines = wrap_words(pane.text.strip("\n"), width) if body is None else body
    return [head, "─" * min(width, max(cell_width(title), 8)), *lines, "", *pane.figures]


def _stacked(panes: Sequence[Pane], columns: int, *, bold: bool) -> list[str]:
    rows: list[str] = []
    for index, pane in enumerate(panes):
        if index:
            rows.append("")
        rows += _pane_lines(pane, columns - 1, bold=bold)
    return rows


def live_layout(panes: Sequence[Pane], columns: int, rows: int) -> list[str]:
    """The streaming view: each pane's title, its last lines and its status, in at most
    ``rows - 2`` rows."""
    budget = max(rows - 2, len(panes) * 2)
    width = column_width(len(panes), columns)
    if width is not None:
        body = max(budget - 2, 1)
        cells = [_live_pane(p, width, body) for p in panes]
        return [SEPARATOR.join(_pad(c[y], width) for c in cells).rstrip() for y in range(body + 2)]
    per_pane = max(budget // len(panes), 2)
    lines: list[str] = []
    for pane in panes:
        lines += _live_pane(pane, columns - 1, per_pane - 2)
    return lines[:budget]


def _live_pane(pane: Pane, width: int, body: int) -> list[str]:
    tail = (
        wrap_words(pane.text[-(body * width + width) :].strip("\n"), width)[-body:] if body else []
    )
    tail += [""] * (body - len(tail))
    status = f"{pane.title} · {pane.status}"
    return [_cut(status, width)[0], *[_cut(t, width)[0] for t in tail], ""][: body + 2]


def _terminal_size() -> tuple[int, int]:
    columns, lines = shutil.get_terminal_size((80, 24))
    return columns, lines


class CompareView:
    """The answers streaming into their panes on a terminal, then the whole layout."""

    def __init__(
        self,
        out: IO[str],
        titles: Sequence[str],
        *,
        live: bool,
        bold: bool = True,
        size: SizeProvider = _terminal_size,
    ) -> None:
        self._out, self._live, self._bold, self._size = out, live, bold, size
        self.panes = [Pane(title) for title in titles]
        self._lock = threading.Lock()
        self._drawn = 0
        self._dirty = False

    def feed(self, index: int, text: str) -> None:
        with self._lock:
            self.panes[index].text += text
            self._dirty = True

    def set_status(self, index: int, status: str) -> None:
        with self._lock:
            self.panes[index].status = status
            self._dirty = True

    def draw(self) -> None:
        """Redraw the live region (from the thread that waits for the answers)."""
        if not self._live:
            return
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            columns, rows = self._size()
            lines = live_layout(self.panes, columns, rows)
            self._write(
                self._erase() + "\x1b[?25l" + "".join(f"{DIM}{ln}{RESET}\n" for ln in lines)
            )
            self._drawn = len(lines)

    def finish(self, figures: Sequence[list[str]]) -> None:
        """Every answer is done: the whole layout, printed once."""
        with self._lock:
            for pane, lines in zip(self.panes, figures, strict=True):
                pane.figures = lines
            columns, _ = self._size()
            lines = layout(self.panes, columns, bold=self._bold, side_by_side=self._live)
            text = "".join(f"{line}\n" for line in lines)
            cursor = "\x1b[?25h" if self._live else ""
            self._write(self._erase() + text + cursor)

    def _erase(self) -> str:
        rows, self._drawn = self._drawn, 0
        return f"\x1b[{rows}F\x1b[J" if rows else ""

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()
