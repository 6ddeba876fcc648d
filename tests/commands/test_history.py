"""History through the commands: what `complete` saves on each way out, and `atdak history`."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.utils.api_server import (
    FakeAPIServer,
    json_completion,
    keepalive_forever,
    stream,
    stream_error_event,
)
from tests.utils.process import CANARY_KEY, run_atdak


def rows(tmp_path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(tmp_path / "data" / "history.db") as conn:
        found = conn.execute("SELECT role, status, content FROM messages ORDER BY id").fetchall()
    conn.close()
    return [tuple(r) for r in found]


def test_complete_saves_question_and_answer(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "你好 world")
    assert result.returncode == 0
    assert rows(tmp_path) == [
        ("user", "complete", "你好 world"),
        ("assistant", "complete", "echo: 你好 world"),
    ]
    assert (tmp_path / "data" / "history.db").stat().st_mode & 0o777 == 0o600


def test_continue_sends_the_stored_conversation_as_context(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    run_atdak("complete", "--base-url", api.base_url, "-s", "sys", "first")
    run_atdak("complete", "--base-url", api.base_url, "-c", "second")
    assert api.requests[-1].json()["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "echo: first"},
        {"role": "user", "content": "second"},
    ]
    assert [r[2] for r in rows(tmp_path)][-2:] == ["second", "echo: second"]


def test_conversation_id_that_does_not_exist_exits_2(api: FakeAPIServer, key_env: str) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "--conversation", "42", "hi")
    assert result.returncode == 2
    assert api.requests == []


def test_no_history_saves_nothing(api: FakeAPIServer, key_env: str, tmp_path: Path) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "--no-history", "hi")
    assert result.returncode == 0
    assert not (tmp_path / "data" / "history.db").exists()


def test_broken_stream_saves_partial_answer_as_incomplete(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    api.enqueue(stream(["part one ", "part two", " never"], cut_after_events=3))
    result = run_atdak("complete", "--base-url", api.base_url, "hi")
    assert result.returncode == 7
    assert result.stdout.startswith(b"part one part two")
    assert rows(tmp_path)[-1] == ("assistant", "incomplete", "part one part two")


def test_unwritable_history_still_delivers_answer_and_exits_10(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    result = run_atdak(
        "complete", "--base-url", api.base_url, "hi", env={"ATDAK_DATA_DIR": str(blocker / "x")}
    )
    assert result.returncode == 10
    assert result.stdout == b"echo: hi\n"
    assert result.stderr.count(b"\n") == 1 and b"history" in result.stderr


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["sigint", "sigterm"]
)
def test_signal_mid_stream_saves_partial_answer_as_interrupted(
    api: FakeAPIServer, key_env: str, tmp_path: Path, sig: int, code: int
) -> None:
    api.enqueue(keepalive_forever(0.05, deltas_before=["partial ", "answer"]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "atdak_cli", "complete", "--base-url", api.base_url, "hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    assert proc.stdout is not None
    assert proc.stdout.read(len(b"partial answer")) == b"partial answer"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == code, err
    assert rows(tmp_path)[-1] == ("assistant", "interrupted", "partial answer")


def test_history_list_show_search_export(api: FakeAPIServer, key_env: str) -> None:
    run_atdak("complete", "--base-url", api.base_url, "retry backoff jitter")
    run_atdak("complete", "--base-url", api.base_url, "春天的诗")
    listing = run_atdak("history", "list").stdout.decode()
    assert "春天的诗" in listing.splitlines()[1] and "retry backoff" in listing
    shown = run_atdak("history", "show").stdout.decode()
    assert "## User" in shown and "echo: 春天的诗" in shown
    found = run_atdak("history", "search", "backoff").stdout.decode()
    assert "«backoff»" in found
    exported = run_atdak("history", "export").stdout.decode().splitlines()
    assert [json.loads(line)["title"] for line in exported] == ["retry backoff jitter", "春天的诗"]


def test_history_delete(api: FakeAPIServer, key_env: str) -> None:
    run_atdak("complete", "--base-url", api.base_url, "x")
    assert run_atdak("history", "delete", "1").returncode == 0
    assert run_atdak("history", "delete", "1").returncode == 2


def assistant_row(tmp_path: Path) -> tuple[str, str, str | None, str | None]:
    with sqlite3.connect(tmp_path / "data" / "history.db") as conn:
        (row,) = conn.execute(
            "SELECT status, content, reasoning, error FROM messages WHERE role = 'assistant'"
        ).fetchall()
    conn.close()
    return tuple(row)  # type: ignore[return-value]


def test_reasoning_sent_as_delta_reasoning_is_stored_as_reasoning(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    api.enqueue(stream(["42"], reasoning=["think ", "hard"], reasoning_field="reasoning"))
    result = run_atdak("complete", "--base-url", api.base_url, "q")
    assert (result.returncode, result.stdout) == (0, b"42\n")
    assert assistant_row(tmp_path) == ("complete", "42", "think hard", None)


def test_non_streamed_message_reasoning_is_stored_as_reasoning(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    api.enqueue(json_completion("42", reasoning="thought", reasoning_field="reasoning"))
    result = run_atdak("complete", "--base-url", api.base_url, "--no-stream", "q")
    assert (result.returncode, result.stdout) == (0, b"42\n")
    assert assistant_row(tmp_path)[2] == "thought"


def test_llama_cpp_error_field_saves_the_turn_as_an_error(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    api.enqueue(
        stream_error_event(["Hel", "lo"], {"message": "ctx full"}, wrap=False, field_name="error")
    )
    result = run_atdak("complete", "--base-url", api.base_url, "q")
    assert result.returncode == 6 and b"ctx full" in result.stderr
    status, content, _, error = assistant_row(tmp_path)
    assert (status, content) == ("error", "Hello") and "ctx full" in (error or "")


@pytest.mark.parametrize("args", [(), ("--no-stream",)], ids=["stream", "no-stream"])
def test_tool_call_answer_is_not_saved_as_complete(
    api: FakeAPIServer, key_env: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    weather = ("get_weather", '{"city": "Paris"}')
    if args:
        api.enqueue(json_completion(None, tool_calls=[weather], finish_reason="tool_calls"))
    else:
        api.enqueue(stream([], tool_calls=[weather], finish_reason="tool_calls"))
    result = run_atdak("complete", "--base-url", api.base_url, *args, "weather?")
    assert result.returncode == 4 and b"get_weather" in result.stderr
    status, _, _, error = assistant_row(tmp_path)
    assert status == "error" and "get_weather" in (error or "")


def test_key_never_reaches_the_database(api: FakeAPIServer, key_env: str, tmp_path: Path) -> None:
    run_atdak("complete", "--base-url", api.base_url, "--usage", "hi")
    for path in (tmp_path / "data").iterdir():
        assert CANARY_KEY.encode() not in path.read_bytes()


def test_reasoning_is_kept_in_history_but_not_printed_to_a_pipe(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    api.enqueue(stream(["42"], reasoning=["think ", "hard"]))
    result = run_atdak("complete", "--base-url", api.base_url, "q")
    assert result.stdout == b"42\n"
    with sqlite3.connect(tmp_path / "data" / "history.db") as conn:
        stored = conn.execute("SELECT content, reasoning FROM messages WHERE role = 'assistant'")
        assert stored.fetchall() == [("42", "think hard")]
    conn.close()
    exported = json.loads(run_atdak("history", "export", "1").stdout)
    assert exported["messages"][1]["reasoning"] == "think hard"
