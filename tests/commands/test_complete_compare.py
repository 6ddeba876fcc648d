"""``atdak complete -m A -m B -m C``: three models at different speeds, read from a real pty at
160 columns (side by side) and 80 (stacked), and as --json from a pipe."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect
import pyte
import pytest

from tests.utils.api_server import FakeAPIServer, RecordedRequest, Reply, respond_with, stream
from tests.utils.process import REPO, run_atdak

MODELS = ("fast", "medium", "slow")
ANSWERS = {
    "fast": "Red is the colour of fire, of stop signs and of the word 春天 written in red ink.",
    "medium": "Green, like grass in spring and like the light that says go at every crossing.",
    "slow": "Blue: the sky, the sea, and a great many songs about both of them, old and new.",
}
DELAYS = {"fast": 0.0, "medium": 0.02, "slow": 0.06}


def by_model(request: RecordedRequest) -> Reply:
    model = request.json()["model"]
    words = [w + " " for w in ANSWERS[model].split(" ")]
    usage = {
        "prompt_tokens": 20 + MODELS.index(model),
        "completion_tokens": len(words),
        "prompt_tokens_details": {"cached_tokens": 10},
        "completion_tokens_details": {"reasoning_tokens": 3},
    }
    return stream(words, delay=DELAYS[model], usage=usage, model=model)


@pytest.fixture
def three(api: FakeAPIServer, tmp_path: Path) -> FakeAPIServer:
    api.set_default(respond_with(by_model))
    config = tmp_path / "config"
    config.mkdir()
    prices = "".join(f'[prices."{m}"]\ninput = 1.0\noutput = 2.0\n' for m in MODELS)
    (config / "config.toml").write_text(prices)
    return api


def cost(model: str) -> str:
    words = len(ANSWERS[model].split(" "))
    return f"${((20 + MODELS.index(model)) * 1.0 + words * 2.0) / 1e6:.6f}"


def run_in_pty(api: FakeAPIServer, columns: int) -> tuple[list[str], list[str]]:
    """The screen while streaming (once every model has started) and at the end."""
    args = ["-m", "atdak_cli", "complete", "--base-url", api.base_url]
    args += [a for m in MODELS for a in ("-m", m)] + ["Name a colour."]
    child = pexpect.spawn(
        sys.executable,
        args,
        env={**os.environ, "TERM": "xterm-256color"},
        dimensions=(24, columns),
        cwd=str(REPO),
    )
    screen = pyte.HistoryScreen(columns, 24, history=2000, ratio=0.5)
    feed = pyte.ByteStream(screen)
    child.expect("slow · answering".encode())
    feed.feed(child.before + child.after)
    during = [line.rstrip() for line in screen.display]
    feed.feed(child.read())
    child.close()
    assert child.exitstatus == 0
    top = ["".join(line[x].data for x in range(columns)) for line in screen.history.top]
    return during, [line.rstrip() for line in top + screen.display]


def column_texts(lines: list[str], count: int) -> list[str]:
    columns: list[list[str]] = [[] for _ in range(count)]
    for line in lines:
        for i, cell in enumerate(line.split(" │ ")[:count]):
            columns[i].append(cell.strip())
    return [" ".join(" ".join(c).split()) for c in columns]


def test_three_models_side_by_side_at_160_columns(three: FakeAPIServer) -> None:
    during, final = run_in_pty(three, 160)
    assert any("fast ·" in line and "slow ·" in line for line in during)  # columns, live
    start = next(i for i, line in enumerate(final) if line.startswith("fast"))
    block = [line for line in final[start:] if line]
    assert [c.strip() for c in block[0].split(" │ ")] == list(MODELS)
    texts = column_texts(block, 3)
    for model, text in zip(MODELS, texts, strict=True):
        assert ANSWERS[model] in text  # whole, in its own column
        words = len(ANSWERS[model].split(" "))
        assert f"tokens {20 + MODELS.index(model)} → {words} (3 reasoning), 10 cached" in text
        assert f"cost {cost(model)}" in text
    assert all(len(line) < 160 for line in final)


def test_three_models_stacked_at_80_columns(three: FakeAPIServer) -> None:
    _, final = run_in_pty(three, 80)
    assert "│" not in "".join(final)
    heads = [final.index(model) for model in MODELS]
    assert heads == sorted(heads)  # in the order given, one block each
    ends = [*heads[1:], len(final)]
    for model, head, end in zip(MODELS, heads, ends, strict=True):
        text = " ".join(" ".join(final[head:end]).split())
        assert ANSWERS[model] in text
        assert f"cost {cost(model)}" in text
        for other in MODELS:
            assert other == model or ANSWERS[other] not in text


def test_json_is_one_object_per_model_with_its_figures(three: FakeAPIServer) -> None:
    args = [a for m in MODELS for a in ("-m", m)]
    result = run_atdak("complete", "--base-url", three.base_url, *args, "--json", "Name a colour.")
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [o["model"] for o in objects] == list(MODELS)
    for o in objects:
        assert o["answer"].strip() == ANSWERS[o["model"]]
        assert (o["cached_tokens"], o["reasoning_tokens"], o["status"]) == (10, 3, "complete")
        assert f"${o['cost']:.6f}" == cost(o["model"])
        assert 0 < o["first_token_seconds"] <= o["total_seconds"]
    fast, _, slow = objects
    assert fast["total_seconds"] < slow["total_seconds"]


def test_comparison_into_a_pipe_is_plain_text(three: FakeAPIServer) -> None:
    result = run_atdak("complete", "--base-url", three.base_url, "-m", "fast", "-m", "slow", "q")
    out = result.stdout.decode()
    assert result.returncode == 0 and "\x1b" not in out
    assert out.startswith("fast\n") and ANSWERS["slow"] in " ".join(out.split())


def test_profiles_mix_in_a_comparison(api: FakeAPIServer, tmp_path: Path, key_env: str) -> None:
    with FakeAPIServer() as other:
        config = tmp_path / "config"
        config.mkdir()
        (config / "config.toml").write_text(
            f'base_url = "{api.base_url}"\n[profiles.work]\nbase_url = "{other.base_url}"\n'
        )
        result = run_atdak("complete", "-m", "work:m1", "-m", "m2", "--json", "q")
        assert result.returncode == 0, result.stderr
        labels = [json.loads(line)["model"] for line in result.stdout.decode().splitlines()]
        assert labels == ["work:m1", "m2"]
        assert [r.json()["model"] for r in other.requests] == ["m1"]  # the profile's server
        assert [r.json()["model"] for r in api.requests] == ["m2"]


def test_each_compared_model_gets_the_effort_and_the_budget(three: FakeAPIServer) -> None:
    args = [a for m in MODELS for a in ("-m", m)]
    base = ("complete", "--base-url", three.base_url, *args, "--json")
    result = run_atdak(*base, "--reasoning-effort", "high", "--max-cost", "0.001", "q")
    assert result.returncode == 0, result.stderr
    sent = [r.json() for r in three.requests]
    assert {r["reasoning_effort"] for r in sent} == {"high"}
    assert {r["max_tokens"] for r in sent} == {496}  # (0.001 $ - 8 x 1 $/M) / 2 $/M
    refused = run_atdak(*base, "--max-tokens", "1000", "--max-cost", "0.001", "q")
    assert refused.returncode == 5 and len(three.requests) == 3  # nothing more was sent


def test_extract_with_a_comparison_is_a_usage_error(three: FakeAPIServer) -> None:
    result = run_atdak(
        "complete", "--base-url", three.base_url, "-m", "fast", "-m", "slow", "-x", "q"
    )
    assert result.returncode == 2 and three.requests == []
    assert result.stderr.decode().startswith("atdak: error: -x/--extract takes one answer")


def test_tools_with_a_comparison_are_a_usage_error(three: FakeAPIServer, tmp_path: Path) -> None:
    functions = tmp_path / "tools.py"
    functions.write_text("def now() -> str:\n    \"\"\"The time.\"\"\"\n    return '10:00'\n")
    result = run_atdak(
        "complete", "--base-url", three.base_url, "-m", "fast", "-m", "slow",
        "--functions", str(functions), "q",
    )  # fmt: skip
    assert result.returncode == 2 and three.requests == []
    assert result.stderr.decode().startswith("atdak: error: tools (-T/--functions) take one model")


def test_chat_refuses_a_second_model(api: FakeAPIServer, key_env: str) -> None:
    result = run_atdak("chat", "--base-url", api.base_url, "-m", "a", "-m", "b", input="hi\n")
    assert result.returncode == 2 and api.requests == []
    assert "in chat: /compare A B" in result.stderr.decode()
