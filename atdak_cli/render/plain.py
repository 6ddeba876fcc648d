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
        self._reasoning_open = False

    def start(self) -> None:
        self._last_char = "\n"

    def feed(self, text: str) -> None:
        if not text:
            return
        self._close_reasoning()
        # Noted first: with an unbuffered stdout a signal can interrupt us as soon as the text
        # is out, and the answer must still end on a fresh line.
        self._last_char = text[-1]
        self._terminal.stdout.write(text)

    def flush(self) -> None:
        self._terminal.stdout.flush()

    def feed_reasoning(self, text: str) -> None:
        # Reasoning is not part of the answer: never on stdout; shown on stderr to a person.
        if not text or not self._terminal.stderr_isatty:
            return
        self._terminal.stderr.write(text)
        self._terminal.stderr.flush()
        self._reasoning_open = not text.endswith("\n")

    def finish(self) -> None:
        self._close_reasoning()
        if self._last_char != "\n":
            self._terminal.stdout.write("\n")
        self._terminal.stdout.flush()
        self._last_char = "\n"

    def abort(self) -> None:
        self.finish()

    def _close_reasoning(self) -> None:
        if self._reasoning_open:
            self._terminal.stderr.write("\n")
            self._reasoning_open = False
