"""Cost through the real process: details priced in --usage and `atdak usage`, and
--max-cost refusing before sending and stopping a stream."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.utils.api_server import FakeAPIServer, stream
from tests.utils.process import run_atdak

USAGE = {
    "prompt_tokens": 1000,
    "completion_tokens": 300,
    "total_tokens": 1300,
    "prompt_tokens_details": {"cached_tokens": 800},
    "completion_tokens_details": {"reasoning_tokens": 200},
}


@pytest.fixture
def priced(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    path = config / "config.toml"
    path.write_text(
        '[prices."atdak-gpt-4"]\ninput = 2.5\ncached_input = 1.25\noutput = 10.0\n'
        '[prices."big"]\ninput = 2.5\noutput = 1000000.0\n'
        "[profiles.thrifty]\ndaily_budget = 0.005\n"
    )
    return path


def test_usage_line_prices_cached_and_reasoning_tokens_exactly(
    api: FakeAPIServer, key_env: str, priced: Path
) -> None:
    api.enqueue(stream(["4"], reasoning=["think"], usage=USAGE))
    result = run_atdak("complete", "--base-url", api.base_url, "--usage", "2+2?")
    assert result.returncode == 0
    # 200 fresh x 2.5 + 800 cached x 1.25 + 300 x 10, per million: 0.0045 (not 0.0055).
    assert result.stderr.decode() == (
        "usage: 1000 prompt (800 cached) + 300 completion (200 reasoning) = 1300 tokens"
        " · $0.004500\n"
    )


def test_atdak_usage_shows_cached_and_reasoning_tokens(
    api: FakeAPIServer, key_env: str, priced: Path
) -> None:
    api.enqueue(stream(["4"], usage=USAGE), stream(["5"], usage=USAGE))
    for _ in range(2):
        assert run_atdak("complete", "--base-url", api.base_url, "q").returncode == 0
    (row,) = json.loads(run_atdak("usage", "--json").stdout)
    assert (row["prompt_tokens"], row["cached_tokens"]) == (2000, 1600)
    assert (row["completion_tokens"], row["reasoning_tokens"]) == (600, 400)
    assert row["cost"] == pytest.approx(0.009)
    table = run_atdak("usage").stdout.decode().splitlines()
    assert table[0].split() == [
        "DAY", "MODEL", "ANSWERS", "PROMPT", "CACHED", "COMPLETION", "REASONING", "TOTAL", "COST"
    ]  # fmt: skip
    assert table[1].split()[1:] == [
        "atdak-gpt-4",
        "2",
        "2000",
        "1600",
        "600",
        "400",
        "2600",
        "$0.0090",
    ]


def test_max_cost_refuses_before_sending(api: FakeAPIServer, key_env: str, priced: Path) -> None:
    # A short prompt (~10 tokens) plus 1000 tokens at $10 a million can cost $0.01 > $0.005.
    args = ("complete", "--base-url", api.base_url, "--max-tokens", "1000", "--max-cost", "0.005")
    result = run_atdak(*args, "hi")
    assert result.returncode == 5
    assert result.stderr.decode().startswith(
        "atdak: error: not sent: the request could cost up to $0.0100, over --max-cost $0.005000"
    )
    assert result.stdout == b"" and api.requests == []


def test_max_cost_without_max_tokens_sends_what_it_affords(
    api: FakeAPIServer, key_env: str, priced: Path
) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "--max-cost", "0.005", "hi")
    assert result.returncode == 0
    # (0.005 $ - 8 prompt tokens ("hi" and the chat format) x 2.5 $/M) / 10 $/M = 498
    assert api.requests[0].json()["max_tokens"] == 498


def test_max_cost_stops_a_stream_that_crosses_it(
    api: FakeAPIServer, key_env: str, priced: Path, tmp_path: Path
) -> None:
    # "big" costs $1 a token of output: a $3.5 budget pays for three.
    api.enqueue(stream([f"w{n} " for n in range(40)], model="big"))
    result = run_atdak(
        "complete", "--base-url", api.base_url, "-m", "big", "--max-tokens", "3", "--max-cost",
        "3.5", "hi",
    )  # fmt: skip
    assert result.returncode == 5
    assert result.stdout == b"w0 w1 w2 w3 \n"  # up to the token that crossed it: paid for
    assert "stopped the answer at $4.0000: over --max-cost $3.5000" in result.stderr.decode()
    with sqlite3.connect(tmp_path / "data" / "history.db") as conn:
        saved = conn.execute("SELECT status, content FROM messages WHERE role = 'assistant'")
        assert saved.fetchall() == [("error", "w0 w1 w2 w3 ")]
    conn.close()


def test_max_cost_without_a_price_is_a_usage_error(api: FakeAPIServer, key_env: str) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "-m", "x", "--max-cost", "1", "q")
    assert result.returncode == 2
    assert "a budget needs the price of x" in result.stderr.decode()
    assert api.requests == []


def test_daily_budget_counts_what_the_profile_spent_today(
    api: FakeAPIServer, key_env: str, priced: Path
) -> None:
    api.set_default(stream(["4"], usage=USAGE))  # $0.0045 each
    # The worst case of each: 8 prompt tokens and 100 of output, $0.00102.
    base = ("complete", "--base-url", api.base_url, "--profile", "thrifty", "--max-tokens", "100")
    assert run_atdak(*base, "q").returncode == 0
    refused = run_atdak(*base, "q")
    assert refused.returncode == 5
    assert "over profile thrifty's daily budget ($0.000500 left of $0.005000)" in (
        refused.stderr.decode()
    )
    assert len(api.requests) == 1
    other = run_atdak("complete", "--base-url", api.base_url, "--max-tokens", "100", "q")
    assert other.returncode == 0  # another profile's spending is its own
