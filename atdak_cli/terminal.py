"""The one object that knows about the user's terminal (httpie's ``Environment``).

Every writer receives a :class:`Terminal`; tests build one around their own streams.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import IO, Literal, cast

ColorChoice = Literal["auto", "always", "never"]


@dataclass
class Terminal:
    """stdin/stdout/stderr, whether each is a terminal, the colour decision and the width."""

    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    color: bool = False
    width: int = 80

    @classmethod
    def from_process(
        cls, *, color: ColorChoice = "auto", environ: dict[str, str] | None = None
    ) -> Terminal:
        """The terminal of this process, honouring ``--color``, ``NO_COLOR`` and ``FORCE_COLOR``."""
        env = os.environ if environ is None else environ
        stdout_isatty = _isatty(sys.stdout)
        return cls(
            stdin_isatty=_isatty(sys.stdin),
            stdout_isatty=stdout_isatty,
            stderr_isatty=_isatty(sys.stderr),
            color=decide_color(color, isatty=stdout_isatty, environ=env),
            width=shutil.get_terminal_size((80, 24)).columns,
        )

    @contextmanager
    def typed_keys_unechoed(self) -> Iterator[None]:
        """While an answer streams onto the terminal, keys typed meanwhile are not echoed into
        it (they stay queued for whatever reads stdin next). Restored on every way out."""
        if not (self.stdin_isatty and self.stdout_isatty):
            yield
            return
        import termios

        try:
            fd = self.stdin.fileno()
            saved = termios.tcgetattr(fd)
        except (termios.error, OSError, ValueError):
            yield
            return
        quiet = list(saved)
        quiet[3] &= ~termios.ECHO  # the local modes
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
        try:
            yield
        finally:
            with suppress(termios.error, OSError):
                termios.tcsetattr(fd, termios.TCSANOW, saved)

    def notice(self, message: str) -> None:
        """A one-line message for the user on stderr (never on stdout)."""
        self.stderr.write(message.rstrip("\n") + "\n")
        self.stderr.flush()


def decide_color(
    choice: ColorChoice, *, isatty: bool, environ: os._Environ[str] | dict[str, str]
) -> bool:
    """Colour on a terminal unless NO_COLOR (https://no-color.org) or TERM=dumb; flags win."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return isatty and environ.get("TERM") != "dumb"


def _isatty(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):
        return False


def open_terminal(color: str | None) -> Terminal:
    """This process's terminal with ``--color`` (checked already by the settings)."""
    choice = color if color in ("always", "never") else "auto"
    return Terminal.from_process(color=cast("ColorChoice", choice))
