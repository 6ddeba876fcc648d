"""Thinking through the real process: every shape the servers use, the answer alone on stdout,
both kept apart in history, and never sent back to the server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.utils.api_server import FakeAPIServer, json_completion, stream
from tests.utils.process import run_atdak

THOUGHT, ANSWER = "2 and 2 make 4.", "It is **4**."
INLINE = f"<think>\n{THOUGHT}\n</think>\n\n{ANSWER}"


def stored(tmp_path: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(tmp_path / "data" / "history.db") as conn:
        found = conn.execute("SELECT role, content, reasoning FROM messages ORDER BY id").fetchall()
    conn.close()
    return [tuple(r) for r in found]


SHAPES = {
    "reasoning_content": lambda: stream([ANSWER], reasoning=["2 and 2 ", "make 4."]),
    "reasoning": lambda: stream(
        [ANSWER], reasoning=["2 and 2 ", "make 4."], reasoning_field="reasoning"
    ),
    "inline": lambda: stream([INLINE[:9], INLINE[9:30], INLINE[30:]]),
    "inline bytes": lambda: stream([INLINE], write_size=1),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_reasoning_shape_gives_the_answer_alone_on_stdout(
    shape: str, api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    api.enqueue(SHAPES[shape]())
    result = run_atdak("complete", "--base-url", api.base_url, "2+2?")
    assert (result.returncode, result.stdout.decode()) == (0, ANSWER + "\n")
    assert THOUGHT.encode() not in result.stderr  # stderr is not a terminal: nobody to show
    assert stored(tmp_path)[1] == ("assistant", ANSWER, THOUGHT)


@pytest.mark.parametrize("cut", range(1, len(INLINE)))
def test_think_tag_split_at_every_position_over_the_wire(
    cut: int, api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    api.enqueue(stream([INLINE[:cut], INLINE[cut:]]))
    result = run_atdak("complete", "--base-url", api.base_url, "--no-history", "2+2?")
    assert (result.returncode, result.stdout.decode()) == (0, ANSWER + "\n")


def test_non_streamed_inline_thinking_is_split_too(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    api.enqueue(json_completion(INLINE))
    result = run_atdak("complete", "--base-url", api.base_url, "--no-stream", "2+2?")
    assert (result.returncode, result.stdout.decode()) == (0, ANSWER + "\n")
    assert stored(tmp_path)[1] == ("assistant", ANSWER, THOUGHT)


def test_thinking_is_never_sent_back_in_the_next_turn(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    api.enqueue(stream([INLINE]), stream(["5"], reasoning=["more thought"]))
    assert run_atdak("complete", "--base-url", api.base_url, "2+2?").returncode == 0
    assert run_atdak("complete", "--base-url", api.base_url, "-c", "and +1?").returncode == 0
    sent = api.requests[-1].json()["messages"]
    assert [m["content"] for m in sent] == ["2+2?", ANSWER, "and +1?"]
    assert all(set(m) == {"role", "content"} for m in sent)
    assert "think" not in api.requests[-1].text


def test_a_lone_think_later_in_the_answer_is_kept(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    text = "Wrap it as <think>…</think>, like that."
    api.enqueue(stream([text[:15], text[15:]]))
    result = run_atdak("complete", "--base-url", api.base_url, "--no-history", "how?")
    assert result.stdout.decode() == text + "\n"


def test_stream_cut_while_thinking_saves_the_thought_as_reasoning(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    api.enqueue(stream(["<think>half a ", "thought"], finish_reason=None, done=False))
    result = run_atdak("complete", "--base-url", api.base_url, "q")
    assert result.returncode == 9
    assert result.stdout == b""
    assert stored(tmp_path)[1] == ("assistant", "", "half a thought")


def test_reasoning_to_a_file_keeps_the_thinking_and_stdout_the_answer(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    api.enqueue(stream([INLINE]), stream(["B"], reasoning=["second thought"]))
    notes = tmp_path / "thoughts.txt"
    for _ in range(2):
        result = run_atdak(
            "complete", "--base-url", api.base_url, "--reasoning-to", str(notes), "q"
        )
        assert result.returncode == 0
    assert result.stdout == b"B\n"
    assert notes.read_text() == f"{THOUGHT}\nsecond thought\n"  # appended, never lost


def test_reasoning_to_stderr(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(stream(["A"], reasoning=["let me ", "see"], reasoning_field="reasoning"))
    result = run_atdak("complete", "--base-url", api.base_url, "--reasoning-to", "stderr", "q")
    assert (result.stdout, result.stderr) == (b"A\n", b"let me see\n")


def test_reasoning_to_with_json_still_gets_the_thinking(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    api.enqueue(stream(["A"], reasoning=["hmm"]))
    notes = tmp_path / "t.txt"
    result = run_atdak(
        "complete", "--base-url", api.base_url, "--json", "--reasoning-to", str(notes), "q"
    )
    assert result.returncode == 0 and notes.read_text() == "hmm\n"


def test_unwritable_reasoning_file_is_refused_before_sending(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    target = str(tmp_path / "missing" / "t.txt")
    result = run_atdak("complete", "--base-url", api.base_url, "--reasoning-to", target, "q")
    assert result.returncode == 2
    assert result.stderr.decode().startswith("atdak: error: cannot write the reasoning to")
    assert api.requests == []


def test_reasoning_effort_is_sent_from_the_flag_or_the_profile(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text(
        '[profiles.deep]\nreasoning_effort = "high"\n'
        '[roles.quick]\nsystem = "Be quick."\nreasoning_effort = "medium"\n'
    )
    base = ("complete", "--base-url", api.base_url, "--no-history")
    assert run_atdak(*base, "--reasoning-effort", "low", "q").returncode == 0
    assert run_atdak(*base, "--profile", "deep", "q").returncode == 0
    assert run_atdak(*base, "--role", "quick", "q").returncode == 0
    assert run_atdak(*base, "q").returncode == 0
    sent = [r.json().get("reasoning_effort") for r in api.requests]
    assert sent == ["low", "high", "medium", None]


def test_unknown_reasoning_effort_is_a_usage_error(api: FakeAPIServer, key_env: str) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "--reasoning-effort", "max", "q")
    assert result.returncode == 2
    assert b"reasoning_effort must be one of low, medium, high" in result.stderr
    assert api.requests == []


def test_thinking_known_only_from_its_token_count_is_counted_and_stored(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    usage = {
        "prompt_tokens": 5,
        "completion_tokens": 70,
        "completion_tokens_details": {"reasoning_tokens": 64},
    }
    api.enqueue(stream([ANSWER], usage=usage))
    result = run_atdak("complete", "--base-url", api.base_url, "--usage", "2+2?")
    assert result.stdout.decode() == ANSWER + "\n"
    assert "70 completion (64 reasoning)" in result.stderr.decode()
    with sqlite3.connect(tmp_path / "data" / "history.db") as conn:
        row = conn.execute("SELECT reasoning, reasoning_tokens FROM messages WHERE id = 2")
        assert row.fetchall() == [(None, 64)]
    conn.close()
