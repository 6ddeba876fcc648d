"""Streamed Markdown on a terminal, append-only (design.md §6).

Each completed block (see :mod:`atdak_cli.render.blocks`) is rendered once with rich and
printed permanently into the scrollback. Only the unfinished tail block lives in a small live
region below it, redrawn at most ``refresh_per_second`` times a second (the latest state wins)
by moving the cursor up over it and clearing to the end of the screen. The cost of a delta
therefore depends on the tail, never on the length of the answer — unlike ``rich.live.Live``,
which re-renders everything on every refresh.

The live region is never taller than the screen minus one line: a region that scrolls off the
top cannot be erased, which is how rich's ``Live`` leaves duplicated lines in the scrollback
(Textualize/rich#3263). A taller tail shows its last lines until it completes; then all of it
is printed permanently.

Resize: the size is re-read (``size``) before every draw. Blocks printed afterwards use the new
width. Erasing a region drawn at the old width assumes the terminal reflows its lines when it
gets narrower (VTE, kitty, iTerm2, WezTerm, Windows Terminal, tmux); lines are drawn without
their trailing padding so that reflow only touches lines with real text beyond the new width.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, ClassVar, Literal

from markdown_it import MarkdownIt
from rich.color import ColorSystem
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.markdown import Markdown, MarkdownElement, TableElement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from atdak_cli.render.blocks import BlockSplitter, live_window, split_blocks
from atdak_cli.render.plain import ReasoningEcho


class _TableElement(TableElement):
    """rich's Markdown table, laid out directly when every cell fits on one line at its
    natural width: rich's Table measures and renders each cell through several passes
    (1.1 ms a table against 0.5 ms; tables were a third of rendering speed.py's long
    answer). The layout is
    rich's own (SIMPLE box: one space of edge, two between columns, a rule under the
    header); anything else (a table too wide, a cell of several lines) is left to rich."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows = self._rows()
        widths = _column_widths(rows)
        inner = sum(widths) + 2 * (len(widths) - 1) if widths else 0
        if not widths or inner + 2 > options.max_width:
            yield from super().__rich_console__(console, options)
            return
        header = console.get_style("markdown.table.header")
        has_header = bool(self.header and self.header.row)
        yield Text("")  # the box's top edge, blank
        for index, row in enumerate(rows):
            line = Text(" ", no_wrap=True, overflow="ignore")
            for column, (content, width) in enumerate(zip(row, widths, strict=True)):
                cell = content.copy()
                if index == 0 and has_header:
                    cell.stylize(header)
                cell.align(_ALIGN.get(cell.justify or "", "left"), width)
                line.append_text(Text("  ") + cell if column else cell)
            yield line
            if index == 0 and has_header:
                yield Text(" " + "─" * inner, style="markdown.table.border", no_wrap=True)
        yield Text("")  # and its bottom edge

    def _rows(self) -> list[list[Text]]:
        rows = [self.header.row] if self.header and self.header.row else []
        rows += self.body.rows if self.body else []
        return [[cell.content for cell in row.cells] for row in rows]


_ALIGN: dict[str, Literal["center", "right"]] = {"center": "center", "right": "right"}


def _column_widths(rows: list[list[Text]]) -> list[int]:
    """Each column's width, or none when the table is not a plain grid of one-line cells."""
    count = len(rows[0]) if rows else 0
    if not count or any(len(row) != count or any("\n" in c.plain for c in row) for row in rows):
        return []
    return [max(row[column].cell_len for row in rows) for column in range(count)]


class _BlockMarkdown(Markdown):
    """rich's Markdown with one shared parser. rich builds a MarkdownIt per instance
    (~0.35 ms, 12% of rendering a long answer) and we make one per block and per redraw."""

    _parser = MarkdownIt().enable("strikethrough").enable("table")
    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "table_open": _TableElement,
    }

    def __init__(self, markup: str, *, code_theme: str) -> None:
        # The attributes rich's own __init__ sets, without its parser.
        self.markup = markup
        self.parsed = self._parser.parse(markup)
        self.code_theme = code_theme
        self.justify = None
        self.style = "none"
        self.hyperlinks = False
        self.inline_code_lexer = None
        self.inline_code_theme = code_theme


if TYPE_CHECKING:
    from atdak_cli.terminal import Terminal

ColorName = Literal["truecolor", "256"]
Clock = Callable[[], float]
SizeProvider = Callable[[], tuple[int, int]]
# schedule(delay, callback) -> cancel: runs ``callback`` once after ``delay`` seconds.
Scheduler = Callable[[float, Callable[[], None]], Callable[[], None]]

HIDE_CURSOR = "\x1b[?25l"
SHOW_CURSOR = "\x1b[?25h"
_COLOR_SYSTEMS: dict[ColorName, ColorSystem] = {
    "truecolor": ColorSystem.TRUECOLOR,
    "256": ColorSystem.EIGHT_BIT,
}


class Kind(Enum):
    """Reasoning is shown dimmed before the answer; the answer is Markdown."""

    REASONING = "reasoning"
    ANSWER = "answer"


@dataclass(frozen=True)
class Line:
    """One screen row: its escape-coded text and its width in cells."""

    ansi: str
    cells: int


_GAP = Line("", 0)


class BlockPainter:
    """Renders one block's source to screen lines at a given width."""

    def __init__(self, *, color_system: ColorName | None, code_theme: str = "ansi_dark") -> None:
        self._color_system = _COLOR_SYSTEMS[color_system] if color_system else None
        self._rich_color_system = color_system
        self._code_theme = code_theme
        self._consoles: dict[int, tuple[Console, ConsoleOptions]] = {}

    def lines(self, kind: Kind, text: str, width: int) -> list[Line]:
        console, options = self._console(width)
        rows = console.render_lines(self._renderable(kind, text), options, pad=False)
        lines = [self._line(row) for row in rows]
        return lines if kind is Kind.REASONING else _trim_blank_edges(lines)

    def _renderable(self, kind: Kind, text: str) -> RenderableType:
        if kind is Kind.REASONING:
            return Text(text, style="dim italic")
        return _BlockMarkdown(text, code_theme=self._code_theme)

    def _line(self, segments: list[Segment]) -> Line:
        visible = _strip_padding(segments)
        ansi = "".join(self._paint(segment) for segment in visible)
        return Line(ansi, Segment.get_line_length(visible))

    def _paint(self, segment: Segment) -> str:
        if segment.control:
            return ""
        if segment.style is None:
            return segment.text
        return segment.style.render(segment.text, color_system=self._color_system)

    def _console(self, width: int) -> tuple[Console, ConsoleOptions]:
        made = self._consoles.get(width)
        if made is None:
            console = Console(
                file=io.StringIO(),
                width=width,
                force_terminal=True,
                color_system=self._rich_color_system,
                no_color=self._rich_color_system is None,
                highlight=False,
                markup=False,
                emoji=False,
                legacy_windows=False,
            )
            made = self._consoles[width] = (console, console.options)
        return made


def _invisible(style: Style | None) -> bool:
    return style is None or not (style.bgcolor or style.reverse or style.underline or style.strike)


def _strip_padding(segments: list[Segment]) -> list[Segment]:
    """Drop trailing blanks that show nothing, so the terminal sees only the real text."""
    kept = list(segments)
    while kept and _invisible(kept[-1].style) and not kept[-1].control:
        last = kept.pop()
        text = last.text.rstrip(" ")
        if text:
            kept.append(Segment(text, last.style))
            break
    return kept


def _trim_blank_edges(lines: list[Line]) -> list[Line]:
    start, end = 0, len(lines)
    while start < end and lines[start].cells == 0:
        start += 1
    while end > start and lines[end - 1].cells == 0:
        end -= 1
    return lines[start:end]


class Transcript:
    """What has been printed permanently: decides the blank line between blocks."""

    def __init__(self, painter: BlockPainter) -> None:
        self._painter = painter
        self._last: Kind | None = None

    def preview(self, kind: Kind, text: str, width: int) -> list[Line]:
        """The lines ``text`` would print next, without recording it."""
        if not text.strip() and kind is Kind.ANSWER:
            return []
        return self._gap(kind) + self._painter.lines(kind, text, width)

    def print(self, kind: Kind, text: str, width: int) -> list[Line]:
        """The lines to print ``text`` permanently."""
        lines = self.preview(kind, text, width)
        if lines:
            self._last = kind
        return lines

    def _gap(self, kind: Kind) -> list[Line]:
        if self._last is None or (kind is Kind.REASONING and self._last is Kind.REASONING):
            return []
        return [_GAP]


def render_answer(
    text: str,
    *,
    width: int,
    color_system: ColorName | None,
    reasoning: str = "",
    code_theme: str = "ansi_dark",
) -> str:
    """The complete answer printed at once: what streaming it must leave on the screen."""
    transcript = Transcript(BlockPainter(color_system=color_system, code_theme=code_theme))
    lines: list[Line] = []
    for line in reasoning.removesuffix("\n").split("\n") if reasoning else []:
        lines += transcript.print(Kind.REASONING, line, width)
    for block in split_blocks(text):
        lines += transcript.print(Kind.ANSWER, block, width)
    return _text(lines)


def _text(lines: Iterable[Line]) -> str:
    return "".join(line.ansi + "\n" for line in lines)


def _rows_after_resize(cells: list[int], *, old: int, new: int) -> int:
    """Rows a region of lines occupies once a reflowing terminal narrows from old to new."""
    if new >= old:
        return len(cells)
    return sum(max(1, -(-count // new)) for count in cells)


def default_color_system(terminal: Terminal) -> ColorName | None:
    """None without colour; truecolor where the terminal says so (COLORTERM), else 256."""
    if not terminal.color:
        return None
    return "truecolor" if os.environ.get("COLORTERM") in ("truecolor", "24bit") else "256"


def _thread_scheduler(delay: float, callback: Callable[[], None]) -> Callable[[], None]:
    timer = threading.Timer(delay, callback)
    timer.daemon = True
    timer.start()
    return timer.cancel


def _size_provider(terminal: Terminal) -> SizeProvider:
    if not terminal.stdout_isatty:
        return lambda: (terminal.width, 24)

    def size() -> tuple[int, int]:
        columns, lines = shutil.get_terminal_size((terminal.width, 24))
        return columns, lines

    return size


class MarkdownRenderer:
    """Renders streamed Markdown append-only with one small live region for the tail."""

    def __init__(
        self,
        terminal: Terminal,
        *,
        clock: Clock = time.monotonic,
        size: SizeProvider | None = None,
        schedule: Scheduler = _thread_scheduler,
        refresh_per_second: float = 30.0,
        color_system: ColorName | None = None,
        code_theme: str = "ansi_dark",
    ) -> None:
        self._out = terminal.stdout
        self._initial_width = terminal.width
        self._painter = BlockPainter(
            color_system=color_system or default_color_system(terminal), code_theme=code_theme
        )
        self._clock = clock
        self._size = size or _size_provider(terminal)
        self._schedule = schedule
        self._interval = 1.0 / refresh_per_second
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._width = self._initial_width
        self._transcript = Transcript(self._painter)
        self._splitter = BlockSplitter()
        self._reasoning = ""
        self._answer_started = False
        self._live: list[Line] = []
        self._pending: list[tuple[Kind, str]] = []
        self._next_draw = float("-inf")
        self._dirty = False
        self._cancel_timer: Callable[[], None] | None = None
        self._cursor_hidden = False
        self._closed = False

    def start(self) -> None:
        with self._lock:
            self._cancel()
            self._reset()

    def flush(self) -> None:
        """Nothing to do: the live region is drawn on its own schedule."""

    def feed(self, text: str) -> None:
        with self._lock:
            if self._closed or not text:
                return
            blocks = self._begin_answer()
            blocks += [(Kind.ANSWER, block) for block in self._splitter.feed(text)]
            self._update(blocks)

    def feed_reasoning(self, text: str) -> None:
        # Reasoning after the answer has begun would have to interrupt the answer's tail
        # block; it is not shown (the turn keeps it in history).
        with self._lock:
            if self._closed or self._answer_started or not text:
                return
            *lines, self._reasoning = (self._reasoning + text).split("\n")
            self._update([(Kind.REASONING, line) for line in lines])

    def finish(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cancel()
            try:
                blocks, self._pending = self._pending + self._begin_answer(), []
                blocks += [(Kind.ANSWER, block) for block in self._splitter.finish()]
                self._write(self._erase(self._size()[0]) + self._print(blocks))
            finally:
                self._restore_cursor()

    def abort(self) -> None:
        """Ctrl-C or an error: the tail so far is printed as final, the terminal left clean."""
        self.finish()

    def _begin_answer(self) -> list[tuple[Kind, str]]:
        if self._answer_started:
            return []
        self._answer_started = True
        reasoning, self._reasoning = self._reasoning, ""
        return [(Kind.REASONING, reasoning)] if reasoning else []

    def _update(self, blocks: list[tuple[Kind, str]]) -> None:
        # Completed blocks wait for the next draw too: a burst of text completes hundreds of
        # blocks, and each draw also renders the tail.
        self._pending += blocks
        now = self._clock()
        if now >= self._next_draw:
            pending, self._pending = self._pending, []
            self._draw(pending)
            return
        self._dirty = True
        if self._cancel_timer is None:
            self._cancel_timer = self._schedule(self._next_draw - now, self._on_timer)

    def _on_timer(self) -> None:
        with self._lock:
            self._cancel_timer = None
            if (self._dirty or self._pending) and not self._closed:
                pending, self._pending = self._pending, []
                self._draw(pending)

    def _draw(self, blocks: list[tuple[Kind, str]]) -> None:
        columns, rows = self._size()
        drawn, resized = self._live, columns != self._width
        erase = self._erase(columns)
        permanent = self._print(blocks)
        live = self._tail_lines(rows)[-(rows - 1) :] if rows > 1 else []
        self._next_draw = self._clock() + self._interval
        self._dirty = False
        if not blocks and not resized and live == drawn:
            self._live = drawn
            return
        cursor = HIDE_CURSOR if live and not self._cursor_hidden else ""
        self._write(erase + permanent + cursor + _text(live))
        self._cursor_hidden = self._cursor_hidden or bool(cursor)
        self._live = live

    def _erase(self, columns: int) -> str:
        """Moves to the top of the live region and clears it; adopts the new width."""
        rows = _rows_after_resize([line.cells for line in self._live], old=self._width, new=columns)
        self._width, self._live = columns, []
        return f"\x1b[{rows}F\x1b[J" if rows else ""

    def _print(self, blocks: list[tuple[Kind, str]]) -> str:
        lines: list[Line] = []
        for kind, text in blocks:
            lines += self._transcript.print(kind, text, self._width)
        return _text(lines)

    def _tail_lines(self, rows: int) -> list[Line]:
        if self._answer_started:
            tail = live_window(self._splitter.tail(), rows)
            return self._transcript.preview(Kind.ANSWER, tail, self._width)
        if not self._reasoning:
            return []
        return self._transcript.preview(Kind.REASONING, self._reasoning, self._width)

    def _write(self, text: str) -> None:
        if text:
            self._out.write(text)
            self._out.flush()

    def _restore_cursor(self) -> None:
        if self._cursor_hidden:
            self._cursor_hidden = False
            self._write(SHOW_CURSOR)

    def _cancel(self) -> None:
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None


class MarkdownPrinter:
    """Markdown into a pipe or a file: each block printed once, when it is complete, at the
    terminal's width (``COLUMNS``, else 80). No live region, so no cursor control: a file
    cannot be redrawn. Reasoning goes where plain mode puts it (:class:`ReasoningEcho`)."""

    def __init__(
        self,
        terminal: Terminal,
        *,
        color_system: ColorName | None = None,
        code_theme: str = "ansi_dark",
    ) -> None:
        self._terminal = terminal
        self._painter = BlockPainter(
            color_system=color_system or default_color_system(terminal), code_theme=code_theme
        )
        self._reasoning = ReasoningEcho(terminal)
        self.start()

    def start(self) -> None:
        self._transcript = Transcript(self._painter)
        self._splitter = BlockSplitter()

    def feed(self, text: str) -> None:
        if text:
            self._reasoning.close()
            self._print(self._splitter.feed(text))

    def feed_reasoning(self, text: str) -> None:
        self._reasoning.feed(text)

    def flush(self) -> None:
        self._terminal.stdout.flush()

    def finish(self) -> None:
        self._reasoning.close()
        self._print(self._splitter.finish())
        self.flush()

    def abort(self) -> None:
        self.finish()

    def _print(self, blocks: list[str]) -> None:
        lines: list[Line] = []
        for block in blocks:
            lines += self._transcript.print(Kind.ANSWER, block, self._terminal.width)
        if lines:
            self._terminal.stdout.write(_text(lines))
