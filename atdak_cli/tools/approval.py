"""Nothing runs without consent: on a terminal each call is shown and asked about; without
one, only calls approved in advance (``--approve-tools``, ``allow = [...]``) run."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from atdak_cli.errors import AppError, ExitStatus, UsageError
from atdak_cli.tools.toolbox import Prepared, schema_problem
from atdak_cli.tools.untrusted import printable

DECLINED = "the user declined to run this tool call"
CHOICES = "[y] run  [n] skip  [a] always for this tool  [e] edit arguments"


class ToolApprovalError(AppError):
    """A call needed approval and there was no terminal to ask (exit 11)."""

    status = ExitStatus.TOOL_REFUSED

    def __init__(self, qualified: str) -> None:
        super().__init__(
            f"the model asked to run {qualified}, and there is no terminal to ask for approval",
            hint="pass --approve-tools to allow this run's tools, or list the tool in"
            " allow = [...] of its [mcp.NAME] table",
        )


@dataclass(frozen=True)
class Decision:
    run: bool
    arguments: dict[str, Any] = field(default_factory=dict)


class Approver(Protocol):
    def decide(self, prepared: Prepared) -> Decision: ...


class Unattended:
    """No terminal: pre-approved calls run, any other ends the run (exit 11)."""

    def decide(self, prepared: Prepared) -> Decision:
        assert prepared.offered is not None and prepared.arguments is not None
        if not prepared.offered.pre_approved:
            raise ToolApprovalError(prepared.offered.spec.qualified)
        return Decision(True, prepared.arguments)


def format_arguments(arguments: dict[str, Any]) -> str:
    """The arguments as indented JSON, printable (they come from the model: untrusted)."""
    return printable(json.dumps(arguments, indent=2, ensure_ascii=False))


class TerminalApprover:
    """Asks on the terminal (``/dev/tty``), one key per call: run, skip, always, edit."""

    def __init__(
        self,
        tty: IO[str],
        *,
        dim: bool = True,
        edit: Callable[[str], str] | None = None,
    ) -> None:
        self.tty = tty
        self.dim = dim
        self.edit = edit or _edit_in_editor
        self.always: set[str] = set()

    def decide(self, prepared: Prepared) -> Decision:
        assert prepared.offered is not None and prepared.arguments is not None
        spec, arguments = prepared.offered.spec, prepared.arguments
        if prepared.offered.pre_approved or spec.qualified in self.always:
            return Decision(True, arguments)
        while True:
            self._show(spec.source, spec.name, arguments)
            key = self._key()
            if key in ("y", "\r", "\n"):
                self._say("run")
                return Decision(True, arguments)
            if key in ("n", "\x04", ""):
                self._say("skipped")
                return Decision(False)
            if key == "a":
                self._say(f"run, and every later call of {spec.qualified}")
                self.always.add(spec.qualified)
                return Decision(True, arguments)
            if key == "e":
                self._say("edit")
                arguments = self._edited(prepared, arguments)

    def _show(self, source: str, tool: str, arguments: dict[str, Any]) -> None:
        where = "Python function" if source == "functions" else f"MCP server {source!r}"
        body = "\n".join("  " + line for line in format_arguments(arguments).splitlines())
        self.tty.write(f"\nTool call: {printable(tool)} ({where})\n{body}\nRun it? {CHOICES} ")
        self.tty.flush()

    def _key(self) -> str:
        """One key press. Keys typed before the question appeared are discarded first:
        a key meant for the previous prompt must not approve a call."""
        import termios
        import tty as tty_modes

        fd = self.tty.fileno()
        saved = termios.tcgetattr(fd)
        try:
            tty_modes.setcbreak(fd)  # ISIG stays on: Ctrl-C still interrupts
            termios.tcflush(fd, termios.TCIFLUSH)
            data = os.read(fd, 16)
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        return data[:1].decode("ascii", "replace").lower()

    def _say(self, text: str) -> None:
        self.tty.write(text + "\n")
        self.tty.flush()

    def _edited(self, prepared: Prepared, arguments: dict[str, Any]) -> dict[str, Any]:
        """New arguments from the editor, if they are a JSON object fitting the schema;
        else the old ones, saying why."""
        assert prepared.offered is not None
        try:
            text = self.edit(json.dumps(arguments, indent=2, ensure_ascii=False) + "\n")
        except UsageError as exc:
            self._say(f"not edited: {exc.message}")
            return arguments
        try:
            edited = json.loads(text)
        except ValueError as exc:
            self._say(f"not edited: that is not JSON ({exc})")
            return arguments
        problem = schema_problem(prepared.offered.spec.input_schema, edited)
        if problem:
            self._say(f"not edited: {printable(problem)}")
            return arguments
        assert isinstance(edited, dict)
        return edited


def _edit_in_editor(text: str) -> str:
    from atdak_cli.repl.editor import edit_in_editor

    return edit_in_editor(text)


def open_terminal(*, stdin_isatty: bool, stderr_isatty: bool) -> IO[str] | None:
    """The controlling terminal, if a person is likely at it; None in scripts and pipes."""
    if not (stdin_isatty or stderr_isatty):
        return None
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    # Written as text, read with os.read: a tty cannot back a buffered read-write file.
    return open(fd, "w", encoding="utf-8", errors="replace")  # noqa: SIM115
