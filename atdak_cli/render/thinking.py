"""Where a model's thinking is shown: dimmed on a terminal and collapsed once the answer
starts, never on stdout otherwise, and copied wherever ``--reasoning-to`` says.

:class:`ReasoningRouter` wraps the answer's renderer. The renderer below it gets the answer;
the thinking goes

- on a terminal rendering Markdown, to a :class:`ThinkingView`: the last few lines under a
  "thinking… 4 s" header in a small live region (never taller than ``MAX_LINES`` + 1, so its
  erase never starts at the screen's top-left cell, which tmux copies into its scrollback),
  replaced by one dimmed line "thought for 12 s" when the answer starts; with ``show_all``
  the thinking is kept, written dimmed as it arrives;
- otherwise (a pipe, a dumb terminal), to the renderer below, which keeps it off stdout
  (:class:`atdak_cli.render.plain.ReasoningEcho`);
- and in every case to ``sink`` (``--reasoning-to FILE|stderr``), as it came.

This module never imports rich (it is on the path of ``complete`` into a pipe).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING

from atdak_cli.text import cell_width

if TYPE_CHECKING:
    from atdak_cli.render import Renderer
    from atdak_cli.terminal import Terminal

Clock = Callable[[], float]
SizeProvider = Callable[[], tuple[int, int]]

DIM, RESET = "\x1b[2;3m", "\x1b[0m"
HIDE_CURSOR, SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"
MAX_LINES = 6
REFRESH_INTERVAL = 1 / 30


def _terminal_size() -> tuple[int, int]:
    columns, lines = shutil.get_terminal_size((80, 24))
    return columns, lines


def format_seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def wrap_cells(text: str, width: int) -> list[str]:
    """``text`` cut into screen lines of at most ``width`` cells (by character)."""
    lines: list[str] = []
    for logical in text.split("\n"):
        line: list[str] = []
        used = 0
        for char in logical:
            size = cell_width(char)
            if used + size > width and line:
                lines.append("".join(line))
                line, used = [], 0
            line.append(char)
            used += size
        lines.append("".join(line))
    return lines


class ThinkingView:
    """The thinking on a terminal, above the answer (see the module docstring)."""

    def __init__(
        self,
        out: IO[str],
        *,
        show_all: bool = False,
        clock: Clock = time.monotonic,
        size: SizeProvider | None = None,
    ) -> None:
        self._out = out
        self.show_all = show_all
        self._clock = clock
        self._size = size or _terminal_size
        self.start()

    def start(self) -> None:
        self._began = self._clock()
        self._text = ""
        self._drawn_rows = 0
        self._next_draw = float("-inf")
        self._dirty = False
        self._open = False  # some thinking is on the screen, not yet collapsed
        self._at_line_start = True

    @property
    def active(self) -> bool:
        return self._open

    def feed(self, text: str) -> None:
        if not text:
            return
        if not self._open:
            text = text.lstrip("\n")  # "<think>\n" and servers' leading newline
            if not text:
                return
            self._open = True
        if self.show_all:
            self._write_through(text)
            return
        self._text += text
        self._dirty = True

    def flush(self) -> None:
        if self._open and self._dirty and not self.show_all:
            now = self._clock()
            if now >= self._next_draw:
                self._next_draw = now + REFRESH_INTERVAL
                self._dirty = False
                self._write(self._erase() + self._region(now))

    def close(self) -> None:
        """The answer begins (or the turn ends): collapse the thinking to one line."""
        if not self._open:
            return
        self._open = False
        seconds = format_seconds(self._clock() - self._began)
        if self.show_all:
            tail = "" if self._at_line_start else "\n"
            self._write(f"{tail}{RESET}\n")
            return
        line = f"{DIM}thought for {seconds}{RESET}\n\n"
        self._write(self._erase() + line + SHOW_CURSOR)
        self._text = ""

    def _write_through(self, text: str) -> None:
        self._write(DIM + text.replace("\n", RESET + "\n" + DIM) + RESET)
        self._at_line_start = text.endswith("\n")

    def _region(self, now: float) -> str:
        columns, rows = self._size()
        width = max(columns - 1, 10)
        height = max(min(MAX_LINES, rows - 3), 1)
        # The tail alone is wrapped: a screen line holds at least width/2 characters.
        tail = self._text[-(height * width) :]
        lines = [ln for ln in wrap_cells(tail.strip("\n"), width) if ln.strip()][-height:]
        header = f"thinking… {format_seconds(now - self._began)}"
        shown = [header, *lines]
        self._drawn_rows = len(shown)
        return HIDE_CURSOR + "".join(f"{DIM}{line}{RESET}\n" for line in shown)

    def _erase(self) -> str:
        rows, self._drawn_rows = self._drawn_rows, 0
        return f"\x1b[{rows}F\x1b[J" if rows else ""

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()


class ReasoningRouter:
    """A renderer: the answer to ``inner``, the thinking where the module docstring says."""

    def __init__(
        self,
        inner: Renderer,
        *,
        view: ThinkingView | None = None,
        sink: IO[str] | None = None,
    ) -> None:
        self._inner, self._view, self._sink = inner, view, sink
        self._sink_mid_line = False

    @property
    def view(self) -> ThinkingView | None:
        return self._view

    def start(self) -> None:
        if self._view is not None:
            self._view.start()
        self._inner.start()

    def feed(self, text: str) -> None:
        if text:
            self._end_thinking()
        self._inner.feed(text)

    def feed_reasoning(self, text: str) -> None:
        if not text:
            return
        if self._sink is not None:
            self._sink.write(text)
            self._sink.flush()
            self._sink_mid_line = not text.endswith("\n")
        if self._view is not None:
            self._view.feed(text)
        elif self._sink is None:
            self._inner.feed_reasoning(text)

    def flush(self) -> None:
        if self._view is not None:
            self._view.flush()
        self._inner.flush()

    def finish(self) -> None:
        self._end_thinking()
        self._inner.finish()

    def abort(self) -> None:
        self._end_thinking()
        self._inner.abort()

    def _end_thinking(self) -> None:
        if self._view is not None:
            self._view.close()
        if self._sink is not None and self._sink_mid_line:
            self._sink.write("\n")  # the thinking ends its line in the file, as on a screen
            self._sink.flush()
            self._sink_mid_line = False


def route_reasoning(
    inner: Renderer,
    terminal: Terminal,
    *,
    markdown: bool,
    show_all: bool = False,
    sink: IO[str] | None = None,
    clock: Clock = time.monotonic,
) -> ReasoningRouter:
    """The router for this terminal: a live view only where Markdown is drawn on a terminal."""
    view = (
        ThinkingView(terminal.stdout, show_all=show_all, clock=clock)
        if markdown and terminal.stdout_isatty
        else None
    )
    return ReasoningRouter(inner, view=view, sink=sink)


@contextmanager
def reasoning_sink(target: str | None, terminal: Terminal) -> Iterator[IO[str] | None]:
    """``--reasoning-to``: ``stderr``, or a file the thinking is appended to (never lost by
    a second run); None without the option. An unwritable file is refused before sending."""
    if target is None:
        yield None
        return
    if target == "stderr":
        yield terminal.stderr
        return
    try:
        sink = open(target, "a", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        from atdak_cli.errors import UsageError

        raise UsageError(
            f"cannot write the reasoning to {target} ({exc.strerror or exc})",
            hint="name a writable file, or --reasoning-to stderr",
        ) from None
    try:
        yield sink
    finally:
        sink.close()
