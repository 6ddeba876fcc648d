"""Roles, extraction, usage and cost: the features scripts lean on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atdak_cli.text import code_blocks
from tests.utils.api_server import FakeAPIServer, stream
from tests.utils.process import run_atdak

CONFIG = """
[roles.reviewer]
system = "Review {lang} code for {team}. Output JSON like {\\"ok\\": true}."
model = "atdak-claude-3"
temperature = 0.2

[prices."atdak-gpt-4"]
input = 2.0
output = 8.0
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir()
    path.write_text(CONFIG)
    return path


def test_role_sets_system_model_and_temperature(
    api: FakeAPIServer, key_env: str, config: Path
) -> None:
    result = run_atdak(
        "complete", "--base-url", api.base_url, "--role", "reviewer",
        "--var", "lang=Go", "--var", "team=infra", "look",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = api.requests[-1].json()
    assert body["model"] == "atdak-claude-3"
    assert body["temperature"] == 0.2
    assert body["messages"][0] == {
        "role": "system",
        "content": 'Review Go code for infra. Output JSON like {"ok": true}.',
    }


def test_flags_win_over_role(api: FakeAPIServer, key_env: str, config: Path) -> None:
    run_atdak(
        "complete", "--base-url", api.base_url, "--role", "reviewer", "--var", "lang=x",
        "--var", "team=y", "-t", "1.1", "-m", "atdak-gpt-4", "q",
    )  # fmt: skip
    body = api.requests[-1].json()
    assert (body["temperature"], body["model"]) == (1.1, "atdak-gpt-4")


def test_missing_role_variable_is_usage_error_naming_it(
    api: FakeAPIServer, key_env: str, config: Path
) -> None:
    result = run_atdak(
        "complete", "--base-url", api.base_url, "--role", "reviewer", "--var", "lang=Go", "q"
    )
    assert result.returncode == 2
    assert b"team" in result.stderr and b"--var team=" in result.stderr
    assert api.requests == []


def test_unknown_role_lists_known_ones(api: FakeAPIServer, key_env: str, config: Path) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "--role", "nope", "q")
    assert result.returncode == 2 and b"reviewer" in result.stderr


def test_roles_list_and_show(config: Path) -> None:
    listing = run_atdak("roles", "list")
    assert listing.returncode == 0 and b"reviewer" in listing.stdout
    shown = run_atdak("roles", "show", "reviewer")
    assert b"temperature = 0.2" in shown.stdout and b"{lang}" in shown.stdout


ANSWER = "Run this:\n\n```bash\necho one\n```\n\nor:\n\n~~~sh\necho two\n~~~\n"


def test_extract_prints_first_code_block_only(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(stream([ANSWER[:20], ANSWER[20:]]))
    result = run_atdak("complete", "--base-url", api.base_url, "-x", "q")
    assert result.returncode == 0
    assert result.stdout == b"echo one\n"


def test_extract_last(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(stream([ANSWER]))
    result = run_atdak("complete", "--base-url", api.base_url, "--extract-last", "q")
    assert result.stdout == b"echo two\n"


def test_extract_without_code_block_exits_9(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(stream(["no code here"]))
    result = run_atdak("complete", "--base-url", api.base_url, "-x", "q")
    assert result.returncode == 9
    assert result.stdout == b""
    assert result.stderr.count(b"\n") == 1


def test_code_blocks_follow_commonmark_fences() -> None:
    text = "````md\n```inner```\n```\n````\nx\n```py\nunclosed"
    assert code_blocks(text) == ["```inner```\n```\n", "unclosed\n"]


def test_usage_with_price_table_shows_cost(api: FakeAPIServer, key_env: str, config: Path) -> None:
    api.enqueue(stream(["a"], usage={"prompt_tokens": 1000, "completion_tokens": 500}))
    result = run_atdak("complete", "--base-url", api.base_url, "--usage", "q")
    line = result.stderr.decode()
    assert "1000 prompt + 500 completion = 1500 tokens" in line
    assert "$0.006000" in line  # 1000 * 2 / 1e6 + 500 * 8 / 1e6


def test_usage_is_estimated_when_server_sends_none(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(stream(["one", " two", " three"], usage=False))
    result = run_atdak("complete", "--base-url", api.base_url, "--usage", "q")
    assert b"usage (estimated):" in result.stderr
    assert b"+ 3 completion" in result.stderr


def test_usage_report_sums_history_by_day_and_model(
    api: FakeAPIServer, key_env: str, config: Path
) -> None:
    for _ in range(2):
        api.enqueue(stream(["a"], usage={"prompt_tokens": 10, "completion_tokens": 5}))
        run_atdak("complete", "--base-url", api.base_url, "--usage", "q")
    result = run_atdak("usage", "--json")
    rows = json.loads(result.stdout)
    assert len(rows) == 1
    assert rows[0]["model"] == "atdak-gpt-4"
    assert (rows[0]["answers"], rows[0]["total_tokens"]) == (2, 30)
    assert rows[0]["cost"] == pytest.approx((20 * 2 + 10 * 8) / 1e6)


def test_estimated_usage_counts_cjk_and_the_chat_format() -> None:
    from atdak_cli.turn import TurnRequest, TurnResult
    from atdak_cli.usage import tokens_of, typical_tokens

    assert typical_tokens("") == 0
    assert typical_tokens("abcdefgh") == 2
    assert typical_tokens("数据库") == 3  # ~4 chars a token would say 1
    request = TurnRequest(
        model="m", messages=[{"role": "user", "content": "数据库是什么"}], params={}
    )
    several_a_chunk = TurnResult(text="A database is an organised collection of data.", chunks=3)
    tokens = tokens_of(request, several_a_chunk)
    assert (tokens.prompt, tokens.completion, tokens.estimated) == (6 + 4 + 3, 12, True)
    one_a_chunk = TurnResult(text="A database is an organised collection of data.", chunks=9)
    assert tokens_of(request, one_a_chunk).completion == 9
