"""What ``atdak mcp add | list | remove | import`` do, below the command line."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from atdak_cli.errors import UsageError
from atdak_cli.tools.config import ServerConfig, add_servers, check_name, servers
from atdak_cli.tools.mcp_client import ServerStatus
from atdak_cli.tools.untrusted import first_line, printable


def parse_pairs(values: list[str], separator: str, what: str) -> dict[str, str]:
    """``KEY=VALUE`` (env) or ``Name: value`` (headers) options."""
    pairs = {}
    for value in values:
        key, found, rest = value.partition(separator)
        if not found or not key.strip():
            raise UsageError(f"{what} {value!r} is not KEY{separator}VALUE")
        pairs[key.strip()] = rest.strip() if separator == ":" else rest
    return pairs


def add(
    path: Path,
    name: str,
    *,
    command: list[str],
    url: str | None,
    env: list[str] = (),  # type: ignore[assignment]
    headers: list[str] = (),  # type: ignore[assignment]
    allow: list[str] = (),  # type: ignore[assignment]
    timeout: float | None = None,
    existing: Mapping[str, Any],
) -> str:
    """Write ``[mcp.NAME]``; the line to tell the user."""
    check_name(name)
    if bool(command) == bool(url):
        raise UsageError(
            "give the server's command after --, or its --url",
            hint="atdak mcp add time -- uvx mcp-server-time",
        )
    table: dict[str, Any] = {"url": url} if url else {"command": command[0], "args": command[1:]}
    table["env"] = parse_pairs(list(env), "=", "--env")
    table["headers"] = parse_pairs(list(headers), ":", "--header")
    table["allow"] = list(allow)
    if timeout is not None:
        table["timeout"] = timeout
    from atdak_cli.tools.config import server_from_table

    server = server_from_table(name, table, path)
    replaced = name in (existing.get("mcp") or {})
    add_servers(path, [server])
    return f"{'replaced' if replaced else 'added'} MCP server {name!r} in {path}"


def import_document(
    path: Path, text: str, source: str, *, existing: Mapping[str, Any]
) -> list[str]:
    """Add the servers of an ``mcpServers`` JSON document that are not configured yet; one
    line for each server added or left out."""
    from atdak_cli.tools.config import import_servers

    found, notes = import_servers(text, source)
    known = set(existing.get("mcp") or {})
    new = [server for server in found if server.name not in known]
    notes += [f"{s.name}: left out (already configured)" for s in found if s.name in known]
    if new:
        add_servers(path, new)
    return [f"{server.name}: added ({server.describe()})" for server in new] + notes


def configured(config: Mapping[str, Any], path: Path) -> dict[str, ServerConfig]:
    found = servers(config, path)
    if not found:
        raise UsageError(
            f"no MCP server is configured in {path}",
            hint="atdak mcp add NAME -- CMD ARGS..., or atdak mcp import FILE",
        )
    return found


def status_lines(statuses: list[ServerStatus]) -> Iterator[str]:
    """Each server (transport, what starts it, whether it did) and its tools, one line each.
    Descriptions come from the servers: untrusted, made printable."""
    for status in statuses:
        config = status.config
        head = f"{config.name}  ({config.transport}: {printable(config.describe())})"
        if status.error is not None:
            yield f"{head}  does not start: {printable(status.error)}"
            continue
        count = len(status.tools)
        yield f"{head}  starts, {count} tool{'s' if count != 1 else ''}"
        for tool in status.tools:
            mark = "  (allowed)" if config.allows(tool.name) else ""
            yield f"  {printable(tool.name)}{mark}  {first_line(tool.description, 70)}"
