"""The process and its terminal: signals, closed or full stdout, a C locale."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.utils.api_server import Exchange, FakeAPIServer, Reply, stream
from tests.utils.fault_replies import chunk, events_text
from tests.utils.process import CANARY_KEY, run_atdak


def hold_until_gone(deltas: list[str], gone: threading.Event) -> Reply:
    """Send ``deltas`` (none: not even the headers), then keep the connection open and
    silent until the client closes it; ``gone`` is set when it does."""

    def send(ex: Exchange) -> None:
        if deltas:
            ex.start_chunked(200, "text/event-stream", None)
            events = [chunk("", role="assistant"), *[chunk(d) for d in deltas]]
            ex.write_chunk(events_text(events))
        while not ex.client_gone():
            if ex.wait(0.01):
                return
        gone.set()
        ex.close()

    return Reply(send, "hold_until_gone")


def start(api: FakeAPIServer, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "atdak_cli", "complete", "--base-url", api.base_url, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def read_until(proc: subprocess.Popen[bytes], expected: bytes) -> bytes:
    assert proc.stdout is not None
    data = b""
    while not data.endswith(expected):
        piece = os.read(proc.stdout.fileno(), 4096)
        assert piece, f"stdout closed after {data!r}"
        data += piece
    return data


SIGNALS = [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
IDS = ["SIGINT", "SIGTERM"]


@pytest.mark.parametrize(("signum", "status"), SIGNALS, ids=IDS)
def test_signal_during_the_answer_keeps_the_partial_and_closes_the_connection(
    api: FakeAPIServer, key_env: str, signum: int, status: int
) -> None:
    gone = threading.Event()
    api.set_default(hold_until_gone(["partial ", "answer"], gone))
    proc = start(api, "hi")
    shown = read_until(proc, b"partial answer")
    sent = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=5)
    assert time.monotonic() - sent < 0.5
    assert proc.returncode == status, err
    assert shown + out == b"partial answer\n"
    assert err.decode().strip() == "atdak: interrupted"
    assert gone.wait(2), "the connection was not closed"
    time.sleep(0.1)
    assert len(api.requests) == 1, "no retry after the signal"


@pytest.mark.parametrize(("signum", "status"), SIGNALS, ids=IDS)
def test_signal_before_the_answer_exits_at_once_without_retrying(
    api: FakeAPIServer, key_env: str, signum: int, status: int
) -> None:
    gone = threading.Event()
    api.set_default(hold_until_gone([], gone))
    proc = start(api, "hi")
    api.wait_for_requests(1)
    sent = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=5)
    assert time.monotonic() - sent < 0.5
    assert proc.returncode == status, err
    assert out == b""
    assert b"Traceback" not in err and err.count(b"\n") <= 2
    assert gone.wait(2), "the connection was not closed"
    time.sleep(0.1)
    assert len(api.requests) == 1, "no retry after the signal"


def shell(command: str, api: FakeAPIServer, **env: str) -> subprocess.CompletedProcess[bytes]:
    atdak = f"{sys.executable} -m atdak_cli complete --base-url {api.base_url}"
    return subprocess.run(
        ["bash", "-c", command.replace("ATDAK", atdak)],
        capture_output=True,
        timeout=30,
        env={**os.environ, **env},
        check=False,
    )


def test_head_1_is_quiet(api: FakeAPIServer, key_env: str) -> None:
    api.set_default(stream(["line\n"] * 50_000))
    result = shell('ATDAK hi | head -1; echo "status ${PIPESTATUS[0]}" >&2', api)
    assert result.stdout == b"line\n"
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("status "), result.stderr  # nothing else
    assert lines[0] in ("status 141", "status 0")


def test_head_1_exits_141(api: FakeAPIServer, key_env: str) -> None:
    api.set_default(stream(["line\n"] * 50_000))
    result = shell('ATDAK hi | head -1; echo "status ${PIPESTATUS[0]}" >&2', api)
    assert result.stderr == b"status 141\n"


def test_full_device_is_one_clear_line_not_a_bug(api: FakeAPIServer, key_env: str) -> None:
    api.set_default(stream(["some answer"]))
    result = shell("ATDAK hi > /dev/full", api)
    text = result.stderr.decode()
    assert result.returncode not in (0, 1), text
    assert text.count("\n") == 1 and text.startswith("atdak: error: "), text
    assert "No space left on device" in text and "a bug" not in text


def test_closed_stdout_is_no_traceback(api: FakeAPIServer, key_env: str) -> None:
    result = shell("ATDAK hi >&-", api)
    assert b"Traceback" not in result.stderr
    assert result.returncode not in (0, 1)


def test_c_locale_passes_non_ascii_answers_through(api: FakeAPIServer, key_env: str) -> None:
    api.set_default(stream(["héllo ", "世界 👋"]))
    result = run_atdak("complete", "--base-url", api.base_url, "hi", env={"LC_ALL": "C"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "héllo 世界 👋\n".encode()


def test_ascii_locale_does_not_crash_on_non_ascii_answers(api: FakeAPIServer, key_env: str) -> None:
    api.set_default(stream(["héllo ", "世界"]))
    env = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}
    result = run_atdak("complete", "--base-url", api.base_url, "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"h") and b"llo" in result.stdout


def test_no_traceback_and_no_key_in_any_signal_path(api: FakeAPIServer, key_env: str) -> None:
    gone = threading.Event()
    api.set_default(hold_until_gone(["x"], gone))
    proc = start(api, "--debug", "hi")
    read_until(proc, b"x")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=5)
    assert proc.returncode == 130
    assert CANARY_KEY.encode() not in out + err
