"""``atdak mcp add | list | remove | import`` as real processes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.utils.mcp_servers import VENV_BIN
from tests.utils.process import run_atdak


def test_add_list_remove(tmp_path: Path) -> None:
    time_cmd = str(VENV_BIN / "mcp-server-time")
    added = run_atdak("mcp", "add", "time", "--allow", "get_current_time", "--", time_cmd)
    assert added.returncode == 0, added.stderr
    assert added.stderr.startswith(b"atdak: added MCP server 'time' in ")
    run_atdak("mcp", "add", "bad", "--", "/nonexistent/server")
    listed = run_atdak("mcp", "list", timeout=60)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.decode().splitlines()
    assert lines[0] == f"time  (stdio: {time_cmd})  starts, 2 tools"
    assert lines[1].startswith("  get_current_time  (allowed)  Get current time")
    assert lines[3].startswith("bad  (stdio: /nonexistent/server)  does not start:")
    assert run_atdak("mcp", "remove", "bad").returncode == 0
    again = run_atdak("mcp", "remove", "bad")
    assert again.returncode == 2 and b"no MCP server named 'bad'" in again.stderr
    config = (tmp_path / "config" / "config.toml").read_text()
    assert "[mcp.time]" in config and "bad" not in config


def test_add_needs_a_command_or_a_url() -> None:
    result = run_atdak("mcp", "add", "x")
    assert result.returncode == 2
    assert b"give the server's command after --, or its --url" in result.stderr


def test_import_of_another_clients_json(tmp_path: Path) -> None:
    document = {"mcpServers": {"py": {"command": sys.executable, "args": ["-V"]}}}
    result = run_atdak("mcp", "import", "-", input=json.dumps(document))
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode() == f"atdak: py: added ({sys.executable} -V)\n"
    assert "[mcp.py]" in (tmp_path / "config" / "config.toml").read_text()


def test_list_without_servers_says_how_to_add_one() -> None:
    result = run_atdak("mcp", "list")
    assert result.returncode == 2
    assert b"atdak mcp add NAME -- CMD ARGS..." in result.stderr
