"""``atdak mcp add | list | remove | import``: the MCP servers of the config file."""

from __future__ import annotations

import sys
from pathlib import Path

from atdak_cli.config import read_config
from atdak_cli.errors import UsageError
from atdak_cli.paths import config_file
from atdak_cli.terminal import open_terminal


def add(
    name: str,
    command: list[str],
    *,
    url: str | None,
    env: list[str],
    headers: list[str],
    allow: list[str],
    timeout: float | None,
) -> None:
    from atdak_cli.tools.manage import add as add_server

    path = config_file()
    line = add_server(
        path, name, command=command, url=url, env=env, headers=headers, allow=allow,
        timeout=timeout, existing=read_config(path),
    )  # fmt: skip
    open_terminal(None).notice(f"atdak: {line}")


def list_servers() -> None:
    """Every server, started to list its tools (whether it starts is the point)."""
    from atdak_cli.tools.manage import configured, status_lines
    from atdak_cli.tools.mcp_client import probe

    path = config_file()
    terminal = open_terminal(None)
    for line in status_lines(probe(configured(read_config(path), path))):
        terminal.stdout.write(line + "\n")


def remove(name: str) -> None:
    from atdak_cli.tools.config import remove_server

    path = config_file()
    if not remove_server(path, name):
        raise UsageError(f"no MCP server named {name!r} in {path}", hint="atdak mcp list")
    open_terminal(None).notice(f"atdak: removed MCP server {name!r} from {path}")


def import_servers(source: str) -> None:
    """The ``mcpServers`` JSON of another client (Claude Desktop, Cursor, VS Code)."""
    from atdak_cli.tools.manage import import_document

    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {source} ({exc})") from None
    path = config_file()
    terminal = open_terminal(None)
    for line in import_document(path, text, source, existing=read_config(path)):
        terminal.notice(f"atdak: {line}")
