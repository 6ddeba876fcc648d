"""``[mcp.NAME]`` tables of config.toml: reading them, and adding or removing one in place.

    [mcp.time]                       # a stdio server: atdak starts the command
    command = "uvx"
    args = ["mcp-server-time"]
    env = { TZ = "UTC" }             # added to a minimal environment; "${VAR}" copies atdak's
    cwd = "~/src"
    allow = ["get_current_time"]     # run these without asking ("*": every tool)
    timeout = 30                     # seconds a call may take

    [mcp.docs]                       # a streamable-HTTP server
    url = "https://example.com/mcp"
    headers = { Authorization = "Bearer ${DOCS_TOKEN}" }

Edits keep every other line of the file (comments too): the tables of one server are cut
out and the new table is appended; the result is parsed back and compared with what was
meant before it replaces the file, atomically.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atdak_cli.errors import UsageError

DEFAULT_TIMEOUT = 60.0
SERVER_KEYS = ("command", "args", "env", "cwd", "url", "headers", "allow", "timeout")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class ServerConfig:
    """One MCP server as configured: a command to start (stdio) or a URL (streamable HTTP)."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    allow: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"

    def allows(self, tool: str) -> bool:
        """Whether the config approves calls of ``tool`` in advance."""
        return "*" in self.allow or tool in self.allow

    def cache_key(self) -> str:
        """Changes whenever what would be started changes (the tool list may differ then).
        A hash: header values can be secrets, and the cache file must not hold them."""
        import hashlib

        what = [self.command, self.args, sorted(self.env.items()), self.cwd, self.url]
        what.append(sorted(self.headers.items()))
        return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:32]

    def describe(self) -> str:
        """``uvx mcp-server-time`` or the URL: what ``atdak mcp list`` shows."""
        if self.url:
            return self.url
        return " ".join([self.command or "", *self.args])

    def to_table(self) -> dict[str, Any]:
        """The ``[mcp.NAME]`` table's values, as the file holds them."""
        table: dict[str, Any] = {}
        if self.url:
            table["url"] = self.url
        else:
            table["command"] = self.command
            if self.args:
                table["args"] = list(self.args)
        for key, value in (("env", self.env), ("headers", self.headers)):
            if value:
                table[key] = dict(value)
        if self.cwd:
            table["cwd"] = self.cwd
        if self.allow:
            table["allow"] = list(self.allow)
        if self.timeout != DEFAULT_TIMEOUT:
            table["timeout"] = self.timeout
        return table


def check_name(name: str) -> str:
    """Server names are used in ``-T NAME.tool`` and as bare TOML keys."""
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"{name!r} cannot name an MCP server",
            hint="use letters, digits, '-' and '_' (at most 64)",
        )
    return name


def servers(config: Mapping[str, Any], path: Path) -> dict[str, ServerConfig]:
    """Every ``[mcp.NAME]`` table of a parsed config file, checked."""
    tables = config.get("mcp", {})
    if not isinstance(tables, Mapping):
        raise UsageError(f"mcp in {path} must be a table of [mcp.NAME] tables")
    return {name: server_from_table(name, table, path) for name, table in tables.items()}


def server_from_table(name: str, table: object, path: Path | str) -> ServerConfig:
    where = f"[mcp.{name}] in {path}"
    if not isinstance(table, Mapping):
        raise UsageError(f"{where} must be a table")
    check_name(name)
    command, url = table.get("command"), table.get("url")
    if (command is None) == (url is None):
        raise UsageError(f"{where} needs either command (stdio) or url (streamable HTTP)")
    timeout = table.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise UsageError(f"timeout in {where} must be a positive number of seconds")
    return ServerConfig(
        name=name,
        command=_string(command, "command", where),
        args=_strings(table.get("args", []), "args", where),
        env=_string_table(table.get("env", {}), "env", where),
        cwd=_string(table.get("cwd"), "cwd", where),
        url=_url(url, where),
        headers=_string_table(table.get("headers", {}), "headers", where),
        allow=_strings(table.get("allow", []), "allow", where),
        timeout=float(timeout),
    )


def _string(value: object, key: str, where: str) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return value
    raise UsageError(f"{key} in {where} must be a non-empty string")


def _strings(value: object, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise UsageError(f"{key} in {where} must be a list of strings")


def _string_table(value: object, key: str, where: str) -> dict[str, str]:
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    raise UsageError(f"{key} in {where} must be a table of strings")


def _url(value: object, where: str) -> str | None:
    url = _string(value, "url", where)
    if url is not None and not url.startswith(("http://", "https://")):
        raise UsageError(f"url in {where} must be an http(s) URL, not {url!r}")
    return url


def expand(value: str, environ: Mapping[str, str], where: str) -> str:
    """``${VAR}`` replaced by atdak's own variable: secrets stay out of the config file, and
    only what the config names reaches a server."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise UsageError(f"{where} names ${{{name}}}, which is not set")
        return environ[name]

    return _VARIABLE.sub(one, value)


# -- editing the file


def add_servers(path: Path, new: Iterable[ServerConfig]) -> None:
    """Add (or replace) servers, keeping the rest of the file as it is."""
    new = list(new)
    text = _read_text(path)
    for server in new:
        text = _without_server(text, server.name)
    text = _append(text, [render_table(server) for server in new])
    expected = _parse(_read_text(path), path)
    tables = dict(expected.get("mcp", {}))
    tables.update({server.name: server.to_table() for server in new})
    expected["mcp"] = tables
    _replace_checked(path, text, expected)


def remove_server(path: Path, name: str) -> bool:
    """Remove ``[mcp.NAME]``; False if there was none."""
    old = _read_text(path)
    expected = _parse(old, path)
    tables = dict(expected.get("mcp", {}))
    if name not in tables:
        return False
    del tables[name]
    expected["mcp"] = tables
    _replace_checked(path, _without_server(old, name), expected)
    return True


def render_table(server: ServerConfig) -> str:
    lines = [f"[mcp.{check_name(server.name)}]"]
    for key, value in server.to_table().items():
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    # A JSON string is a TOML basic string (both escape with \" \\ \n \uXXXX).
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(pairs) + " }" if value else "{}"
    return str(value)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _header_pattern(name: str) -> re.Pattern[str]:
    quoted = rf"(?:{re.escape(name)}|\"{re.escape(name)}\"|'{re.escape(name)}')"
    return re.compile(rf"^\s*\[\s*mcp\s*\.\s*{quoted}\s*[.\]]")


def _without_server(text: str, name: str) -> str:
    """The text without the ``[mcp.NAME]`` table and its sub-tables (``[mcp.NAME.env]``)."""
    header = _header_pattern(name)
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        if re.match(r"^\s*\[", line):
            skipping = bool(header.match(line))
        if not skipping:
            kept.append(line)
    return "".join(kept)


def _append(text: str, tables: list[str]) -> str:
    if not tables:
        return text
    text = text.rstrip("\n")
    return (text + "\n\n" if text else "") + "\n".join(tables)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path} ({exc})") from None


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,import-not-found]
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML ({exc})") from None


def _replace_checked(path: Path, text: str, expected: dict[str, Any]) -> None:
    """Write ``text`` only if it parses to ``expected``: an [mcp] table written in a shape
    the line editor does not know (inline, dotted keys) is refused, never mangled."""
    if not expected.get("mcp"):
        expected.pop("mcp", None)
    got = _parse(text, path)
    if not got.get("mcp"):
        got.pop("mcp", None)
    if got != expected:
        raise UsageError(
            f"cannot edit the [mcp] tables of {path} safely",
            hint="write each server as its own [mcp.NAME] table, or edit the file by hand",
        )
    from atdak_cli.paths import replace_file

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600  # headers and env may hold secrets
    replace_file(path, [text], mode=mode)


# -- the mcpServers JSON of other clients (Claude Desktop, Cursor, VS Code)


def import_servers(data: str, source: str) -> tuple[list[ServerConfig], list[str]]:
    """The servers of an ``mcpServers`` (or VS Code ``servers``) JSON document, and one
    note for each entry left out and why."""
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise UsageError(f"{source} is not JSON ({exc})") from None
    entries = None
    if isinstance(document, dict):
        entries = document.get("mcpServers", document.get("servers"))
    if not isinstance(entries, dict):
        raise UsageError(f"{source} has no mcpServers object")
    found: list[ServerConfig] = []
    notes: list[str] = []
    for name, entry in entries.items():
        try:
            server = _imported(str(name), entry, source)
        except UsageError as exc:
            notes.append(f"{name}: left out ({exc.message})")
            continue
        if server is not None:
            found.append(server)
        else:
            notes.append(f"{name}: left out (atdak speaks stdio and streamable HTTP, not SSE)")
    return found, notes


def _imported(name: str, entry: object, source: str) -> ServerConfig | None:
    if not isinstance(entry, dict):
        raise UsageError("not an object")
    kind = entry.get("type") or entry.get("transport")
    if kind == "sse":
        return None
    keys = ("command", "args", "env", "cwd", "url", "headers")
    table = {key: entry[key] for key in keys if entry.get(key) is not None}
    return server_from_table(name, table, source)


def default_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """What every stdio server gets: the variables a program needs to run, never an
    ``ATDAK_*`` one (the API key) nor any other secret atdak holds."""
    env = os.environ if environ is None else environ
    keep = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "TMPDIR", "TZ")
    kept = {k: env[k] for k in keep if k in env}
    kept.update({k: v for k, v in env.items() if k.startswith(("LC_", "XDG_"))})
    return kept
