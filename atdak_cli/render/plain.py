"""Plain text for pipes and dumb terminals: deltas written as they arrive, no escape codes.

This module must never import rich (it is on the start-up path of ``complete | ...``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from atdak_cli.terminal import Terminal


class PlainRenderer:
    """Writes each delta to stdout and flushes; ends the answer with exactly one newline."""

    def __init__(self, terminal: Terminal) -> None:
        self._terminal = terminal
        self._last_char = "\n"
        self._reasoning = ReasoningEcho(terminal)

    def start(self) -> None:
        self._last_char = "\n"

    def feed(self, text: str) -> None:
        if not text:
            return
        self._reasoning.close()
        # Noted first: with an unbuffered stdout a signal can interrupt us as soon as the text
        # is out, and the answer must still end on a fresh line.
        self._last_char = text[-1]
        self._terminal.stdout.write(text)

    def flush(self) -> None:
        self._terminal.stdout.flush()

    def feed_reasoning(self, text: str) -> None:
        self._reasoning.feed(text)

    def finish(self) -> None:
        self._reasoning.close()
        if self._last_char != "\n":
            self._terminal.stdout.write("\n")
        self._terminal.stdout.flush()
        self._last_char = "\n"

    def abort(self) -> None:
        self.finish()


class ReasoningEcho:
    """The model's reasoning is not part of the answer: never on stdout, shown on stderr
    only to a person; ended on a fresh line when the answer begins."""

    def __init__(self, terminal: Terminal) -> None:
        self._stderr = terminal.stderr if terminal.stderr_isatty else None
        self._open = False

    def feed(self, text: str) -> None:
        if text and self._stderr is not None:
            self._stderr.write(text)
            self._stderr.flush()
            self._open = not text.endswith("\n")

    def close(self) -> None:
        if self._open and self._stderr is not None:
            self._stderr.write("\n")
            self._open = False
