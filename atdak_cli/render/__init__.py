"""Renderers turn a stream of text deltas into output.

``plain`` is for pipes (and never imports rich); ``markdown`` renders live on a terminal.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Literal, Protocol

from atdak_cli.warmup import Warmup

if TYPE_CHECKING:
    from atdak_cli.terminal import Terminal

RenderMode = Literal["markdown", "plain"]


class Renderer(Protocol):
    """What the turn logic feeds: ``start``, then ``feed``/``feed_reasoning``, then one of
    ``finish`` (the answer is complete) or ``abort`` (Ctrl-C or an error: keep what was shown,
    leave the terminal clean, the cursor visible and on a fresh line)."""

    def start(self) -> None: ...

    def feed(self, text: str) -> None: ...

    def feed_reasoning(self, text: str) -> None: ...

    def flush(self) -> None:
        """Make what was fed visible now: called once the chunks of one network read are fed
        (a flush per delta cost a syscall per token)."""

    def finish(self) -> None: ...

    def abort(self) -> None: ...


def choose_mode(terminal: Terminal, requested: RenderMode | None) -> RenderMode:
    """Markdown on a terminal, plain into a pipe or on a dumb terminal without colour
    (``NO_COLOR`` with ``TERM=dumb``: no cursor movement either), unless the user asked."""
    if requested is not None:
        return requested
    dumb = not terminal.color and os.environ.get("TERM") == "dumb"
    return "markdown" if terminal.stdout_isatty and not dumb else "plain"


def make_renderer(terminal: Terminal, mode: RenderMode) -> Renderer:
    """The renderer for ``mode``; imports rich only for markdown. Markdown on a terminal is
    redrawn live; into a pipe or a file it is each finished block, written once."""
    if mode == "markdown":
        from atdak_cli.render.markdown import MarkdownPrinter, MarkdownRenderer

        if not terminal.stdout_isatty:
            return MarkdownPrinter(terminal)
        return MarkdownRenderer(terminal)
    from atdak_cli.render.plain import PlainRenderer

    return PlainRenderer(terminal)


class LazyRenderer:
    """A renderer made when it first has something to show, or ahead of that on a thread
    (:meth:`prepare`; the saving is in :mod:`atdak_cli.warmup`). Until it exists there is
    nothing on the screen to flush, finish or abort; one made after :meth:`start` is started
    as it is made (its wait indicator shows while the model thinks)."""

    def __init__(self, terminal: Terminal, mode: RenderMode) -> None:
        self._terminal, self._mode = terminal, mode
        self.pending = Warmup(self._make, name="atdak-renderer")
        self._renderer: Renderer | None = None
        self._started = False
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """Make the renderer on a thread (a failure is raised on first use)."""
        self.pending.start()

    def get(self) -> Renderer:
        if self._renderer is None:
            self.pending.result()  # made and adopted by _make, here or on the thread
        assert self._renderer is not None
        return self._renderer

    def _make(self) -> Renderer:
        renderer = make_renderer(self._terminal, self._mode)
        with self._lock:
            self._renderer = renderer
            if self._started:
                renderer.start()
        return renderer

    def start(self) -> None:
        with self._lock:
            self._started = True
            if self._renderer is not None:
                self._renderer.start()

    def feed(self, text: str) -> None:
        if text:
            (self._renderer or self.get()).feed(text)  # once made, no lock: once per token

    def feed_reasoning(self, text: str) -> None:
        if text:
            self.get().feed_reasoning(text)

    def flush(self) -> None:
        if self._renderer is not None:
            self._renderer.flush()

    def finish(self) -> None:
        if self._renderer is not None:
            self._renderer.finish()

    def abort(self) -> None:
        if self._renderer is not None:
            self._renderer.abort()
