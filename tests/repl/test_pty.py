"""``atdak chat`` in a real pseudo-terminal: every byte goes through pyte, and the assertions are
about what a person would see on a 24x80 screen (design.md §7)."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pyte
import pytest

from tests.utils.api_server import FakeAPIServer, error, openai_error, stall, stream
from tests.utils.process import REPO, run_atdak

WAIT = 10.0  # seconds: generous for a loaded 2-core machine; only failures wait this long
ESC_ENTER = "\x1b\r"
UP = "\x1b[A"
CTRL_C = "\x03"


class _Screen(pyte.HistoryScreen):
    """A screen that keeps what scrolls off the top, and answers the terminal's queries
    (prompt_toolkit asks where the cursor is)."""

    def __init__(self, child: pexpect.spawn) -> None:
        super().__init__(80, 24, history=100_000, ratio=0.5)
        self._child = child

    def scrolled_off(self) -> list[str]:
        return ["".join(line[x].data for x in range(self.columns)) for line in self.history.top]

    def write_process_input(self, data: str) -> None:
        self._child.send(data)


class Chat:
    """``atdak chat`` in a pty; ``raw`` keeps every byte it wrote."""

    def __init__(self, api: FakeAPIServer, *args: str, env: dict[str, str] | None = None) -> None:
        argv = ["-m", "atdak_cli", "chat", "--base-url", api.base_url, *args]
        full_env = {**os.environ, "TERM": "xterm-256color", **(env or {})}
        self.child = pexpect.spawn(
            sys.executable, argv, env=full_env, dimensions=(24, 80), cwd=str(REPO)
        )
        self.screen = _Screen(self.child)
        self._stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()

    @property
    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    @property
    def transcript(self) -> str:
        """Everything shown so far, the lines that scrolled off the top included."""
        lines = self.screen.scrolled_off() + self.screen.display
        return "\n".join(line.rstrip() for line in lines)

    @property
    def toolbar(self) -> str:
        return self.screen.display[-1].strip()

    def pump(self, timeout: float = 0.05) -> bool:
        """Feed what the program wrote; False once it has exited."""
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self.raw += data
        self._stream.feed(data)
        return True

    def wait_for(self, text: str, *, timeout: float = WAIT, seen: int = 0) -> None:
        """Until ``text`` is shown more than ``seen`` times (counting lines scrolled off)."""
        deadline = time.monotonic() + timeout
        while self.transcript.count(text) <= seen:
            if time.monotonic() > deadline or not self.pump():
                raise AssertionError(f"{text!r} never appeared on the screen:\n{self.text}")

    def wait_gone(self, text: str, *, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while text in self.text:
            if time.monotonic() > deadline or not self.pump():
                raise AssertionError(f"{text!r} is still on the screen:\n{self.text}")

    def wait_prompt(self) -> None:
        """Until the prompt is ready for keys: an empty input line and the toolbar."""
        deadline = time.monotonic() + WAIT
        while not self._at_prompt():
            if time.monotonic() > deadline or not self.pump():
                raise AssertionError(f"no prompt:\n{self.text}")

    def _at_prompt(self) -> bool:
        row = self.screen.display[self.screen.cursor.y]
        return row.rstrip() == ">" and " · " in self.toolbar

    def ask(self, text: str, answer: str | None = None) -> None:
        """Type ``text`` at a ready prompt, press Enter, wait for the answer and the prompt."""
        self.wait_prompt()
        expected = answer if answer is not None else "echo: " + text
        seen = self.transcript.count(expected)
        self.child.send(text + "\r")
        self.wait_for(expected, seen=seen)
        self.wait_prompt()

    def line_at_cursor(self) -> str:
        return self.screen.display[self.screen.cursor.y].rstrip()

    def finish(self) -> int:
        """Ctrl-D on an empty line; the exit status."""
        self.wait_prompt()
        self.child.sendeof()
        return self.exit_status()

    def exit_status(self) -> int:
        deadline = time.monotonic() + WAIT
        while self.pump():
            assert time.monotonic() < deadline, f"still running:\n{self.text}"
        self.child.close()
        assert self.child.exitstatus is not None, self.child.signalstatus
        return int(self.child.exitstatus)


@pytest.fixture
def chats(api: FakeAPIServer, key_env: str) -> Iterator[list[Chat]]:
    """Chats started by a test; killed at the end if they are still running."""
    started: list[Chat] = []
    yield started
    for chat in started:
        if chat.child.isalive():
            chat.child.terminate(force=True)


@pytest.fixture
def start(api: FakeAPIServer, chats: list[Chat]):  # type: ignore[no-untyped-def]
    def start_chat(*args: str, env: dict[str, str] | None = None) -> Chat:
        chat = Chat(api, *args, env=env)
        chats.append(chat)
        return chat

    return start_chat


def sent_messages(api: FakeAPIServer, index: int = -1) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = api.requests[index].json()["messages"]
    return messages


def stored_messages(tmp_path: Path) -> list[tuple[int, str, str, str]]:
    with sqlite3.connect(tmp_path / "data" / "history.db") as db:
        rows = db.execute(
            "SELECT conversation_id, role, content, status FROM messages ORDER BY id"
        ).fetchall()
    db.close()
    return rows


# -- turns


def test_chat_sends_whole_conversation_and_shows_toolbar(
    start, api: FakeAPIServer, tmp_path: Path
) -> None:
    chat = start()
    chat.wait_prompt()
    assert "atdak-gpt-4 · new · 0/128K" in chat.toolbar
    chat.ask("first question")
    chat.ask("second question")
    assert sent_messages(api) == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "echo: first question"},
        {"role": "user", "content": "second question"},
    ]
    assert "> first question\necho: first question" in chat.text
    assert chat.toolbar.startswith("atdak-gpt-4 · #1 · ")
    assert chat.toolbar.endswith("/128K")
    assert chat.finish() == 0
    assert [row[1:] for row in stored_messages(tmp_path)] == [
        ("user", "first question", "complete"),
        ("assistant", "echo: first question", "complete"),
        ("user", "second question", "complete"),
        ("assistant", "echo: second question", "complete"),
    ]


def test_esc_enter_makes_a_newline_and_the_message_is_one_turn(start, api: FakeAPIServer) -> None:
    chat = start()
    chat.wait_prompt()
    chat.child.send("line one")
    chat.child.send(ESC_ENTER)
    chat.child.send("line two")
    chat.wait_for("> line one\n. line two")
    chat.child.send("\r")
    chat.wait_for("echo: line one line two")  # Markdown: a soft line break
    chat.wait_prompt()
    assert len(api.requests) == 1
    assert sent_messages(api)[-1]["content"] == "line one\nline two"
    assert chat.finish() == 0


def test_bracketed_paste_keeps_newlines_and_is_one_turn(start, api: FakeAPIServer) -> None:
    chat = start()
    chat.wait_prompt()
    chat.child.send("\x1b[200~line1\nline2\x1b[201~")
    chat.wait_for("> line1\n. line2")
    assert not api.requests  # the pasted newline did not send
    chat.child.send("\r")
    chat.wait_for("echo: line1")
    chat.wait_prompt()
    assert [m["content"] for m in sent_messages(api)] == ["line1\nline2"]
    assert chat.finish() == 0


def test_up_arrow_recalls_input_from_an_earlier_session(start, tmp_path: Path) -> None:
    first = start()
    first.ask("remember this line")
    assert first.finish() == 0
    history = tmp_path / "data" / "input-history"
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    second = start()
    second.wait_prompt()
    second.child.send(UP)
    second.wait_for("> remember this line")
    second.child.send("\r")
    second.wait_for("echo: remember this line")
    assert second.finish() == 0


def test_history_suggestion_is_shown_and_accepted_with_right_arrow(start) -> None:
    chat = start()
    chat.ask("a question worth asking twice")
    chat.child.send("a que")
    chat.wait_for("> a question worth asking twice")  # the suggestion, greyed
    chat.child.send("\x1b[C\r")  # Right accepts it
    chat.wait_for("echo: a question worth asking twice\n\n> a question worth asking twice\necho:")
    assert chat.finish() == 0


def test_ctrl_c_mid_answer_keeps_partial_answer_and_next_turn_works(
    start, api: FakeAPIServer, tmp_path: Path
) -> None:
    api.enqueue(stall(30, after_events=["a partial ", "answer"]))
    chat = start()
    chat.wait_prompt()
    chat.child.send("tell me everything\r")
    chat.wait_for("a partial answer")
    chat.child.send(CTRL_C)
    chat.wait_for("[interrupted")
    chat.ask("and now?")
    assert sent_messages(api) == [
        {"role": "user", "content": "tell me everything"},
        {"role": "assistant", "content": "a partial answer"},
        {"role": "user", "content": "and now?"},
    ]
    assert "a partial answer" in chat.text
    assert chat.finish() == 0
    assert [row[1:] for row in stored_messages(tmp_path)][:2] == [
        ("user", "tell me everything", "complete"),
        ("assistant", "a partial answer", "interrupted"),
    ]


def test_ctrl_c_at_the_prompt_clears_the_line(start, api: FakeAPIServer) -> None:
    chat = start()
    chat.wait_prompt()
    chat.child.send("half a thought")
    chat.wait_for("> half a thought")
    chat.child.send(CTRL_C)
    chat.wait_prompt()
    assert chat.line_at_cursor() == ">"
    assert not api.requests
    assert chat.finish() == 0


def test_api_error_is_one_line_and_retry_resends(start, api: FakeAPIServer) -> None:
    api.enqueue(error(400, openai_error("the moon is in the wrong phase")))
    chat = start()
    chat.wait_prompt()
    chat.child.send("will this work\r")
    chat.wait_for("the moon is in the wrong phase")
    assert "atdak: error: HTTP 400: the moon is in the wrong phase" in chat.text
    chat.ask("/retry", "echo: will this work")
    assert len(api.requests) == 2
    assert sent_messages(api) == [{"role": "user", "content": "will this work"}]
    chat.ask("still here?")
    assert chat.finish() == 0


def test_network_error_mid_session_keeps_the_session(start, api: FakeAPIServer) -> None:
    api.enqueue(stream(["cut ", "short ", "here"], cut_after_events=3))
    chat = start()
    chat.ask("go", "atdak: error:")
    chat.ask("again")
    assert sent_messages(api)[-2] == {"role": "assistant", "content": "cut short "}
    assert chat.finish() == 0


def test_context_overflow_drops_oldest_turns(start, api: FakeAPIServer, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("word " * 24_000)  # ~24K tokens by the estimate; the model has 32K
    api.enqueue(stream(["ok one"]), stream(["ok two"]))
    chat = start("-m", "atdak-llama-70b", "--system", "be brief")
    chat.ask(f"/file {big}", "attached")
    chat.ask("first", "ok one")
    chat.ask(f"/file {big}", "attached")
    chat.ask("second", "ok two")
    assert "dropped the 1 oldest exchange to fit atdak-llama-70b's context" in chat.text
    messages = sent_messages(api)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == "be brief"
    assert messages[1]["content"].endswith("second")
    assert chat.finish() == 0


# -- slash commands


def test_settings_commands_change_the_next_request(start, api: FakeAPIServer) -> None:
    chat = start()
    chat.ask("/model atdak-claude-3", "model: atdak-claude-3 (200K context)")
    assert chat.toolbar.startswith("atdak-claude-3 · new · 0/200K")
    chat.ask("/model", "model: atdak-claude-3")
    chat.ask("/system You are terse.", "system prompt: You are terse.")
    chat.ask("/set temperature 0.25", "temperature = 0.25")
    chat.ask("/set max-tokens 50", "max_tokens = 50")
    chat.ask("/set temperature 7", "atdak: error: temperature must be between 0 and 2, not 7")
    chat.ask("hello")
    body = api.requests[-1].json()
    assert body["model"] == "atdak-claude-3"
    assert body["temperature"] == 0.25 and body["max_tokens"] == 50
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    assert len(api.requests) == 1
    assert chat.finish() == 0


def test_conversation_commands_undo_retry_clear(start, api: FakeAPIServer, tmp_path: Path) -> None:
    chat = start()
    chat.ask("one")
    chat.ask("two")
    chat.ask("/undo", "dropped the last exchange")
    chat.ask("three")
    assert [m["content"] for m in sent_messages(api)] == ["one", "echo: one", "three"]
    chat.ask("/retry", "echo: three")
    assert sent_messages(api) == sent_messages(api, -2)
    # The history holds the conversation as it now stands: no undone exchange, one answer.
    assert [row[1:3] for row in stored_messages(tmp_path)] == [
        ("user", "one"),
        ("assistant", "echo: one"),
        ("user", "three"),
        ("assistant", "echo: three"),
    ]
    chat.ask("/clear", "new conversation")
    assert chat.toolbar.startswith("atdak-gpt-4 · new ·")
    chat.ask("four")
    assert [m["content"] for m in sent_messages(api)] == ["four"]
    assert chat.toolbar.startswith("atdak-gpt-4 · #2 ·")
    assert chat.finish() == 0


def test_unknown_command_gets_a_hint_and_sends_nothing(start, api: FakeAPIServer) -> None:
    chat = start()
    chat.ask("/frobnicate now", "unknown command /frobnicate — /help lists them")
    chat.ask("//etc is a directory", "echo: /etc is a directory")
    assert [m["content"] for m in sent_messages(api)] == ["/etc is a directory"]
    assert len(api.requests) == 1
    assert chat.finish() == 0


def test_help_lists_every_command(start) -> None:
    chat = start()
    chat.ask("/help", "Ctrl-D: leave")
    for name in ("/model", "/system", "/set", "/clear", "/undo", "/retry", "/edit", "/file",
                 "/save", "/usage", "/copy", "/history", "/resume", "/exit"):  # fmt: skip
        assert f"\n  {name}" in chat.transcript, name
    assert chat.finish() == 0


def test_tab_completes_commands_and_model_names(start, api: FakeAPIServer) -> None:
    chat = start()
    chat.wait_prompt()
    chat.child.send("/mo")
    chat.wait_for("/model")  # the menu opens as you type
    chat.child.send("\t")
    chat.wait_for("> /model")
    chat.child.send(" atdak-cl")
    chat.wait_for("atdak-claude-3")
    chat.child.send("\t")
    chat.wait_for("> /model atdak-claude-3")
    chat.child.send("\r")
    chat.wait_for("model: atdak-claude-3 (200K context)")
    assert chat.finish() == 0


def test_file_save_usage_and_copy(start, api: FakeAPIServer, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("the notes\n")
    answer = "Here:\n\n```python\nprint('hi')\n```\n"
    api.enqueue(stream([answer], usage={"prompt_tokens": 11, "completion_tokens": 7,
                                        "total_tokens": 18}))  # fmt: skip
    chat = start()
    chat.ask(f"/file {notes}", "attached")
    chat.ask("summarise", "print('hi')")
    assert sent_messages(api)[-1]["content"] == (
        f'<file name="{notes}">\nthe notes\n</file>\n\nsummarise'
    )
    chat.ask("/usage", "context:")
    assert "used: 11 prompt + 7 completion = 18 tokens" in chat.text
    chat.ask("/copy 1", "copied code block 1")
    assert b"\x1b]52;c;" + base64.b64encode(b"print('hi')") + b"\x07" in chat.raw
    chat.ask("/copy", "copied the last answer")
    assert b"\x1b]52;c;" + base64.b64encode(answer.encode()) + b"\x07" in chat.raw
    chat.ask("/copy 3", "no code block 3: the last answer has 1 code block")
    saved = tmp_path / "chat.md"
    chat.ask(f"/save {saved}", "saved 2 messages")
    assert "## Assistant\n\nHere:\n\n```python\nprint('hi')\n```" in saved.read_text()
    assert chat.finish() == 0


def test_edit_command_and_ctrl_x_ctrl_e_use_the_editor(
    start, api: FakeAPIServer, tmp_path: Path
) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys\n"
        "path = sys.argv[1]\n"
        "text = open(path).read().strip()\n"
        "open(path, 'w').write((text + ' and more' if text else 'from the editor') + '\\n')\n"
    )
    chat = start(env={"EDITOR": f"{sys.executable} {editor}"})
    chat.ask("/edit", "echo: from the editor")
    chat.wait_prompt()
    chat.child.send("typed")
    chat.wait_for("> typed")
    chat.child.send("\x18\x05")  # Ctrl-X Ctrl-E: the line goes to the editor and comes back
    chat.wait_for("> typed and more")
    chat.child.send("\r")
    chat.wait_for("echo: typed and more")
    assert [m["content"] for m in sent_messages(api)][::2] == ["from the editor", "typed and more"]
    assert chat.finish() == 0


def test_history_and_resume(start, api: FakeAPIServer) -> None:
    first = start()
    first.ask("the first conversation")
    assert first.finish() == 0
    second = start()
    second.ask("another one")
    second.ask("/history", "#2")
    assert "the first conversation" in second.text
    second.ask("/resume 1", "resumed #1 (2 messages)")
    assert second.toolbar.startswith("atdak-gpt-4 · #1 ·")
    second.ask("back again")
    assert [m["content"] for m in sent_messages(api)] == [
        "the first conversation", "echo: the first conversation", "back again",
    ]  # fmt: skip
    second.ask("/resume 99", "atdak: error: no conversation #99")
    second.wait_prompt()
    second.child.send("/quit\r")
    assert second.exit_status() == 0


def test_continue_flag_loads_the_latest_conversation(start, api: FakeAPIServer) -> None:
    first = start()
    first.ask("keep this")
    assert first.finish() == 0
    second = start("--continue")
    second.wait_for("continuing #1 (2 messages)")
    second.ask("more")
    assert [m["content"] for m in sent_messages(api)] == ["keep this", "echo: keep this", "more"]
    second.wait_prompt()
    second.child.send("/exit\r")
    assert second.exit_status() == 0


# -- scripted: stdin is not a terminal


def test_piped_stdin_makes_each_line_a_turn(api: FakeAPIServer, key_env: str) -> None:
    done = run_atdak("chat", "--base-url", api.base_url, input="first\n\n/undo\nsecond\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == "echo: first\necho: second\n"
    assert [m["content"] for m in sent_messages(api)] == ["second"]
    assert b"dropped the last exchange" in done.stderr

    # --continue sends what the session ended with, not the exchange it undid.
    again = run_atdak("chat", "--base-url", api.base_url, "--continue", input="third\n")
    assert again.returncode == 0, again.stderr
    assert [m["content"] for m in sent_messages(api)] == ["second", "echo: second", "third"]


def test_a_changed_system_prompt_is_what_continue_sends(api: FakeAPIServer, key_env: str) -> None:
    done = run_atdak("chat", "--base-url", api.base_url, input="first\n/system Be brief.\nsecond\n")
    assert done.returncode == 0, done.stderr
    assert sent_messages(api)[0] == {"role": "system", "content": "Be brief."}
    again = run_atdak("chat", "--base-url", api.base_url, "--continue", input="third\n")
    assert again.returncode == 0, again.stderr
    assert [m["content"] for m in sent_messages(api)] == [
        "Be brief.", "first", "echo: first", "second", "echo: second", "third",
    ]  # fmt: skip
    removed = run_atdak(
        "chat", "--base-url", api.base_url, "--continue", input="/system -\nfourth\n"
    )
    assert removed.returncode == 0, removed.stderr
    assert sent_messages(api)[0] == {"role": "user", "content": "first"}


def test_piped_chat_does_not_import_prompt_toolkit(api: FakeAPIServer, key_env: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "atdak_cli",
            "chat",
            "--base-url",
            api.base_url,
            "--no-history",
        ],  # fmt: skip
        input=b"hi\n",
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout == b"echo: hi\n"
    assert b"prompt_toolkit" not in done.stderr
    assert b" rich" not in done.stderr


def test_piped_chat_exit_status_reports_a_failed_turn(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(error(401, openai_error("bad key")))
    done = run_atdak("chat", "--base-url", api.base_url, input="a\nb\n")
    assert done.returncode == 3
    assert done.stdout.decode() == "echo: b\n"
    assert b"atdak: error: HTTP 401: bad key" in done.stderr


def test_role_command_sets_system_prompt_and_options(
    start, api: FakeAPIServer, tmp_path: Path
) -> None:
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        '[roles.poet]\nsystem = "Write {form} only."\ntemperature = 1.5\n'
        'model = "atdak-gpt-4-mini"\n'
    )
    chat = start()
    chat.ask("/role poet", "atdak: error: role 'poet' needs form")
    chat.ask("/role poet form=haiku", "role poet: temperature = 1.5, model = atdak-gpt-4-mini")
    chat.ask("spring")
    body = api.requests[-1].json()
    assert body["messages"][0] == {"role": "system", "content": "Write haiku only."}
    assert (body["model"], body["temperature"]) == ("atdak-gpt-4-mini", 1.5)
    assert chat.finish() == 0


def test_a_missing_key_is_reported_before_the_prompt(api: FakeAPIServer) -> None:
    # The client is built in the background once the prompt is drawn; what would stop it
    # must not wait for a question to be typed.
    chat = Chat(api, "--base-url", "https://api.example.invalid/v1")
    try:
        assert chat.exit_status() == 3
    finally:
        if chat.child.isalive():
            chat.child.terminate(force=True)
    assert ">" not in chat.text.split()
    assert "atdak: error: no API key is configured" in chat.text
    assert api.requests == []


def test_keys_typed_during_an_answer_wait_for_the_next_prompt(start, api: FakeAPIServer) -> None:
    api.enqueue(stream([f"word{n} " for n in range(12)], delay=0.05))
    chat = start()
    chat.wait_prompt()
    chat.child.send("go\r")
    chat.wait_for("word1 ")
    chat.child.send("zzz")
    chat.wait_for("word11")
    answer_end = len(chat.raw)
    chat.wait_for("> zzz")  # kept for the next prompt, not echoed into the answer
    assert b"zzz" not in chat.raw[:answer_end]
    chat.child.send("\x15")  # Ctrl-U: clear the line
    assert chat.finish() == 0
