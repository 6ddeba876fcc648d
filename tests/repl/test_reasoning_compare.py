"""The chat's thinking and comparison: /reasoning folds or keeps the thinking, /compare asks
the last question of several models, /keep N goes on with one answer; a budget refuses."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.repl.test_pty import Chat
from tests.utils.api_server import FakeAPIServer, RecordedRequest, Reply, respond_with, stream
from tests.utils.process import run_atdak

ANSWERS = {"atdak-gpt-4": "Red.", "fast": "Green.", "slow": "Blue, like the sea."}


def by_model(request: RecordedRequest) -> Reply:
    model = request.json()["model"]
    thinking = ["Colours... ", "pick one."] if model == "atdak-gpt-4" else []
    return stream([ANSWERS.get(model, "ok")], reasoning=thinking, delay=0.01)


def test_compare_then_keep_goes_on_with_the_kept_answer(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    api.set_default(respond_with(by_model))
    lines = "Name a colour.\n/compare fast slow\n/keep 2\nWhy?\n"
    result = run_atdak("chat", "--base-url", api.base_url, input=lines)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.decode().split())
    assert "1. fast" in out and "2. slow" in out and "Blue, like the sea." in out
    assert "kept answer 2 (slow)" in result.stderr.decode()
    asked = [r.json() for r in api.requests]
    models = [a["model"] for a in asked]
    assert (models[0], sorted(models[1:3]), models[3]) == (
        "atdak-gpt-4",
        ["fast", "slow"],
        models[0],
    )
    # The comparison asked the question alone; the next turn carries the kept answer.
    assert all(m["role"] == "user" for a in asked[1:3] for m in a["messages"])
    assert [m["content"] for m in asked[3]["messages"]] == [
        "Name a colour.",
        "Blue, like the sea.",
        "Why?",
    ]
    with sqlite3.connect(tmp_path / "data" / "history.db") as conn:
        rows = conn.execute("SELECT role, content, model FROM messages ORDER BY id").fetchall()
    conn.close()
    assert [(r[0], r[1]) for r in rows] == [
        ("user", "Name a colour."),
        ("assistant", "Blue, like the sea."),
        ("user", "Why?"),
        ("assistant", "Red."),
    ]
    assert rows[1][2] == "slow"


def test_keep_without_a_comparison_is_refused(api: FakeAPIServer, key_env: str) -> None:
    result = run_atdak("chat", "--base-url", api.base_url, input="/keep 1\n")
    assert "no comparison to keep an answer from" in result.stderr.decode()
    assert api.requests == []


def test_reasoning_last_shows_the_thinking_that_was_folded(
    api: FakeAPIServer, key_env: str
) -> None:
    api.set_default(respond_with(by_model))
    result = run_atdak("chat", "--base-url", api.base_url, input="q\n/reasoning last\n")
    assert result.stdout.decode() == "Red.\n"
    assert "Colours... pick one." in result.stderr.decode()


def test_chat_budget_refuses_and_keeps_the_session(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text('[prices."atdak-gpt-4"]\ninput = 1.0\noutput = 1000000.0\n')
    args = ("chat", "--base-url", api.base_url, "--max-cost", "2.5", "--max-tokens", "5")
    result = run_atdak(*args, input="q\n/set max_tokens 2\nq\n")
    assert "not sent: the request could cost up to $5.0000" in result.stderr.decode()
    assert len(api.requests) == 1 and api.requests[0].json()["max_tokens"] == 2
    assert result.returncode == 5


def test_reasoning_toggles_between_folded_and_kept_in_a_terminal(
    api: FakeAPIServer, key_env: str
) -> None:
    api.set_default(respond_with(by_model))
    chat = Chat(api)
    chat.ask("first", answer="Red.")
    assert "thought for" in chat.transcript and "pick one." not in chat.transcript
    chat.ask("/reasoning", answer="thinking is kept on screen")
    chat.ask("second", answer="Red.")
    assert "Colours... pick one." in chat.transcript
    assert chat.finish() == 0
