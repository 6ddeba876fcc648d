"""Every fault of a real server, seen from the command line (design.md §3).

Each case runs ``atdak complete`` as a real process against the loopback server and checks
the documented exit code, one line on stderr saying what happened and what to do, the partial
answer kept on stdout, and the key nowhere.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.utils.api_server import (
    Exchange,
    FakeAPIServer,
    Reply,
    broken_gzip,
    close_immediately,
    error,
    html_page,
    http_response_bytes,
    json_completion,
    json_reply,
    keepalive_forever,
    openai_error,
    raw,
    redirect,
    reset,
    serve_api,
    stall,
    stream,
    stream_error_event,
    trickle_forever,
    truncated_json,
)
from tests.utils.fault_replies import DONE, chunk, events_text, finish, sse
from tests.utils.process import CANARY_KEY, run_atdak

NOW = {"Retry-After": "0"}  # retries in a real process must not really wait
HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body>" + b"<p>nginx</p>" * 500


WEATHER = ("get_weather", '{"city": "Paris"}')


def tool_call_stream() -> Reply:
    return stream([], tool_calls=[WEATHER], finish_reason="tool_calls")


def truncated_chunk() -> Reply:
    head = {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"}
    first = events_text([chunk("", role="assistant"), chunk("Hel"), chunk("lo")])
    data = b"%x\r\n%s\r\n" % (len(first), first) + b'100\r\ndata: {"cho'
    return raw(http_response_bytes(200, head, data))


def reset_mid_stream() -> Reply:
    def send(ex: Any) -> None:
        ex.start_chunked(200, "text/event-stream", None)
        ex.write_chunk(events_text([chunk("", role="assistant"), chunk("Hel"), chunk("lo")]))
        time.sleep(0.05)
        ex.reset()

    return Reply(send, "reset-mid-stream")


@dataclass(frozen=True)
class Fault:
    reply: Callable[[], Reply] | None  # None: nothing listens on the port
    status: int
    says: str  # a piece of the one stderr line
    stdout: bytes = b""
    args: tuple[str, ...] = ()
    requests: int | None = None  # how many requests the server should have seen
    extra: dict[str, Any] = field(default_factory=dict)


ERRORS: dict[str, Fault] = {
    # -- HTTP status errors, every body shape
    "400-openai": Fault(
        lambda: error(400, openai_error("bad temperature")),
        4,
        "HTTP 400: bad temperature",
        requests=1,
    ),
    "401-openai": Fault(
        lambda: error(401, openai_error("Incorrect API key provided")),
        3,
        "HTTP 401: Incorrect API key",
        requests=1,
    ),
    "403-html": Fault(
        lambda: error(403, b"<html><title>Forbidden</title></html>", content_type="text/html"),
        3,
        "HTTP 403: an HTML page: Forbidden",
    ),
    "404-fastapi": Fault(lambda: error(404, {"detail": "Not Found"}), 4, "HTTP 404: Not Found"),
    "409-retried": Fault(
        lambda: error(409, openai_error("conflict"), headers=NOW),
        4,
        "HTTP 409: conflict",
        requests=3,
    ),
    "408-retried": Fault(  # the server timed out waiting: exit 8, not "check the model name"
        lambda: error(408, openai_error("request timeout"), headers=NOW),
        8,
        "HTTP 408: request timeout — the server timed out waiting for the request",
        requests=3,
    ),
    "413-bare-string": Fault(
        lambda: error(413, "request entity too large"), 4, "HTTP 413: request entity too large"
    ),
    "422-fastapi-list": Fault(
        lambda: error(422, {"detail": [{"loc": ["body"], "msg": "field required"}]}),
        4,
        "field required",
    ),
    "400-vllm-object": Fault(
        lambda: error(400, {"object": "error", "message": "context too long", "code": 400}),
        4,
        "HTTP 400: context too long",
    ),
    "400-several-MB": Fault(lambda: error(400, "E" * 6_000_000), 4, "HTTP 400: EEEE"),
    "429-retried": Fault(
        lambda: error(429, openai_error("slow down"), headers=NOW),
        5,
        "HTTP 429: slow down",
        requests=3,
    ),
    "429-retry-after-ms": Fault(
        lambda: error(429, openai_error("slow"), headers={"retry-after-ms": "10"}),
        5,
        "HTTP 429: slow",
        requests=3,
    ),
    "429-quota": Fault(
        lambda: error(
            429,
            openai_error(
                "You exceeded your current quota", "insufficient_quota", "insufficient_quota"
            ),
            headers=NOW,
        ),
        5,
        "quota is used up",
        requests=1,
    ),
    "429-wait-too-long": Fault(
        lambda: error(429, openai_error("slow"), headers={"Retry-After": "120"}),
        5,
        "retry in 120 s",
        requests=1,
    ),
    "429-http-date-too-long": Fault(
        lambda: error(
            429, openai_error("slow"), headers={"Retry-After": "Fri, 31 Dec 2100 23:59:59 GMT"}
        ),
        5,
        "HTTP 429: slow",
        requests=1,
    ),
    "500-empty-body": Fault(
        lambda: error(500, None, headers=NOW), 6, "HTTP 500: Internal Server Error", requests=3
    ),
    "502-html-proxy": Fault(
        lambda: error(502, HTML_502, headers=NOW, content_type="text/html"),
        6,
        "HTTP 502: an HTML page: 502 Bad Gateway",
    ),
    "503-should-not-retry": Fault(
        lambda: error(503, openai_error("down"), headers={"x-should-retry": "false"}),
        6,
        "HTTP 503: down",
        requests=1,
    ),
    # -- transport
    "refused": Fault(None, 7, "cannot connect to 127.0.0.1"),
    "reset-before-response": Fault(lambda: reset(), 7, "127.0.0.1"),
    "closed-before-response": Fault(lambda: close_immediately(), 7, "closed the connection"),
    "not-http": Fault(lambda: raw(b"SSH-2.0-OpenSSH_9.6\r\n"), 7, "did not speak HTTP"),
    "stall-before-headers": Fault(lambda: stall(10), 8, "timed out", requests=1),
    "stall-after-headers": Fault(lambda: stall(10, after_headers=True), 8, "raise --timeout"),
    "stall-mid-stream": Fault(
        lambda: stall(10, after_events=["Hel", "lo"]), 8, "deadline", b"Hello\n"
    ),
    "keepalive-only": Fault(lambda: keepalive_forever(0.05), 8, "raise --timeout"),
    "trickle-forever": Fault(lambda: trickle_forever(b":", 0.02), 8, "raise --timeout"),
    "keepalive-after-content": Fault(
        lambda: keepalive_forever(0.05, deltas_before=["Hel", "lo"]), 8, "deadline", b"Hello\n"
    ),
    "cut-mid-stream": Fault(
        lambda: stream(["Hel", "lo"], cut_after_events=3),
        7,
        "broke mid-answer",
        b"Hello\n",
        requests=1,
    ),
    "reset-mid-stream": Fault(reset_mid_stream, 7, "broke mid-answer", b"Hello\n", requests=1),
    "truncated-chunk": Fault(truncated_chunk, 7, "broke mid-answer", b"Hello\n"),
    "broken-gzip": Fault(broken_gzip, 7, "decompressing"),
    "redirect-loop": Fault(
        lambda: redirect("/v1/chat/completions"), 7, "redirects are not followed", requests=1
    ),
    # -- unusable answers
    "200-html-portal": Fault(lambda: html_page(), 9, "HTML page instead of an answer"),
    "no-finish-no-done": Fault(
        lambda: stream(["Hel", "lo"], finish_reason=None, done=False),
        9,
        "ended before the model finished",
        b"Hello\n",
    ),
    "empty-200-stream": Fault(
        lambda: stream([], finish_reason=None, done=False, role_first=False),
        9,
        "without sending any of the answer — the server failed on its side",
    ),
    "invalid-json-chunk": Fault(
        lambda: sse(chunk("Hel"), chunk("lo"), 'data: {"choices": [', finish(), DONE),
        9,
        "malformed chunk",
        b"Hello\n",
    ),
    "error-event-openai": Fault(
        lambda: stream_error_event(
            ["Hel", "lo"], {"message": "overloaded", "type": "server_error"}
        ),
        6,
        "mid-answer: overloaded",
        b"Hello\n",
    ),
    "error-event-vllm": Fault(
        lambda: stream_error_event(
            ["Hel", "lo"], {"object": "error", "message": "vllm boom"}, wrap=False
        ),
        6,
        "vllm boom",
        b"Hello\n",
    ),
    "error-event-llama.cpp": Fault(
        lambda: stream_error_event(
            ["Hel", "lo"], {"code": 500, "message": "ctx full"}, event="error"
        ),
        6,
        "ctx full",
        b"Hello\n",
    ),
    "error-field-llama.cpp-legacy": Fault(
        lambda: stream_error_event(
            ["Hel", "lo"], {"code": 500, "message": "ctx full"}, wrap=False, field_name="error"
        ),
        6,
        "mid-answer: ctx full",
        b"Hello\n",
    ),
    # -- tool calls nobody asked for: never an empty success (until tools are supported)
    "tool-call-stream": Fault(lambda: tool_call_stream(), 4, "call get_weather", requests=1),
    "tool-call-json": Fault(lambda: tool_call_stream(), 4, "call get_weather", args=("--json",)),
    "tool-call-no-stream": Fault(
        lambda: json_completion(None, tool_calls=[WEATHER], finish_reason="tool_calls"),
        4,
        "call get_weather",
        args=("--no-stream",),
    ),
    "tool-calls-finish-only": Fault(
        lambda: stream([], finish_reason="tool_calls"), 4, "asked to call a tool"
    ),
    # -- the same faults on a non-streamed request
    "no-stream-stall": Fault(lambda: stall(10), 8, "timed out", args=("--no-stream",)),
    "no-stream-truncated-json": Fault(
        lambda: truncated_json(), 7, "broke mid-answer", args=("--no-stream",)
    ),
    "no-stream-200-html": Fault(lambda: html_page(), 9, "HTML page", args=("--no-stream",)),
    "no-stream-500": Fault(
        lambda: error(500, openai_error("boom"), headers=NOW),
        6,
        "HTTP 500: boom",
        args=("--no-stream",),
    ),
}


@dataclass
class Outcome:
    returncode: int
    stdout: bytes
    stderr: bytes
    requests: int
    elapsed: float


def clean_environ(root: Path) -> dict[str, str]:
    """What the autouse ``clean_env`` fixture gives one test, for a module-wide batch."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ATDAK_")
        and not k.lower().endswith("_proxy")
        and k not in ("NO_COLOR", "FORCE_COLOR")
    }
    env.update(
        ATDAK_CONFIG_DIR=str(root / "config"),
        ATDAK_DATA_DIR=str(root / "data"),
        ATDAK_API_KEY=CANARY_KEY,
        NO_PROXY="*",
    )
    return env


def run_batch(
    cases: dict[str, tuple[Callable[[], Reply] | None, tuple[str, ...]]], root: Path
) -> dict[str, Outcome]:
    """Run every case as its own process against its own server, a few at a time: a process
    costs ~0.3 s of CPU, and most of a fault case is waiting."""
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        futures = {n: pool.submit(_run_one, *cases[n], root / n) for n in cases}
        return {name: future.result() for name, future in futures.items()}


def _run_one(reply: Callable[[], Reply] | None, args: tuple[str, ...], root: Path) -> Outcome:
    with contextlib.ExitStack() as stack:
        proc, server, started = _start(reply, args, root, stack)
        out, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - started
        count = len(server.requests) if server is not None else 0
        return Outcome(proc.returncode, out, err, count, elapsed)


def _start(
    reply: Callable[[], Reply] | None,
    args: tuple[str, ...],
    root: Path,
    stack: contextlib.ExitStack,
) -> tuple[subprocess.Popen[bytes], FakeAPIServer | None, float]:
    server = None
    if reply is None:
        with serve_api() as gone:
            base_url = gone.base_url
    else:
        server = stack.enter_context(serve_api())
        server.set_default(reply())
        base_url = server.base_url
    argv = ["complete", "--base-url", base_url, *args, "hi"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "atdak_cli", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_environ(root),
    )
    stack.callback(_kill, proc)
    return proc, server, time.monotonic()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


PARALLEL = 6


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    cases: dict[str, tuple[Callable[[], Reply] | None, tuple[str, ...]]] = {
        name: (fault.reply, ("--timeout", "0.6", *fault.args)) for name, fault in ERRORS.items()
    }
    cases.update({name: (reply, ()) for name, (reply, _) in ANSWERS.items()})
    return run_batch(cases, tmp_path_factory.mktemp("faults"))


def assert_one_error_line(stderr: bytes, says: str) -> str:
    text = stderr.decode()
    assert text.count("\n") == 1 and text.endswith("\n"), text
    assert text.startswith("atdak: error: "), text
    assert says in text, text
    assert " — " in text, f"no hint on what to do: {text}"  # what happened — what to do
    assert "Traceback" not in text and "a bug" not in text
    assert len(text) < 500
    return text


@pytest.mark.parametrize("name", list(ERRORS))
def test_fault_exits_with_documented_code_and_one_line(
    outcomes: dict[str, Outcome], name: str
) -> None:
    fault, result = ERRORS[name], outcomes[name]
    assert result.returncode == fault.status, result.stderr
    assert_one_error_line(result.stderr, fault.says)
    assert result.stdout == fault.stdout
    assert CANARY_KEY.encode() not in result.stdout + result.stderr
    if fault.requests is not None:
        assert result.requests == fault.requests
    assert result.elapsed < 8, "no fault may hang atdak"


def test_redirect_to_another_origin_is_refused_and_the_other_host_gets_nothing(
    api: FakeAPIServer, key_env: str
) -> None:
    with serve_api() as other:
        api.set_default(redirect(other.base_url + "/chat/completions", 307))
        result = run_atdak("complete", "--base-url", api.base_url, "hi")
        assert other.requests == []
    assert result.returncode == 7
    assert_one_error_line(result.stderr, "redirects are not followed")
    assert len(api.requests) == 1


def test_refused_connection_names_the_port(key_env: str) -> None:
    with serve_api() as gone:  # closed when the block ends: nothing listens on its port
        port = gone.port
    result = run_atdak("complete", "--base-url", f"http://127.0.0.1:{port}/v1", "hi")
    assert result.returncode == 7
    assert_one_error_line(result.stderr, f"cannot connect to 127.0.0.1:{port} (")


@pytest.mark.parametrize(
    ("variable", "base_url"),
    [
        ("HTTPS_PROXY", "https://api.example.test/v1"),
        ("ALL_PROXY", "https://api.example.test/v1"),
        ("HTTP_PROXY", "http://127.0.0.1:9/v1"),
    ],
)
def test_dead_proxy_is_named_with_credentials_masked_and_no_proxy_mentioned(
    key_env: str, variable: str, base_url: str
) -> None:
    with serve_api() as gone:
        port = gone.port
    env = {"NO_PROXY": "", variable: f"http://user:proxysecret@127.0.0.1:{port}"}
    result = run_atdak("complete", "--base-url", base_url, "hi", env=env)
    assert result.returncode == 7
    host = base_url.split("/")[2].replace("api.example.test", "api.example.test:443")
    text = assert_one_error_line(
        result.stderr, f"cannot reach {host} through the proxy http://***@127.0.0.1:{port} ("
    )
    assert "NO_PROXY" in text and variable in text
    assert "base URL" not in text and "proxysecret" not in text


def test_a_host_in_no_proxy_is_not_blamed_on_the_proxy(key_env: str) -> None:
    with serve_api() as gone:
        port = gone.port
    env = {"NO_PROXY": "127.0.0.1", "HTTP_PROXY": "http://127.0.0.1:9"}
    result = run_atdak("complete", "--base-url", f"http://127.0.0.1:{port}/v1", "hi", env=env)
    assert result.returncode == 7
    text = assert_one_error_line(result.stderr, f"cannot connect to 127.0.0.1:{port} (")
    assert "proxy" not in text


def test_timeout_bounds_the_whole_request_even_with_retries(
    api: FakeAPIServer, key_env: str
) -> None:
    # each attempt stalls 0.4 s then fails with a retryable 503: the deadline ends it
    api.set_default(stall(0.4, then=error(503, openai_error("busy"), headers=NOW)))
    started = time.monotonic()
    result = run_atdak("complete", "--base-url", api.base_url, "--timeout", "1", "hi")
    assert time.monotonic() - started < 2.5
    assert result.returncode in (6, 8), result.stderr
    assert len(api.requests) <= 3


def test_first_content_deadline_is_separate_from_the_total(
    api: FakeAPIServer, key_env: str, tmp_path: Any
) -> None:
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text("first_content_timeout = 0.3\ntimeout = 20\n")
    api.set_default(keepalive_forever(0.05))
    started = time.monotonic()
    result = run_atdak("complete", "--base-url", api.base_url, "hi")
    assert time.monotonic() - started < 3
    assert result.returncode == 8
    assert_one_error_line(result.stderr, "no answer within 0.3 s")


def test_thinking_via_delta_reasoning_is_content_for_the_first_content_deadline(
    api: FakeAPIServer, key_env: str, tmp_path: Any
) -> None:
    # vLLM, Ollama's /v1 and OpenRouter think in `delta.reasoning`: 1.5 s of it against a
    # first-content deadline of 0.5 s is a healthy model, not a timeout (exit 8 before).
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text("first_content_timeout = 0.5\ntimeout = 20\n")
    thoughts = ["let ", "me ", "think ", "it ", "over"]
    api.set_default(stream(["42"], reasoning=thoughts, reasoning_field="reasoning", delay=0.3))
    result = run_atdak("complete", "--base-url", api.base_url, "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"42\n"


def test_cr_framed_token_reaches_the_pipe_before_the_servers_next_write(
    api: FakeAPIServer, key_env: str
) -> None:
    """A server ending lines with CR alone: each token is printed when it arrives, not one
    write late (the decoder used to hold a trailing CR back in case an LF followed)."""
    printed = threading.Event()
    waited: list[bool] = []

    def send(ex: Exchange) -> None:
        ex.start_chunked(200, "text/event-stream", None)
        ex.write_chunk(
            "".join(e + "\r\r" for e in [chunk("", role="assistant"), chunk("Hel")]).encode()
        )
        waited.append(printed.wait(10))  # written on only once "Hel" is on atdak's stdout
        ex.write_chunk("".join(e + "\r\r" for e in [chunk("lo"), finish(), DONE]).encode())
        ex.end_chunks()

    api.set_default(Reply(send, "cr-gated"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "atdak_cli", "complete", "--base-url", api.base_url, "hi"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        first = os.read(proc.stdout.fileno(), 100)  # blocks until atdak prints something
        printed.set()
        out, err = proc.communicate(timeout=30)
    finally:
        _kill(proc)
    assert first == b"Hel" and waited == [True], (first, waited)
    assert (proc.returncode, first + out) == (0, b"Hello\n"), err


# ---------------------------------------------------------------- answers that are fine


ANSWERS: dict[str, tuple[Callable[[], Reply], bytes]] = {
    "bom": (lambda: stream(["first", " second"], bom=True), b"first second\n"),
    "dataless-blocks": (
        lambda: stream(["ok"], extra_raw_events=["event: ping\nid: 1", "retry: 5"]),
        b"ok\n",
    ),
    "keepalive-comments": (lambda: stream(["ok"], extra_raw_events=[": keep-alive", ":"]), b"ok\n"),
    "empty-data-lines": (
        lambda: sse("data:", chunk("a"), "data: ", chunk("b"), finish(), DONE),
        b"ab\n",
    ),
    "events-after-done": (
        lambda: stream(["ok"], after_done=[chunk("EXTRA"), "data: junk"]),
        b"ok\n",
    ),
    "finish-without-done": (lambda: stream(["ok"], done=False), b"ok\n"),
    "done-without-finish": (lambda: stream(["ok"], finish_reason=None), b"ok\n"),
    "json-completion": (lambda: json_completion("whole answer"), b"whole answer\n"),
    "text-plain-sse": (lambda: stream(["ok"], content_type="text/plain"), b"ok\n"),
    "json-labelled-sse": (lambda: stream(["ok"], content_type="application/json"), b"ok\n"),
    "odd-chunks": (
        lambda: sse(
            chunk(role="assistant"),
            chunk(choices=[]),
            "data: " + json.dumps({"choices": [{"delta": {"content": None}}]}),
            chunk("x", refusal=None, logprobs={"a": 1}),
            chunk("y", finish="stop"),
            DONE,
        ),
        b"xy\n",
    ),
    "interleaved-choices": (lambda: stream(["a", "b"], interleave_second_choice=True), b"ab\n"),
    "line-separators": (lambda: stream(["a\u2028b\u2029c"]), "a\u2028b\u2029c\n".encode()),
    "invalid-utf8": (
        lambda: sse(
            b'data: {"choices":[{"index":0,"delta":{"content":"ok\xff!"}}]}\n\n', finish(), DONE
        ),
        "ok\ufffd!\n".encode(),
    ),
    "one-byte-writes-cr": (
        lambda: stream(["你好", " 👋"], write_size=1, framing="\r"),
        "你好 👋\n".encode(),
    ),
    "4-MB-delta": (lambda: stream(["z" * 4_000_000]), b"z" * 4_000_000 + b"\n"),
    "huge-retry-and-id": (
        lambda: stream(["ok"], extra_raw_events=["retry: " + "9" * 5000, "id: " + "7" * 5000]),
        b"ok\n",
    ),
}


@pytest.mark.parametrize("name", list(ANSWERS))
def test_unusual_but_valid_answer_is_delivered_exactly(
    outcomes: dict[str, Outcome], name: str
) -> None:
    result = outcomes[name]
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWERS[name][1]
    assert result.stderr == b""


def test_reasoning_is_not_on_stdout_in_a_pipe(api: FakeAPIServer, key_env: str) -> None:
    api.set_default(stream(["42"], reasoning=["let me ", "think"]))
    result = run_atdak("complete", "--base-url", api.base_url, "hi")
    assert result.returncode == 0
    assert result.stdout == b"42\n"
    assert b"think" not in result.stderr


@pytest.mark.parametrize(
    ("reason", "says"), [("length", "token limit"), ("content_filter", "content filter")]
)
def test_cut_off_answer_warns_and_exits_0(
    api: FakeAPIServer, key_env: str, reason: str, says: str
) -> None:
    api.set_default(stream(["cut"], finish_reason=reason))
    result = run_atdak("complete", "--base-url", api.base_url, "hi")
    assert result.returncode == 0
    assert result.stdout == b"cut\n"
    text = result.stderr.decode()
    assert text.startswith("atdak: warning: ") and text.count("\n") == 1 and says in text


def test_retry_before_the_answer_then_success_shows_the_answer_once(
    api: FakeAPIServer, key_env: str
) -> None:
    api.enqueue(error(503, None, headers=NOW), reset(), stream(["only once"]))
    result = run_atdak("complete", "--base-url", api.base_url, "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"only once\n"
    assert len(api.requests) == 3


NOT_A_MODEL_LIST = {
    "object without data": lambda: json_reply({"object": "list", "models": ["atdak-gpt-4"]}),
    "data not a list": lambda: json_reply({"object": "list", "data": "atdak-gpt-4"}),
    "list of junk": lambda: json_reply({"object": "list", "data": [1, "x", None, {"name": "m"}]}),
    "bare list of junk": lambda: json_reply([1, 2, 3]),
    "json null": lambda: json_reply(None),
    "html with 200": lambda: html_page(200),
}


@pytest.mark.parametrize("name", list(NOT_A_MODEL_LIST))
def test_models_refuses_an_answer_that_is_not_a_model_list_and_keeps_the_cache(
    api: FakeAPIServer, key_env: str, tmp_path: Path, name: str
) -> None:
    cache = tmp_path / "data" / "models-cache.json"
    run_atdak("models", "--base-url", api.base_url)  # a good list fills the cache
    before = cache.read_bytes()
    assert b"atdak-gpt-4" in before
    api.set_default(NOT_A_MODEL_LIST[name](), path="/v1/models")
    result = run_atdak("models", "--base-url", api.base_url)
    assert result.returncode == 9, result.stderr
    assert result.stdout == b""
    assert_one_error_line(result.stderr, "not")
    assert cache.read_bytes() == before


def test_models_accepts_an_empty_model_list(api: FakeAPIServer, key_env: str) -> None:
    api.set_default(json_reply({"object": "list", "data": []}), path="/v1/models")
    result = run_atdak("models", "--base-url", api.base_url, "--json")
    assert result.returncode == 0, result.stderr
    assert [m["id"] for m in json.loads(result.stdout)] in ([], ["local"])


def test_models_command_faults(api: FakeAPIServer, key_env: str) -> None:
    api.set_default(error(401, openai_error("bad key")), path="/v1/models")
    result = run_atdak("models", "--base-url", api.base_url)
    assert result.returncode == 3
    assert_one_error_line(result.stderr, "HTTP 401: bad key")
    with serve_api() as gone:
        url = gone.base_url
    result = run_atdak("models", "--base-url", url, "--timeout", "0.5")
    assert result.returncode == 7
    assert_one_error_line(result.stderr, "cannot connect")
