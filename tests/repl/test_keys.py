"""The prompt's keys, completion and toolbar, fast: prompt_toolkit's pipe input and a dummy
output (the same behaviours are seen on a real terminal in test_repl_pty.py)."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from atdak_cli import paths
from atdak_cli.config import Settings
from atdak_cli.conversation import Conversation
from atdak_cli.repl.clipboard import osc52
from atdak_cli.repl.commands import COMMANDS, Send, completions, run_command
from atdak_cli.repl.prompt import make_session
from atdak_cli.repl.state import ChatState
from atdak_cli.terminal import Terminal


@pytest.fixture
def state(tmp_path: Path) -> ChatState:
    terminal = Terminal(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO())
    return ChatState(Settings(), terminal, Conversation(), tmp_path / "history.db")


def said(state: ChatState) -> str:
    stderr = state.terminal.stderr
    assert isinstance(stderr, io.StringIO)
    return stderr.getvalue()


def prompt(state: ChatState, keys: str, *, then: str = "", when: str = "") -> str:
    """What one prompt returns after ``keys`` are typed, and ``then`` once the buffer has a
    suggestion (``when="suggestion"``) or completions (``when="completions"``): both are
    computed in the background, so keys typed at once would arrive before them."""
    with create_pipe_input() as pipe:
        session = make_session(state, input=pipe, output=DummyOutput())
        buffer = session.default_buffer
        if when:
            ready = {"suggestion": buffer.on_suggestion_set}
            event = ready.get(when, buffer.on_completions_changed)

            def once(_: object) -> None:
                event.remove_handler(once)
                pipe.send_text(then)

            event += once
        pipe.send_text(keys)
        return session.prompt()


def test_enter_sends_the_line(state: ChatState) -> None:
    assert prompt(state, "hello\r") == "hello"


@pytest.mark.parametrize("keys", ["\x1b\r", "\x1b\n"])
def test_alt_enter_inserts_a_newline(state: ChatState, keys: str) -> None:
    assert prompt(state, f"one{keys}two\r") == "one\ntwo"


def test_bracketed_paste_keeps_newlines_without_sending(state: ChatState) -> None:
    assert prompt(state, "\x1b[200~line1\r\nline2\nline3\x1b[201~ end\r") == (
        "line1\nline2\nline3 end"
    )


def test_ctrl_c_at_the_prompt_abandons_the_line(state: ChatState) -> None:
    with pytest.raises(KeyboardInterrupt):
        prompt(state, "half typed\x03")


def test_ctrl_d_on_an_empty_line_ends_the_session(state: ChatState) -> None:
    with pytest.raises(EOFError):
        prompt(state, "\x04")


def test_ctrl_d_on_a_typed_line_does_not_end_it(state: ChatState) -> None:
    assert prompt(state, "ab\x1b[D\x04\r") == "a"  # deletes the character under the cursor


def test_up_recalls_earlier_input_from_a_private_file(state: ChatState) -> None:
    prompt(state, "first line\r")
    prompt(state, "second\x1b\rline\r")
    # Up: the multi-line entry (cursor on its last line), Up: its first line, Up: older.
    assert prompt(state, "\x1b[A\x1b[A\x1b[A\r") == "first line"
    history = paths.input_history_file()
    assert stat.S_IMODE(history.stat().st_mode) == 0o600


def test_history_suggestion_completes_with_right_arrow(state: ChatState) -> None:
    prompt(state, "a long question\r")
    assert prompt(state, "a lo", then="\x1b[C\r", when="suggestion") == "a long question"


def test_tab_completes_a_command(state: ChatState) -> None:
    assert prompt(state, "/hi", then="\t\r", when="completions") == "/history"


def test_completions_offer_commands_models_and_parameters() -> None:
    assert completions("/re") == ["/reasoning", "/resource", "/resume", "/retry"]
    assert completions("/") == ["/" + name for name in sorted([*COMMANDS, "quit"])]
    assert completions("/model atdak-gpt") == ["atdak-gpt-4", "atdak-gpt-4-mini"]
    assert completions("/compare atdak-gpt-4 atdak-cl") == ["atdak-claude-3"]
    assert completions("/set top") == ["top_p"]
    assert completions("/set top_p 0") == []
    assert completions("plain text") == []
    assert completions("//not a command") == []


def test_toolbar_shows_model_conversation_and_context(state: ChatState) -> None:
    assert state.toolbar() == "atdak-gpt-4 · new · 0/128K"
    state.conversation.add_user("x" * 15_500)
    state.conversation_id = 12
    assert state.toolbar() == "atdak-gpt-4 · #12 · 3.1K/128K"
    state.history_path = None
    assert state.toolbar().startswith("atdak-gpt-4 · not saved · ")


def test_unknown_command_is_a_hint_not_a_message(state: ChatState) -> None:
    assert run_command(state, "/nope") is None
    assert "unknown command /nope — /help lists them" in said(state)


def test_edit_sends_what_the_editor_saved(
    state: ChatState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "written\\nin the editor\\n" > "$1"\n')
    editor.chmod(0o700)
    monkeypatch.setenv("EDITOR", str(editor))
    assert run_command(state, "/edit") == Send("written\nin the editor")


def test_edit_with_an_empty_result_sends_nothing(
    state: ChatState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", "true")
    assert run_command(state, "/edit") is None
    assert "nothing to send" in said(state)


def test_set_rejects_unknown_names_and_bad_values(state: ChatState) -> None:
    for line in ("/set colour 1", "/set top_p high", "/set max_tokens 0", "/set top_p"):
        assert run_command(state, line) is None
    assert said(state).count("atdak: error:") == 4
    assert state.settings == Settings()
    run_command(state, "/set top_p 0.5")
    run_command(state, "/set top_p default")
    assert state.settings.top_p is None


def test_osc52_sequence_and_multiplexer_wrapping() -> None:
    assert osc52("hi", environ={}) == "\x1b]52;c;aGk=\x07"
    assert osc52("hi", environ={"TMUX": "/tmp/tmux"}) == "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\"
    assert osc52("hi", environ={"TERM": "screen-256color"}) == "\x1bP\x1b]52;c;aGk=\x07\x1b\\"
