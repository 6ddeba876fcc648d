"""``atdak batch``: many requests, bounded concurrency, ordered output, resuming."""

from __future__ import annotations

import collections
import io
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from atdak_cli.client import AtdakClient, RetryPolicy
from atdak_cli.commands.batch import BatchOptions, Progress, SharedBackoff, run_batch
from atdak_cli.config import Settings
from atdak_cli.errors import UsageError
from atdak_cli.terminal import Terminal
from tests.utils.api_server import (
    Exchange,
    FakeAPIServer,
    RecordedRequest,
    Reply,
    echo,
    error,
    json_completion,
    openai_error,
    reset,
    respond_with,
)
from tests.utils.process import CANARY_KEY, run_atdak


def no_sleep(seconds: float) -> None:
    """Retry delays are injected: tests never wait."""


@pytest.fixture
def client(api: FakeAPIServer) -> Iterator[AtdakClient]:
    with (
        httpx.Client() as http,
        AtdakClient(
            api_key=CANARY_KEY,
            base_url=api.base_url,
            retry_policy=RetryPolicy(sleep=no_sleep),
            http_client=http,
        ) as made,
    ):
        yield made


def write_lines(path: Path, lines: list[Any]) -> str:
    blank = [isinstance(x, str) and not x.strip() for x in lines]
    text = "".join((x if b else json.dumps(x)) + "\n" for x, b in zip(lines, blank, strict=True))
    path.write_text(text, encoding="utf-8")
    return str(path)


def batch(
    client: AtdakClient,
    path: str,
    *,
    settings: Settings | None = None,
    concurrency: int = 4,
    output: str | None = None,
    resume: bool = False,
    tty: bool = False,
) -> tuple[int, Terminal]:
    terminal = Terminal(stdout=io.StringIO(), stderr=io.StringIO(), stderr_isatty=tty)
    options = BatchOptions(path=path, concurrency=concurrency, output=output, resume=resume)
    status = run_batch(client, settings or Settings(base_url=client.base_url), terminal, options)
    return status, terminal


def records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def prompt_of(request: RecordedRequest) -> str:
    content: str = request.json()["messages"][-1]["content"]
    return content


# --- input and output ---------------------------------------------------------------------


def test_batch_answers_every_line_in_input_order(client: AtdakClient, tmp_path: Path) -> None:
    lines = ["first", {"messages": [{"role": "user", "content": "second"}]}, " ", "third"]
    status, terminal = batch(client, write_lines(tmp_path / "in.jsonl", lines))
    assert status == 0
    out = records(terminal.stdout.getvalue())  # type: ignore[attr-defined]
    assert [(r["index"], r["line"], r["answer"]) for r in out] == [
        (0, 1, "echo: first"),
        (1, 2, "echo: second"),
        (2, 4, "echo: third"),
    ]
    assert out[0] == {
        "index": 0,
        "line": 1,
        "ok": True,
        "answer": "echo: first",
        "finish_reason": "stop",
        "model": "atdak-gpt-4",
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    assert terminal.stderr.getvalue() == ""  # type: ignore[attr-defined]


def test_line_parameters_override_command_line_settings(
    api: FakeAPIServer, client: AtdakClient, tmp_path: Path
) -> None:
    line = {
        "messages": [{"role": "user", "content": "q"}],
        "model": "atdak-claude-3",
        "temperature": 1.5,
        "max_tokens": 7,
        "system": "line system",
        "seed": 42,
    }
    settings = Settings(base_url=api.base_url, model="atdak-gpt-4-mini", temperature=0.2,
                        top_p=0.5, system="flag system")  # fmt: skip
    path = write_lines(tmp_path / "in.jsonl", ["plain", line])
    assert batch(client, path, settings=settings, concurrency=1)[0] == 0
    plain, custom = (r.json() for r in api.requests)
    assert plain == {
        "model": "atdak-gpt-4-mini",
        "messages": [
            {"role": "system", "content": "flag system"},
            {"role": "user", "content": "plain"},
        ],
        "temperature": 0.2,
        "top_p": 0.5,
    }
    assert custom == {
        "model": "atdak-claude-3",
        "messages": [
            {"role": "system", "content": "line system"},
            {"role": "user", "content": "q"},
        ],
        "temperature": 1.5,
        "top_p": 0.5,
        "max_tokens": 7,
        "seed": 42,
    }
    assert "stream" not in custom


def test_line_separator_inside_a_prompt_stays_one_request(
    client: AtdakClient, tmp_path: Path
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('"a\u2028b\u0085c"\n', encoding="utf-8")
    status, terminal = batch(client, str(path))
    assert status == 0
    assert [r["answer"] for r in records(terminal.stdout.getvalue())] == [  # type: ignore[attr-defined]
        "echo: a\u2028b\u0085c"
    ]


def test_malformed_line_exits_2_naming_it_and_sends_nothing(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('"ok"\n"also ok"\n{"messages": [}\n42\n', encoding="utf-8")
    result = run_atdak("batch", "--base-url", api.base_url, str(path))
    assert result.returncode == 2
    assert f"{path} line 3: not JSON" in result.stderr.decode()
    assert "(and 1 more bad lines)" in result.stderr.decode()
    assert result.stdout == b""
    assert api.requests == []


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ({"messages": [{"role": "user", "content": "q"}], "temperature": 3}, "temperature must"),
        ({"messages": [{"role": "user", "content": "q"}], "max_tokens": 0}, "max_tokens must"),
        ({"messages": [{"role": "user", "content": "q"}], "max_tokens": 1.5}, "an integer"),
        ({"messages": [{"role": "user", "content": "q"}], "top_p": "high"}, "top_p must"),
        ({"messages": [{"role": "user", "content": "q"}], "stream": True}, "stream is not"),
        ({"messages": [{"role": "user", "content": "q"}], "model": ""}, "model must"),
        ({"messages": [{"role": "user", "content": "q"}], "system": 1}, "system must"),
        ({"messages": []}, "needs messages"),
        ({"messages": [{"content": "q"}]}, "needs a role"),
        ({"prompt": "q"}, "needs messages"),
        ("   ", "prompt is empty"),
        (42, "JSON string"),
    ],
)
def test_invalid_line_is_refused_before_sending(
    api: FakeAPIServer, client: AtdakClient, tmp_path: Path, line: Any, complaint: str
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('"fine"\n' + json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(UsageError, match="line 2: .*" + complaint):
        batch(client, str(path))
    assert api.requests == []


def test_resume_without_output_is_a_usage_error(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "in.jsonl", ["q"])
    result = run_atdak("batch", "--base-url", api.base_url, path, "--resume")
    assert result.returncode == 2
    assert "--resume needs -o/--output" in result.stderr.decode()
    assert api.requests == []


@pytest.mark.parametrize("concurrency", [0, 65])
def test_concurrency_out_of_range_is_a_usage_error(
    client: AtdakClient, tmp_path: Path, concurrency: int
) -> None:
    with pytest.raises(UsageError, match="--concurrency must be between 1 and 64"):
        batch(client, write_lines(tmp_path / "in.jsonl", ["q"]), concurrency=concurrency)


# --- failures ---------------------------------------------------------------------------


def by_prompt(replies: dict[str, Reply]) -> Reply:
    return respond_with(lambda request: replies.get(prompt_of(request), echo()))


def test_failed_line_does_not_stop_batch_and_first_failure_sets_exit_status(
    api: FakeAPIServer, client: AtdakClient, tmp_path: Path
) -> None:
    limited = error(429, openai_error("slow down"), headers={"Retry-After": "0"})
    rejected = error(400, openai_error("bad request"))
    api.set_default(by_prompt({"limited": limited, "rejected": rejected}))
    path = write_lines(tmp_path / "in.jsonl", ["a", "limited", "rejected", "b"])
    status, terminal = batch(client, path)
    out = records(terminal.stdout.getvalue())  # type: ignore[attr-defined]
    assert status == 5  # rate limited past retries: the first failure in input order
    assert [r["ok"] for r in out] == [True, False, False, True]
    assert out[1]["error"] == {"status": 5, "kind": "rate_limited",
                               "message": "HTTP 429: slow down", "http_status": 429}  # fmt: skip
    assert out[2]["error"]["status"] == 4 and out[2]["usage"] is None
    assert sum(prompt_of(r) == "limited" for r in api.requests) == 1 + 8  # batch retries
    stderr = terminal.stderr.getvalue()  # type: ignore[attr-defined]
    assert "2 of 4 requests failed; the first, line 2: HTTP 429: slow down" in stderr


def test_tool_call_answer_is_a_failed_line_naming_the_tool(
    api: FakeAPIServer, client: AtdakClient, tmp_path: Path
) -> None:
    weather = json_completion(
        None, tool_calls=[("get_weather", '{"city": "Paris"}')], finish_reason="tool_calls"
    )
    api.set_default(by_prompt({"weather": weather}))
    status, terminal = batch(client, write_lines(tmp_path / "in.jsonl", ["a", "weather"]))
    out = records(terminal.stdout.getvalue())  # type: ignore[attr-defined]
    assert status == 4 and [r["ok"] for r in out] == [True, False]
    assert out[1]["error"]["status"] == 4 and "get_weather" in out[1]["error"]["message"]


class Faults:
    """Scripted trouble by request: a 429 (Retry-After: 0) on the first two tries of every
    7th prompt, a reset on the first try of every 11th; counts answers and overlap."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tries: collections.Counter[int] = collections.Counter()
        self.answered: collections.Counter[int] = collections.Counter()
        self.in_flight = 0
        self.most_in_flight = 0
        self.resets = 0

    def __call__(self, request: RecordedRequest) -> Reply:
        number = int(prompt_of(request).split()[-1])
        with self.lock:
            tries = self.tries[number]
            self.tries[number] += 1
        if number % 7 == 0 and tries < 2:
            return error(429, openai_error("slow down"), headers={"Retry-After": "0"})
        if number % 11 == 0 and tries == 0:
            with self.lock:
                self.resets += 1
            return reset()
        return Reply(lambda ex: self.answer(ex, number), "counted echo")

    def answer(self, ex: Exchange, number: int) -> None:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        ex.wait(0.002)  # the server is busy a moment, so requests overlap
        with self.lock:
            self.in_flight -= 1
            self.answered[number] += 1
        echo()(ex)


def test_thousand_requests_with_429s_and_resets_answer_each_line_once_in_order(
    api: FakeAPIServer, client: AtdakClient, tmp_path: Path
) -> None:
    faults = Faults()
    api.set_default(respond_with(faults))
    output = tmp_path / "out.jsonl"
    path = write_lines(tmp_path / "in.jsonl", [f"question {i}" for i in range(1000)])
    status, _ = batch(client, path, concurrency=8, output=str(output))
    assert status == 0
    out = records(output.read_text(encoding="utf-8"))
    assert [r["index"] for r in out] == list(range(1000))
    assert all(r["ok"] and r["answer"] == f"echo: question {r['index']}" for r in out)
    assert faults.answered == collections.Counter(range(1000))  # each exactly once
    assert 2 <= faults.most_in_flight <= 8
    assert api.connection_count <= 8 + faults.resets  # one pool, reused
    assert len(api.requests) == 1000 + 2 * len(range(0, 1000, 7)) + faults.resets


# --- resuming -----------------------------------------------------------------------------


def test_resume_retries_only_failed_lines_and_rewrites_file_in_order(
    api: FakeAPIServer, client: AtdakClient, tmp_path: Path
) -> None:
    output = tmp_path / "out.jsonl"
    path = write_lines(tmp_path / "in.jsonl", ["a", "b", "c", "d"])
    api.set_default(by_prompt({"c": error(404, openai_error("no such model"))}))
    assert batch(client, path, output=str(output))[0] == 4
    api.reset()
    assert batch(client, path, output=str(output), resume=True)[0] == 0
    assert [prompt_of(r) for r in api.requests] == ["c"]
    out = records(output.read_text(encoding="utf-8"))
    assert [(r["index"], r["answer"]) for r in out] == [
        (0, "echo: a"), (1, "echo: b"), (2, "echo: c"), (3, "echo: d"),
    ]  # fmt: skip
    assert output.stat().st_mode & 0o777 == 0o600


def test_resume_ignores_a_line_cut_short(
    api: FakeAPIServer, client: AtdakClient, tmp_path: Path
) -> None:
    output = tmp_path / "out.jsonl"
    path = write_lines(tmp_path / "in.jsonl", ["a", "b"])
    done = {"index": 0, "line": 1, "ok": True, "answer": "kept", "usage": None}
    output.write_text(json.dumps(done) + '\n{"index": 1, "line": 2, "ok": tr', encoding="utf-8")
    assert batch(client, path, output=str(output), resume=True)[0] == 0
    assert [prompt_of(r) for r in api.requests] == ["b"]
    assert [r["answer"] for r in records(output.read_text(encoding="utf-8"))] == [
        "kept",
        "echo: b",
    ]


def test_resume_refuses_the_output_of_another_batch(
    api: FakeAPIServer, client: AtdakClient, tmp_path: Path
) -> None:
    output = tmp_path / "out.jsonl"
    output.write_text(json.dumps({"index": 5, "line": 6, "ok": True}) + "\n", encoding="utf-8")
    path = write_lines(tmp_path / "in.jsonl", ["a", "b"])
    with pytest.raises(UsageError, match="does not match this input"):
        batch(client, path, output=str(output), resume=True)
    assert api.requests == []


def start_batch(api: FakeAPIServer, tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ATDAK_API_KEY": CANARY_KEY}
    argv = ["batch", "--base-url", api.base_url, str(tmp_path / "in.jsonl"),
            "-o", str(tmp_path / "out.jsonl"), *args]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "atdak_cli", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_batch_resumed_finishes_without_redoing_finished_lines(
    api: FakeAPIServer, key_env: str, tmp_path: Path, sig: signal.Signals
) -> None:
    total = 200
    write_lines(tmp_path / "in.jsonl", [f"question {i}" for i in range(total)])
    api.latency = 0.01
    proc = start_batch(api, tmp_path)
    try:
        api.wait_for_requests(60, timeout=20)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == (143 if sig == signal.SIGTERM else -signal.SIGKILL)
    if sig == signal.SIGTERM:
        assert b"run it again with --resume" in err
    out = tmp_path / "out.jsonl"
    done = {r["index"] for r in records(out.read_text(encoding="utf-8")) if r["ok"]}
    assert 0 < len(done) < total
    # The resumed run asks for another model, which tells its requests apart.
    result = run_atdak("batch", "--base-url", api.base_url, "-m", "atdak-resume",
                       str(tmp_path / "in.jsonl"), "-o", str(out), "--resume")  # fmt: skip
    assert result.returncode == 0, result.stderr
    resumed = [r for r in api.requests if r.json()["model"] == "atdak-resume"]
    asked = sorted(int(prompt_of(r).split()[-1]) for r in resumed)
    assert asked == sorted(set(range(total)) - done)  # each missing line once, no finished one
    final = records(out.read_text(encoding="utf-8"))
    assert [r["index"] for r in final] == list(range(total))
    assert all(r["answer"] == f"echo: question {r['index']}" for r in final)


# --- progress and pacing -------------------------------------------------------------------


def test_progress_bar_on_a_terminal_stderr(client: AtdakClient, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "in.jsonl", ["a", "b", "c"])
    _, terminal = batch(client, path, tty=True)
    stderr = terminal.stderr.getvalue()  # type: ignore[attr-defined]
    assert stderr.startswith("\r[")
    assert stderr.endswith(f"\r[{'#' * 30}] 3/3\n")


def test_no_progress_bar_when_stderr_is_not_a_terminal(client: AtdakClient, tmp_path: Path) -> None:
    _, terminal = batch(client, write_lines(tmp_path / "in.jsonl", ["a"]), tty=False)
    assert terminal.stderr.getvalue() == ""  # type: ignore[attr-defined]


def test_progress_bar_shows_failures() -> None:
    stream = io.StringIO()
    progress = Progress(stream, 4, enabled=True)
    progress.update(2, 1)
    progress.finish()
    assert stream.getvalue() == f"\r[{'#' * 15}{' ' * 15}] 2/4  1 failed\n"


def test_retry_after_told_to_one_worker_holds_back_the_others() -> None:
    now = [100.0]
    slept: list[float] = []
    backoff = SharedBackoff(slept.append, clock=lambda: now[0])
    backoff.pause(2.0)  # the worker that got the 429
    now[0] += 0.5
    backoff.wait()  # another worker, about to send
    now[0] += 5.0
    backoff.wait()  # later: no pause left
    assert slept == [2.0, 1.5]
