"""Streamed Markdown on a terminal, append-only (design.md §6).

Each completed block (see :mod:`atdak_cli.render.blocks`) is rendered once with rich and
printed permanently into the scrollback. Only the unfinished tail block lives in a small live
region below it, redrawn at most ``refresh_per_second`` times a second (the latest state wins)
by moving the cursor up over it and writing it again. The cost of a delta
therefore depends on the tail, never on the length of the answer — unlike ``rich.live.Live``,
which re-renders everything on every refresh.

The live region is a third of the screen at most (:func:`live_height`) and is redrawn by
clearing each row as it is written over: an erase starting at the top-left cell makes tmux
(``scroll-on-clear``, on by default) copy the whole screen into its history. A region that
scrolls off the top cannot be erased either, which is how rich's ``Live`` leaves duplicated
lines in the scrollback (Textualize/rich#3263). A taller tail shows its last lines until it
completes; a code block's final lines are printed once more than a few wait, so a tall block
streams into the scrollback line by line.

Resize: the size is re-read before every draw, and SIGWINCH triggers one. Blocks printed
afterwards use the new width. Erasing a region drawn at the old width assumes the terminal
re-wraps its lines when it gets narrower (VTE, kitty, iTerm2, WezTerm, Windows Terminal,
tmux, screen); lines are drawn without their trailing padding so that only lines with real
text beyond the new width are re-wrapped, and the small region still fits on the screen.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from types import FrameType
from typing import TYPE_CHECKING, ClassVar, Literal

from markdown_it import MarkdownIt
from rich import box
from rich.cells import get_character_cell_size
from rich.color import ColorSystem
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.markdown import CodeBlock, Markdown, MarkdownElement, TableElement
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

import atdak_cli.render.linebreak as linebreak
from atdak_cli.render.blocks import BlockSplitter, fence_code, live_window, split_blocks
from atdak_cli.render.plain import ReasoningEcho
from atdak_cli.render.waiting import WaitLabel

linebreak.install()  # CJK line breaking in every paragraph, heading, list and table cell


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
            yield self._wrapped_table()
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

    def _wrapped_table(self) -> Table:
        """rich's table, its cells wrapped (folded where a word is longer than the column)
        instead of cut with an ellipsis: a narrow table loses no character."""
        table = Table(
            box=box.SIMPLE,
            pad_edge=False,
            style="markdown.table.border",
            show_edge=True,
            collapse_padding=True,
        )
        if self.header is not None and self.header.row is not None:
            for column in self.header.row.cells:
                heading = column.content.copy()
                heading.stylize("markdown.table.header")
                table.add_column(heading, overflow="fold")
        for row in self.body.rows if self.body is not None else []:
            table.add_row(*(element.content for element in row.cells))
        return table

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


CONTINUED = "↵"  # at the right edge of a code row that the next row continues


class _CodeBlock(CodeBlock):
    """rich's code block (its padding, its highlighting) without word wrapping: rich's wrap
    drops the spaces where it breaks a line. A line too long for the screen is folded at
    the cell instead, a dim :data:`CONTINUED` right after each row that the next continues
    (right after it, not at the edge: no padding to tell from the code's own spaces)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip().split("\n")
        rows = code_rows(code, self.lexer_name, self.theme, options.max_width)
        base = _background(self.theme)
        yield _padded(Text(style=base), options.max_width)
        for line_rows in rows:
            yield from line_rows
        yield _padded(Text(style=base), options.max_width)


def code_rows(code: list[str], lexer: str, theme: str, width: int) -> list[list[Text]]:
    """Each line of ``code``, highlighted (the whole of it at once: a line's colours may
    depend on the lines before it), as the rows it takes at ``width``."""
    highlighted = Syntax("", lexer, theme=theme).highlight("\n".join(code))
    lines = highlighted.split("\n", allow_blank=True)[: len(code)]
    base, room = _background(theme), max(1, width - 2)  # one cell of padding each side
    mark = Text(CONTINUED, style=base + Style(dim=True))
    rows: list[list[Text]] = []
    for line in lines:
        pieces = line.divide(_fold_offsets(line.plain, room)) if line.cell_len > room else [line]
        *continued, last = (Text(" ", style=base) + piece for piece in pieces)
        rows.append([*(_padded(row + mark, width) for row in continued), _padded(last, width)])
    return rows


def _background(theme: str) -> Style:
    return Syntax.get_theme(theme).get_background_style()


def _padded(row: Text, width: int) -> Text:
    """``row`` filled to ``width`` cells in its background; never re-wrapped."""
    row.no_wrap, row.overflow, row.end = True, "ignore", "\n"
    row.pad_right(max(0, width - row.cell_len))
    return row


def _fold_offsets(text: str, room: int) -> list[int]:
    """Where to cut ``text`` into pieces of at most ``room`` cells (at least a character
    each); a character of no width stays with the one before it."""
    offsets, used = [], 0
    for index, char in enumerate(text):
        size = get_character_cell_size(char)
        if used and used + size > room:
            offsets.append(index)
            used = 0
        used += size
    return offsets


class _BlockMarkdown(Markdown):
    """rich's Markdown with one shared parser. rich builds a MarkdownIt per instance
    (~0.35 ms, 12% of rendering a long answer) and we make one per block and per redraw."""

    _parser = MarkdownIt().enable("strikethrough").enable("table")
    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "table_open": _TableElement,
        "fence": _CodeBlock,
        "code_block": _CodeBlock,
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

ColorName = Literal["truecolor", "256", "mono"]
Clock = Callable[[], float]
SizeProvider = Callable[[], tuple[int, int]]
# schedule(delay, callback) -> cancel: runs ``callback`` once after ``delay`` seconds.
Scheduler = Callable[[float, Callable[[], None]], Callable[[], None]]
# watch(callback) -> stop: calls ``callback`` (from a signal handler) when the terminal
# resizes; None if it cannot watch from this thread (try again later).
ResizeWatcher = Callable[[Callable[[], None]], Callable[[], None] | None]

HIDE_CURSOR = "\x1b[?25l"
SHOW_CURSOR = "\x1b[?25h"
CLEAR_LINE = "\x1b[2K"
CLEAR_BELOW = "\x1b[J"
# "mono" (NO_COLOR on a terminal) keeps bold, italic, underline: no-color.org.
_COLOR_SYSTEMS: dict[ColorName, ColorSystem] = {
    "truecolor": ColorSystem.TRUECOLOR,
    "256": ColorSystem.EIGHT_BIT,
    "mono": ColorSystem.STANDARD,
}
_RICH_COLOR_SYSTEMS: dict[ColorName, Literal["truecolor", "256", "standard"]] = {
    "truecolor": "truecolor",
    "256": "256",
    "mono": "standard",
}


class Kind(Enum):
    """Reasoning is shown dimmed before the answer; the answer is Markdown."""

    REASONING = "reasoning"
    ANSWER = "answer"


@dataclass(frozen=True)
class Line:
    """One screen row: its escape-coded text, its width in cells and its characters."""

    ansi: str
    cells: int
    plain: str = ""


_GAP = Line("", 0)


class BlockPainter:
    """Renders one block's source to screen lines at a given width. Without a colour system
    no escape code is written at all (a pipe); "mono" writes styles without colour."""

    def __init__(self, *, color_system: ColorName | None, code_theme: str = "ansi_dark") -> None:
        self._color_system = _COLOR_SYSTEMS[color_system] if color_system else None
        self._rich_color_system = _RICH_COLOR_SYSTEMS[color_system] if color_system else None
        self._mono = color_system == "mono"
        self._code_theme = code_theme
        self._consoles: dict[int, tuple[Console, ConsoleOptions]] = {}
        self._colourless: dict[Style, Style] = {}

    def lines(self, kind: Kind, text: str, width: int) -> list[Line]:
        console, options = self._console(width)
        rows = console.render_lines(self._renderable(kind, text), options, pad=False)
        lines = [self._line(row) for row in rows]
        return lines if kind is Kind.REASONING else _trim_blank_edges(lines)

    def fence_rows(self, opening: str, code: list[str], width: int) -> list[list[Line]]:
        """A fenced code block at the left margin as :meth:`lines` draws it, in groups: the
        padding row above, the rows of each line of ``code``, the padding row below."""
        console, options = self._console(width)
        pad = _padded(Text(style=_background(self._code_theme)), width)
        groups = [[pad], *code_rows(code, _fence_language(opening), self._code_theme, width), [pad]]
        return [
            [self._line(row) for text in group for row in console.render_lines(text, options)]
            for group in groups
        ]

    def _renderable(self, kind: Kind, text: str) -> RenderableType:
        if kind is Kind.REASONING:
            return Text(text, style="dim italic")
        return _BlockMarkdown(text, code_theme=self._code_theme)

    def _line(self, segments: list[Segment]) -> Line:
        visible = _strip_padding(segments)
        ansi = "".join(self._paint(segment) for segment in visible)
        plain = "".join(segment.text for segment in visible if not segment.control)
        return Line(ansi, Segment.get_line_length(visible), plain)

    def _paint(self, segment: Segment) -> str:
        if segment.control:
            return ""
        if segment.style is None or self._color_system is None:
            return segment.text
        style = self._without_colour(segment.style) if self._mono else segment.style
        return style.render(segment.text, color_system=self._color_system)

    def _without_colour(self, style: Style) -> Style:
        made = self._colourless.get(style)
        if made is None:
            made = self._colourless[style] = style.without_color
        return made

    def _console(self, width: int) -> tuple[Console, ConsoleOptions]:
        made = self._consoles.get(width)
        if made is None:
            console = Console(
                file=io.StringIO(),
                width=width,
                force_terminal=True,
                color_system=self._rich_color_system,
                no_color=self._color_system is None or self._mono,
                highlight=False,
                markup=False,
                emoji=False,
                legacy_windows=False,
            )
            made = self._consoles[width] = (console, console.options)
        return made


def _fence_language(opening: str) -> str:
    """The lexer rich's code block uses: the first word of the fence's info string."""
    info = opening.strip()
    info = info.lstrip(info[:1]).strip() if info else ""
    return info.partition(" ")[0] or "text"


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


def _trim_leading_blanks(lines: list[Line]) -> list[Line]:
    start = 0
    while start < len(lines) and lines[start].cells == 0:
        start += 1
    return lines[start:]


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

    def print_start(self, kind: Kind, lines: list[Line]) -> list[Line]:
        """The lines to print the first ``lines`` of a block before it is complete (the
        rest is the caller's to print)."""
        gap = self._gap(kind)
        self._last = kind
        return gap + lines

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


def live_height(rows: int) -> int:
    """The live region's rows on a screen of ``rows``: a third of it. Its erase then never
    starts at the top-left cell (tmux takes that for clearing the screen and copies the
    screen into its history: ``scroll-on-clear``), and it still fits on the screen once the
    terminal re-wraps it for a width a third as wide, so it can be erased after a resize."""
    return max(1, (rows - 1) // 3)


# Lines of a code block the live region holds before they are printed: few enough to be
# erased after narrowing 100 -> 40 columns and 30 -> 10 rows; short blocks are printed whole.
CODE_LIVE_LINES = 3


def _frame(drawn_rows: int, lines: list[Line]) -> str:
    """Redraw from the top of the live region (``drawn_rows`` tall): each row cleared as it
    is written over. The erase below (``ESC[J``) comes only after a written line, so it never
    starts at the top-left cell even when the region started there."""
    up = f"\x1b[{drawn_rows}F" if drawn_rows else ""
    body = "".join(
        (CLEAR_LINE if row < drawn_rows else "") + line.ansi + "\n"
        for row, line in enumerate(lines)
    )
    if lines:
        return up + body + (CLEAR_BELOW if drawn_rows > len(lines) else "")
    if not drawn_rows:
        return ""
    back = f"\x1b[{drawn_rows - 1}A" if drawn_rows > 1 else ""
    return up + CLEAR_LINE + f"\x1b[1B{CLEAR_LINE}" * (drawn_rows - 1) + back


def _rows_after_resize(lines: list[Line], *, old: int, new: int) -> int:
    """Rows a region of lines occupies once a reflowing terminal narrows from old to new."""
    if new >= old:
        return len(lines)
    return sum(1 if line.cells <= new else _reflowed_rows(line.plain, new) for line in lines)


def _reflowed_rows(text: str, width: int) -> int:
    """Rows ``text`` takes re-wrapped at ``width``: a wide character that does not fit at
    the end of a row moves to the next (as tmux, screen and xterm re-wrap)."""
    rows, used = 1, 0
    for char in text:
        size = get_character_cell_size(char)
        if used and used + size > width:
            rows, used = rows + 1, 0
        used += size
    return rows


def _last_non_blank(lines: list[str]) -> int:
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip():
            return index
    return -1


def default_color_system(terminal: Terminal) -> ColorName | None:
    """truecolor where the terminal says so (COLORTERM), else 256; without colour, styles
    only on a terminal that is not dumb ("mono"), and no escape code at all elsewhere."""
    if not terminal.color:
        dumb = os.environ.get("TERM") == "dumb"
        return "mono" if terminal.stdout_isatty and not dumb else None
    return "truecolor" if os.environ.get("COLORTERM") in ("truecolor", "24bit") else "256"


def _thread_scheduler(delay: float, callback: Callable[[], None]) -> Callable[[], None]:
    timer = threading.Timer(delay, callback)
    timer.daemon = True
    timer.start()
    return timer.cancel


def _sigwinch(callback: Callable[[], None]) -> Callable[[], None] | None:
    """Calls ``callback`` on SIGWINCH (chaining to the handler before, prompt_toolkit's say);
    only the main thread can set a signal handler: None elsewhere."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGWINCH)

    def resized(signum: int, frame: FrameType | None) -> None:
        callback()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGWINCH, resized)

    def stop() -> None:
        with contextlib.suppress(ValueError):  # not on the main thread
            signal.signal(signal.SIGWINCH, previous)

    return stop


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
        watch_resize: ResizeWatcher | None = _sigwinch,
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
        self._watch_resize = watch_resize if terminal.stdout_isatty else None
        self._stop_watching: Callable[[], None] | None = None
        self._interval = 1.0 / refresh_per_second
        self._lock = threading.Lock()
        self._waiting = WaitLabel(clock)
        self._cancel_tick: Callable[[], None] | None = None
        self._reset()

    def _reset(self) -> None:
        self._width = self._initial_width
        self._transcript = Transcript(self._painter)
        self._splitter = BlockSplitter()
        self._reasoning = ""
        self._answer_started = False
        self._code_shown = 0  # lines of the unfinished code block already printed
        self._live: list[Line] = []
        self._pending: list[tuple[Kind, str]] = []
        self._next_draw = float("-inf")
        self._dirty = False
        self._cancel_timer: Callable[[], None] | None = None
        self._cursor_hidden = False
        self._closed = False

    def start(self) -> None:
        """A new answer: the wait indicator shows until its first word (or its reasoning)."""
        with self._lock:
            self._cancel()
            self._reset()
            self._waiting.begin()
            self._tick_later()

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
            self._waiting.thinking = True
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
                drawn = self._drawn_rows(self._size()[0])
                self._write(_frame(drawn, self._print(blocks)))
            finally:
                self._restore_cursor()

    def abort(self) -> None:
        """Ctrl-C or an error: the tail so far is printed as final, the terminal left clean."""
        self.finish()

    def _begin_answer(self) -> list[tuple[Kind, str]]:
        if self._answer_started:
            return []
        self._answer_started = True
        if self._waiting.waiting:
            self._waiting.end()
            self._cancel_ticking()
            self._next_draw = float("-inf")  # the indicator goes with the answer's first word
        reasoning, self._reasoning = self._reasoning, ""
        return [(Kind.REASONING, reasoning)] if reasoning else []

    def _update(self, blocks: list[tuple[Kind, str]]) -> None:
        # Completed blocks wait for the next draw too: a burst of text completes hundreds of
        # blocks, and each draw also renders the tail.
        self._pending += blocks
        now = self._clock()
        if now >= self._next_draw:
            self._draw_pending()
            return
        self._dirty = True
        if self._cancel_timer is None:
            self._cancel_timer = self._schedule(self._next_draw - now, self._on_timer)

    def _on_timer(self) -> None:
        with self._lock:
            self._cancel_timer = None
            if (self._dirty or self._pending) and not self._closed:
                self._draw_pending()

    def _resized(self) -> None:
        # From a signal handler, maybe while this thread holds the lock: draw elsewhere.
        self._schedule(0, self._on_resize)

    def _on_resize(self) -> None:
        with self._lock:
            if not self._closed:
                self._draw_pending()

    def _on_tick(self) -> None:
        with self._lock:
            self._cancel_tick = None
            if self._waiting.waiting and not self._closed:
                self._draw_pending()
                self._tick_later()

    def _tick_later(self) -> None:
        delay = self._waiting.next_change()
        if delay is not None and self._cancel_tick is None:
            self._cancel_tick = self._schedule(delay, self._on_tick)

    def _draw_pending(self) -> None:
        pending, self._pending = self._pending, []
        self._draw(pending)

    def _draw(self, blocks: list[tuple[Kind, str]]) -> None:
        if self._watch_resize is not None and self._stop_watching is None:
            self._stop_watching = self._watch_resize(self._resized)
        columns, rows = self._size()
        drawn, resized = self._live, columns != self._width
        drawn_rows = self._drawn_rows(columns)
        height = live_height(rows)
        permanent = self._print(blocks) + self._print_code_ahead()
        live = self._live_lines(height)
        self._next_draw = self._clock() + self._interval
        self._dirty = False
        self._live = live
        if not permanent and not resized and live == drawn:
            return
        cursor = HIDE_CURSOR if live and not self._cursor_hidden else ""
        self._write(cursor + _frame(drawn_rows, permanent + live))
        self._cursor_hidden = self._cursor_hidden or bool(cursor)

    def _drawn_rows(self, columns: int) -> int:
        """The rows the live region takes now; adopts the new width."""
        rows = _rows_after_resize(self._live, old=self._width, new=columns)
        self._width, self._live = columns, []
        return rows

    def _print(self, blocks: list[tuple[Kind, str]]) -> list[Line]:
        lines: list[Line] = []
        for kind, text in blocks:
            if kind is Kind.ANSWER and self._code_shown:
                lines += self._rest_of_code(text)
            else:
                lines += self._transcript.print(kind, text, self._width)
        return lines

    def _print_code_ahead(self) -> list[Line]:
        """The rows of a code block still streaming that can no longer change, printed once
        more than :data:`CODE_LIVE_LINES` of its lines wait: every complete line before the
        last one that is not blank (a block's trailing blank lines are dropped when it ends).
        The live region keeps only the last few lines, so it stays small enough to be erased
        even after the pane shrinks and re-wraps it."""
        fence = self._splitter.open_fence() if self._answer_started else None
        if fence is None or fence[0][0].startswith(" "):
            return []
        (opening, *code), partial = fence
        final, shown = _last_non_blank(code), self._code_shown
        if len(code) - shown <= CODE_LIVE_LINES or final <= shown:
            return []
        groups = self._painter.fence_rows(opening, code[:final], self._width)
        # A lexer may colour a line by what follows it (a fence inside Markdown): only the
        # lines that what has arrived since does not recolour are final.
        later = self._painter.fence_rows(opening, [*code, partial], self._width)
        final = next((n for n in range(shown, final) if groups[1 + n] != later[1 + n]), final)
        if final <= shown:
            return []
        if shown:
            rows = [row for group in groups[1 + shown : final + 1] for row in group]
        else:
            rows = _trim_leading_blanks([row for group in groups[: final + 1] for row in group])
            if not rows:
                return []
            rows = self._transcript.print_start(Kind.ANSWER, rows)
        self._code_shown = final
        return rows

    def _rest_of_code(self, block: str) -> list[Line]:
        """The rows of a finished code block not printed ahead, at today's width."""
        shown, self._code_shown = self._code_shown, 0
        fence = fence_code(block)
        assert fence is not None, "only a code block is printed ahead"
        groups = self._painter.fence_rows(*fence, self._width)
        rows = [row for group in groups[1 + shown :] for row in group]
        while rows and rows[-1].cells == 0:
            rows.pop()
        return rows

    def _live_lines(self, height: int) -> list[Line]:
        label = self._waiting.text()
        room = height - 1 if label else height
        lines = self._tail_lines(room)[-room:] if room > 0 else []
        if label:
            lines += self._painter.lines(Kind.REASONING, label, self._width)[-1:]
        return lines

    def _tail_lines(self, rows: int) -> list[Line]:
        if self._answer_started:
            if self._code_shown:
                return self._code_tail(rows)
            tail = live_window(self._splitter.tail(), rows)
            return self._transcript.preview(Kind.ANSWER, tail, self._width)
        if not self._reasoning:
            return []
        return self._transcript.preview(Kind.REASONING, self._reasoning, self._width)

    def _code_tail(self, rows: int) -> list[Line]:
        """The lines of a code block not printed yet, the partial line last (highlighted on
        their own: a transient view)."""
        fence = self._splitter.open_fence()
        assert fence is not None
        (opening, *code), partial = fence
        lines = [*code[self._code_shown :], partial] if partial else code[self._code_shown :]
        groups = self._painter.fence_rows(opening, lines[-rows:], self._width)
        return [row for group in groups[1:-1] for row in group]

    def _write(self, text: str) -> None:
        if text:
            self._out.write(text)
            self._out.flush()

    def _restore_cursor(self) -> None:
        if self._stop_watching is not None:
            self._stop_watching()
            self._stop_watching = None
        if self._cursor_hidden:
            self._cursor_hidden = False
            self._write(SHOW_CURSOR)

    def _cancel(self) -> None:
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None
        self._cancel_ticking()

    def _cancel_ticking(self) -> None:
        if self._cancel_tick is not None:
            self._cancel_tick()
            self._cancel_tick = None


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
