"""``atdak complete -T`` as a real process into a pipe: the loopback API calls the offered
tools of real MCP servers; only the final answer reaches stdout; the chain is saved."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from atdak_cli.tools.config import add_servers
from tests.utils.api_server import FakeAPIServer, RecordedRequest, Reply, respond_with, stream
from tests.utils.mcp_servers import fixture_stdio, time_server
from tests.utils.process import run_atdak


@pytest.fixture
def servers(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "config.toml"
    add_servers(path, [fixture_stdio(), time_server()])
    return path


def answer_from_tools() -> Reply:
    def choose(request: RecordedRequest) -> Reply:
        results = [m["content"] for m in request.json()["messages"] if m["role"] == "tool"]
        return stream(["from tools: ", " | ".join(results)])

    return respond_with(choose)


def test_pipe_gets_only_the_final_answer_and_the_chain_is_saved(
    api: FakeAPIServer, key_env: str, servers: Path, tmp_path: Path
) -> None:
    api.enqueue(
        stream(["Let me look. "], tool_calls=[("echo", '{"text": "one"}')]),
        stream([], tool_calls=[("add", '{"a": 2, "b": 3}'), ("echo", '{"text": "two"}')]),
        answer_from_tools(),
    )
    result = run_atdak("complete", "--base-url", api.base_url, "-T", "fx", "--approve-tools", "go")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"from tools: echo: one | 5 | echo: two\n"
    assert api.requests[0].json()["tools"][0]["type"] == "function"
    db = sqlite3.connect(tmp_path / "data" / "history.db")
    rows = db.execute("SELECT role, content, tool_call_id FROM messages ORDER BY position")
    roles = [row[0] for row in rows]
    db.close()
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "tool", "assistant"]
    shown = run_atdak("history", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    assert b'"tool_call_id": "call_1"' in shown.stdout


def test_continue_resends_calls_and_results(
    api: FakeAPIServer, key_env: str, servers: Path
) -> None:
    api.enqueue(stream([], tool_calls=[("echo", '{"text": "kept"}')]), answer_from_tools())
    first = run_atdak(
        "complete", "--base-url", api.base_url, "-T", "fx.echo", "--approve-tools", "a"
    )
    assert first.returncode == 0, first.stderr
    again = run_atdak("complete", "--base-url", api.base_url, "-c", "-T", "fx", "next")
    assert again.returncode == 0, again.stderr
    sent = api.requests[-1].json()["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "user"]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "echo"
    assert sent[2] == {"role": "tool", "content": "echo: kept", "tool_call_id": "call_0"}


def test_without_a_terminal_an_unapproved_call_exits_11_and_is_saved(
    api: FakeAPIServer, key_env: str, servers: Path
) -> None:
    api.enqueue(stream([], tool_calls=[("echo", '{"text": "x"}')]))
    result = run_atdak("complete", "--base-url", api.base_url, "-T", "fx", "go")
    assert result.returncode == 11
    assert result.stdout == b""
    assert result.stderr.decode().splitlines() == [
        "atdak: error: the model asked to run fx.echo, and there is no terminal to ask for"
        " approval — pass --approve-tools to allow this run's tools, or list the tool in"
        " allow = [...] of its [mcp.NAME] table"
    ]
    shown = run_atdak("history", "show", "--json")
    assert b"not run" in shown.stdout


def test_json_includes_the_calls_and_their_results(
    api: FakeAPIServer, key_env: str, servers: Path
) -> None:
    api.enqueue(stream([], tool_calls=[("get_current_time", '{"timezone": "UTC"}')]))
    api.enqueue(stream(["done"]))
    result = run_atdak(
        "complete", "--base-url", api.base_url, "-T", "time", "--approve-tools", "--json", "t?"
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["choices"][0]["message"]["content"] == "done"
    (run,) = document["tool_runs"]
    assert run["name"] == "get_current_time" and run["outcome"] == "ok"
    assert json.loads(run["result"])["timezone"] == "UTC"


def test_chain_limit_is_a_clear_error(api: FakeAPIServer, key_env: str, servers: Path) -> None:
    api.set_default(stream([], tool_calls=[("echo", '{"text": "again"}')]))
    result = run_atdak(
        "complete", "--base-url", api.base_url, "-T", "fx", "--approve-tools",
        "--chain-limit", "2", "loop",
    )  # fmt: skip
    assert result.returncode == 9
    assert b"after 2 rounds of calls" in result.stderr
    assert len(api.requests) == 3


def test_functions_file_offers_its_functions(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    functions = tmp_path / "fns.py"
    functions.write_text(
        'def shout(text: str) -> str:\n    """Upper-case."""\n    return text.upper()\n'
    )
    api.enqueue(stream([], tool_calls=[("shout", '{"text": "hey"}')]), answer_from_tools())
    result = run_atdak(
        "complete", "--base-url", api.base_url, "--functions", str(functions), "--approve-tools",
        "go",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"from tools: HEY\n"
    offered = api.requests[0].json()["tools"][0]["function"]
    assert offered["name"] == "shout" and offered["description"] == "Upper-case."


def test_unknown_server_is_a_usage_error(api: FakeAPIServer, key_env: str, servers: Path) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "-T", "nope", "go")
    assert result.returncode == 2
    assert b"no MCP server named 'nope'" in result.stderr
    assert api.requests == []


def test_chat_sends_an_mcp_prompt_and_attaches_a_resource(
    api: FakeAPIServer, key_env: str, servers: Path
) -> None:
    script = "/prompt fx.review language=Rust\n/resource fx note://readme\nread it\n"
    result = run_atdak("chat", "--base-url", api.base_url, "-T", "fx", input=script, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[0] == "echo: Review this Rust code carefully."
    assert b"attached note://readme" in result.stderr
    last = api.requests[-1].json()["messages"][-1]["content"]
    assert last.startswith("Resource note://readme (MCP server fx):\n\nThe fixture's note.")
    assert last.endswith("read it")
    missing = run_atdak("chat", "--base-url", api.base_url, input="/prompt nope.x\n")
    assert b"no MCP server 'nope' in this session" in missing.stderr
