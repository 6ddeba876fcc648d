"""Real terminal multiplexers, driven as a person drives them: tmux and GNU screen with their
default configuration (tmux's ``scroll-on-clear`` is on), a shell in the pane, keys typed,
the pane resized, and the scrollback read back (tmux ``capture-pane -S -``; screen's
copy mode and ``writebuf``, as ``hardcopy -h`` garbles wide characters).

Each multiplexer runs on a private socket / session directory and is killed in ``close()``,
also when a test fails. Use them as context managers::

    command = write_script(tmp_path, "chat", [sys.executable, "-m", "atdak_cli", "chat"])
    with Tmux(tmp_path, columns=100, rows=30) as mux:
        mux.run(command)
        mux.type("hello\r")
        ...
        status = mux.wait_for_file(tmp_path / "chat.status")
        output = mux.command_output(command, mux.scrollback(joined=True))

The script keeps the typed command short: it is part of the scrollback, and would wrap on
a narrow pane.
"""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import ClassVar

import pexpect
import pytest

WAIT = 30.0  # seconds: generous for a loaded 2-core machine; only failures wait this long
PROMPT = "$ "
_names = itertools.count()


def shell_env(**extra: str) -> dict[str, str]:
    """The environment of the pane's shell: ours, a plain ``$ `` prompt, no rc files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TMUX", "STY"))}
    env.pop("ENV", None)
    return {**env, "PS1": PROMPT, "LANG": "C.UTF-8", **extra}


def write_script(directory: Path, name: str, command: list[str], **env: str) -> str:
    """A script that runs ``command`` with ``env`` and leaves its exit status in
    ``<name>.status``; returns what to type to run it."""
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    body = f"{exports}{shlex.join(command)}\necho $? > {name}.status\n"
    (directory / f"{name}.sh").write_text(body)
    return f"sh {name}.sh"


def wait_until(condition: Callable[[], bool], *, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.02)


class Multiplexer:
    """What a test does with a pane: type, resize, read the screen and the scrollback."""

    program: ClassVar[str]

    def __init__(self, workdir: Path, *, columns: int, rows: int) -> None:
        if shutil.which(self.program) is None:
            pytest.skip(f"{self.program} is not installed")
        self.workdir, self.columns, self.rows = workdir, columns, rows
        self.name = f"atdak-{os.getpid()}-{next(_names)}"

    def __enter__(self) -> Multiplexer:
        try:
            self.start()
            wait_until(lambda: PROMPT.strip() in self.screen(), what="the shell prompt")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def run(self, command: str) -> None:
        """Type ``command`` and Enter."""
        self.type(command + "\r")

    def wait_for_file(self, path: Path, timeout: float = WAIT) -> str:
        """The content of ``path`` once written, and the shell's prompt back on the screen."""
        wait_until(path.exists, what=str(path), timeout=timeout)
        wait_until(lambda: path.read_text().endswith("\n"), what=f"{path} written")
        wait_until(self._prompt_is_last, what="the prompt after the command")
        return path.read_text().strip()

    def wait_for_prompt_after(self, text: str) -> None:
        """Until ``text`` is the last line of output and the prompt is back under it."""

        def done() -> bool:
            return _trimmed(self.screen())[-2:] == [text, PROMPT.rstrip()]

        wait_until(done, what=f"the prompt after {text!r}")

    def _prompt_is_last(self) -> bool:
        lines = _trimmed(self.screen())
        return bool(lines) and lines[-1] == PROMPT.rstrip()

    def wait_for_text(self, text: str, timeout: float = WAIT) -> None:
        wait_until(lambda: text in self.screen(), what=repr(text), timeout=timeout)

    def command_output(self, command: str, lines: list[str]) -> list[str]:
        """The lines between the last echo of ``command`` and the prompt after it."""
        starts = [i for i, line in enumerate(lines) if line == PROMPT + command]
        ends = [i for i, line in enumerate(lines) if line.rstrip() == PROMPT.rstrip()]
        assert starts and ends, f"no {command!r} and prompt in the scrollback"
        return lines[starts[-1] + 1 : ends[-1]]

    # -- provided by each multiplexer

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def type(self, keys: str) -> None:
        raise NotImplementedError

    def resize(self, columns: int, rows: int) -> None:
        raise NotImplementedError

    def screen(self) -> str:
        """The visible screen."""
        raise NotImplementedError

    def scrollback(self, *, joined: bool = False) -> list[str]:
        """History then screen, trailing blanks cut; ``joined`` joins rows the terminal
        wrapped (a line it reflowed on resize) back into one line."""
        raise NotImplementedError


class Tmux(Multiplexer):
    """tmux on a private socket (``-L``), no configuration file (``-f /dev/null``), so its
    defaults hold: ``scroll-on-clear on``, ``history-limit 2000``. Detached, the window is
    the pane: no client, no status line."""

    program = "tmux"

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.name, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            env=shell_env(),
            cwd=self.workdir,
            timeout=WAIT,
            check=True,
        )
        return done.stdout

    def start(self) -> None:
        size = ["-x", str(self.columns), "-y", str(self.rows)]
        shell = f"PS1={shlex.quote(PROMPT)} exec sh"  # tmux keeps PS1 out of the pane's env
        self._tmux("new-session", "-d", "-s", "t", "-c", str(self.workdir), *size, shell)

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-L", self.name, "kill-server"], capture_output=True, timeout=WAIT, check=False
        )

    def type(self, keys: str) -> None:
        text, enter = (keys[:-1], True) if keys.endswith("\r") else (keys, False)
        if text:
            self._tmux("send-keys", "-t", "t", "-l", text)
        if enter:
            self._tmux("send-keys", "-t", "t", "Enter")

    def resize(self, columns: int, rows: int) -> None:
        self._tmux("resize-window", "-t", "t", "-x", str(columns), "-y", str(rows))
        self.columns, self.rows = columns, rows

    def option(self, name: str) -> str:
        return self._tmux("show-options", "-gwv", name).strip()

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "t")

    def scrollback(self, *, joined: bool = False) -> list[str]:
        args = ["capture-pane", "-p", "-S", "-", "-E", "-", "-t", "t"]
        return _trimmed(self._tmux(*args, *(["-J"] if joined else [])))


class GnuScreen(Multiplexer):
    """GNU screen attached to a pseudo-terminal of ours (a detached screen cannot be
    resized), no screenrc (``-c /dev/null``), a private session directory. Its default
    scrollback is 100 lines; ``-h`` makes room for a long answer."""

    program = "screen"

    def start(self) -> None:
        self._dir = self.workdir / ".screen"
        self._dir.mkdir(mode=0o700, exist_ok=True)
        env = shell_env(SCREENDIR=str(self._dir), TERM="xterm-256color")
        argv = ["-c", "/dev/null", "-U", "-S", self.name, "-h", "10000", "sh"]
        self._child = pexpect.spawn(
            "screen", argv, env=env, cwd=str(self.workdir), dimensions=(self.rows, self.columns)
        )
        self._reading = True
        # screen blocks when its terminal is not read: drain it like a terminal would.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while self._reading:
            try:
                self._child.read_nonblocking(65536, timeout=0.05)
            except pexpect.TIMEOUT:
                continue
            except (pexpect.EOF, OSError, ValueError):
                return

    def _screen(self, *args: str) -> bool:
        """Send a command to the session; False until the session is up."""
        done = subprocess.run(
            ["screen", "-S", self.name, "-p", "0", "-X", *args],
            env=shell_env(SCREENDIR=str(self._dir)),
            capture_output=True,
            timeout=WAIT,
            check=False,
        )
        return done.returncode == 0

    def close(self) -> None:
        if not hasattr(self, "_child"):
            return
        self._screen("quit")
        self._reading = False
        self._child.close(force=True)
        self._reader.join(WAIT)

    def type(self, keys: str) -> None:
        self._child.send(keys)

    def resize(self, columns: int, rows: int) -> None:
        self._child.setwinsize(rows, columns)
        self.columns, self.rows = columns, rows

    def _hardcopy(self, *history: str) -> str:
        # hardcopy writes each cell's low byte only: wide characters come out garbled, so it
        # is good for counting rows, not for reading text.
        target = self._target()
        if not self._screen("hardcopy", *history, str(target)):
            return ""
        wait_until(target.exists, what="screen's hardcopy")
        return _take(target).decode("latin-1")

    def _copied(self) -> str:
        """Everything from the top of the history to the end of the screen, copied in copy
        mode (``g``, mark, ``G$``, mark) and written out as UTF-8 by ``writebuf``."""
        target = self._target()
        self._screen("eval", "copy", "stuff 'g0 G$ '", f"writebuf {target}")
        wait_until(target.exists, what="screen's paste buffer")
        # A wide character that no longer fits at the end of a re-wrapped row leaves a NUL.
        return _take(target).decode().replace("\0", "")

    def _target(self) -> Path:
        return self.workdir / f".screen-copy-{next(_names)}"

    def screen(self) -> str:
        return self._hardcopy()

    def scrollback(self, *, joined: bool = False) -> list[str]:
        """Copy mode joins the rows the terminal wrapped; ``joined=False`` gives the rows
        (for counting) with every non-ASCII character garbled."""
        return _trimmed(self._copied() if joined else self._hardcopy("-h"))


def _take(path: Path) -> bytes:
    """The file's content once its writer is done with it; the file is removed."""
    wait_until(lambda: path.stat().st_size > 0, what=f"{path} written")
    size = -1
    while size != path.stat().st_size:
        size = path.stat().st_size
        time.sleep(0.05)
    data = path.read_bytes()
    path.unlink()
    return data


def _trimmed(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


MULTIPLEXERS: list[type[Multiplexer]] = [Tmux, GnuScreen]
