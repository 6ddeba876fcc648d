"""Approval on a real terminal (a pty): run, skip, always-for-this-tool, edit; keys typed
before the question are discarded; the model's text reaches the screen without control
sequences. And the printable() filter itself."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect
import pytest

from atdak_cli.tools.untrusted import first_line, printable
from tests.utils.process import REPO

DRIVER = Path(__file__).resolve().parent / "approval_driver.py"


def spawn(*calls: dict[str, str], env: dict[str, str] | None = None) -> pexpect.spawn:
    argv = [str(DRIVER), *(json.dumps(call) for call in calls)]
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return pexpect.spawn(sys.executable, argv, env=full_env, dimensions=(24, 80), timeout=10)


def decision(child: pexpect.spawn) -> dict[str, object]:
    child.expect(r"DECISION (\{[^\r\n]*\})\r\n")
    return json.loads(child.match.group(1))  # type: ignore[union-attr]


def test_run_skip_and_always_for_this_tool() -> None:
    child = spawn({"text": "one"}, {"text": "two"}, {"text": "three"}, {"text": "four"})
    child.expect("Tool call: echo \\(MCP server 'fx'\\)")
    child.expect('"text": "one"')
    child.expect(r"Run it\? \[y\] run  \[n\] skip  \[a\] always for this tool  \[e\] edit")
    child.send("y")
    assert decision(child) == {"run": True, "arguments": {"text": "one"}}
    child.expect("Run it")
    child.send("n")
    assert decision(child) == {"run": False, "arguments": {}}
    child.expect("Run it")
    child.send("a")
    assert decision(child) == {"run": True, "arguments": {"text": "three"}}
    # the fourth call of the same tool is not asked about
    assert decision(child) == {"run": True, "arguments": {"text": "four"}}
    child.expect(pexpect.EOF)
    assert b"Run it" not in child.before


def test_edit_arguments_in_the_editor_then_run(tmp_path: Path) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf \'{"text": "edited"}\' > "$1"\n')
    editor.chmod(0o755)
    child = spawn({"text": "original"}, env={"EDITOR": str(editor), "VISUAL": ""})
    child.expect("Run it")
    child.send("e")
    child.expect('"text": "edited"')  # shown again, with the new arguments
    child.expect("Run it")
    child.send("y")
    assert decision(child) == {"run": True, "arguments": {"text": "edited"}}


def test_edited_arguments_that_do_not_fit_the_schema_are_refused(tmp_path: Path) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf \'{"text": 5}\' > "$1"\n')
    editor.chmod(0o755)
    child = spawn({"text": "kept"}, env={"EDITOR": str(editor), "VISUAL": ""})
    child.expect("Run it")
    child.send("e")
    child.expect("not edited: 5 is not of type 'string'")
    child.expect("Run it")
    child.send("y")
    assert decision(child) == {"run": True, "arguments": {"text": "kept"}}


def test_keys_typed_before_the_question_appeared_do_not_answer_it() -> None:
    child = spawn({"text": "early"}, env={"APPROVAL_DELAY": "1.0"})
    child.send("y")  # typed ahead, while nothing was asked yet
    child.expect("Run it")
    with pytest.raises(pexpect.TIMEOUT):
        child.expect("DECISION", timeout=0.7)
    child.send("n")
    assert decision(child) == {"run": False, "arguments": {}}


def test_control_sequences_in_the_arguments_never_reach_the_terminal() -> None:
    child = spawn({"text": "a\x1b[2Jb\x1b]0;title\x07c"})
    child.expect("Run it")
    shown = child.before
    child.send("n")
    decision(child)
    assert b"\x1b[2J" not in shown and b"\x1b]0;" not in shown
    assert b'"text": "a[2Jb]0;titlec"' not in shown  # JSON escapes them: \u001b
    assert b"\\u001b[2Jb" in shown


def test_printable_strips_sequences_and_controls_keeping_text() -> None:
    hostile = "safe\x1b[2J\x1b]0;pwned\x07 text\x1b[31m red\x9b1m\r\x1bPq#0\x1b\\ end\x07\x00"
    assert printable(hostile) == "safe text red end"
    assert printable("tabs\tand\nnewlines stay, é and 日本 too") == (
        "tabs\tand\nnewlines stay, é and 日本 too"
    )
    assert first_line("\n\n  first \x1b[1mline\nsecond", width=9) == "first li…"
