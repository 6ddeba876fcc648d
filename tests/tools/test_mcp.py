"""The MCP client manager with real servers: mcp-server-time and mcp-server-git from PyPI
over stdio, and our fixture server over stdio and streamable HTTP. Every fault a server can
have (not starting, crashing mid-call, hanging, failing) is a result, not an exception."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from atdak_cli.tools.config import ServerConfig
from atdak_cli.tools.mcp_client import McpServers, ToolServerError
from tests.utils.mcp_servers import fixture_http, fixture_stdio, git_server, make_repo, time_server
from tests.utils.process import CANARY_KEY


def test_time_server_lists_its_tools_and_answers_a_call() -> None:
    with McpServers({"time": time_server()}) as servers:
        names = {tool.name for tool in servers.tools("time")}
        assert {"get_current_time", "convert_time"} <= names
        result = servers.call("time", "get_current_time", {"timezone": "Europe/Paris"})
    assert result.outcome == "ok"
    assert json.loads(result.text)["timezone"] == "Europe/Paris"


def test_git_server_reads_a_temporary_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    with McpServers({"git": git_server(repo)}) as servers:
        log = servers.call("git", "git_log", {"repo_path": str(repo)})
        status = servers.call("git", "git_status", {"repo_path": str(repo)})
    assert log.outcome == "ok" and "First commit: hello" in log.text
    assert "hello.txt" in status.text and "modified" in status.text


def test_a_tool_error_is_an_error_result() -> None:
    with McpServers({"fx": fixture_stdio()}) as servers:
        result = servers.call("fx", "fail", {})
        unknown = servers.call("fx", "no_such_tool", {})
    assert result.outcome == "error" and "fail" in result.text
    assert unknown.outcome == "error" and "no_such_tool" in unknown.text


def test_a_server_that_crashes_mid_call_gives_an_error_result_at_once() -> None:
    with McpServers({"fx": fixture_stdio()}) as servers:
        servers.tools("fx")
        started = time.monotonic()
        result = servers.call("fx", "crash", {})
        after = servers.call("fx", "echo", {"text": "x"})
    assert time.monotonic() - started < 5
    assert result.outcome == "error"
    assert "closed the connection; it may have crashed" in result.text
    assert after.outcome == "error"


def test_a_hung_call_ends_at_the_per_call_timeout() -> None:
    with McpServers({"fx": fixture_stdio(timeout=1.0)}) as servers:
        servers.tools("fx", timeout=30)
        started = time.monotonic()
        result = servers.call("fx", "hang", {"seconds": 30})
        elapsed = time.monotonic() - started
        after = servers.call("fx", "echo", {"text": "still here"})
    assert 0.9 < elapsed < 5
    assert result.text == "error: fx.hang gave no answer within 1 s"
    assert after.text == "echo: still here"  # the server goes on serving


def test_a_server_that_does_not_start_is_named_with_the_reason() -> None:
    broken = ServerConfig(name="nope", command="/nonexistent/mcp-server")
    with McpServers({"nope": broken}) as servers:
        with pytest.raises(ToolServerError, match="'nope' did not start") as caught:
            servers.tools("nope")
        result = servers.call("nope", "anything", {})
    assert caught.value.status == 2
    assert result.outcome == "error" and "is not running" in result.text


def test_a_server_that_exits_at_once_names_its_last_stderr_line(tmp_path: Path) -> None:
    script = tmp_path / "bad.py"
    script.write_text("import sys\nsys.exit('config missing: SOME_TOKEN')\n")
    import sys

    broken = ServerConfig(name="bad", command=sys.executable, args=(str(script),))
    with McpServers({"bad": broken}) as servers, pytest.raises(ToolServerError) as caught:
        servers.tools("bad")
    assert "config missing: SOME_TOKEN" in caught.value.message


def test_servers_do_not_inherit_atdak_secrets_unless_the_config_names_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATDAK_API_KEY", CANARY_KEY)
    monkeypatch.setenv("UNRELATED_TOKEN", "t0ken")
    plain = fixture_stdio("plain")
    named = fixture_stdio("named", env={"PASSED_KEY": "${ATDAK_API_KEY}"})
    with McpServers({"plain": plain, "named": named}) as servers:
        inherited = servers.call("plain", "env_names", {}).text.split()
        given = servers.call("named", "env_names", {}).text.split()
    assert "PATH" in inherited and "HOME" in inherited
    assert not [name for name in inherited if name.startswith("ATDAK_")]
    assert "UNRELATED_TOKEN" not in inherited
    assert "PASSED_KEY" in given


def test_streamable_http_server_with_configured_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCS_TOKEN", "abc123")
    with fixture_http() as url:
        config = ServerConfig(name="web", url=url, headers={"X-Token": "Bearer ${DOCS_TOKEN}"})
        with McpServers({"web": config}) as servers:
            assert "echo" in {tool.name for tool in servers.tools("web")}
            echoed = servers.call("web", "echo", {"text": "over http"})
            header = servers.call("web", "header", {"name": "x-token"})
    assert echoed.text == "echo: over http"
    assert header.text == "Bearer abc123"


def test_an_unreachable_http_server_is_a_network_failure() -> None:
    config = ServerConfig(name="gone", url="http://127.0.0.1:9/mcp", timeout=10)
    with McpServers({"gone": config}) as servers, pytest.raises(ToolServerError) as caught:
        servers.tools("gone")
    assert caught.value.status == 7


def test_prompts_and_resources_of_a_server() -> None:
    with McpServers({"fx": fixture_stdio()}) as servers:
        prompts = servers.prompts("fx")
        messages = servers.get_prompt("fx", "review", {"language": "Rust"})
        resources = servers.resources("fx")
        text = servers.read_resource("fx", "note://readme")
    assert [(p.name, p.arguments) for p in prompts] == [("review", (("language", True),))]
    assert messages == [{"role": "user", "content": "Review this Rust code carefully."}]
    assert [r.uri for r in resources] == ["note://readme"]
    assert text == "The fixture's note."


def test_probe_lists_the_tools_of_each_server_or_why_it_did_not_start() -> None:
    from atdak_cli.tools.mcp_client import probe

    broken = ServerConfig(name="nope", command="/nonexistent/mcp-server")
    good, bad = probe({"time": time_server(), "nope": broken})
    assert "get_current_time" in {tool.name for tool in good.tools} and good.error is None
    assert bad.tools == () and bad.error is not None and "was not found" in bad.error
