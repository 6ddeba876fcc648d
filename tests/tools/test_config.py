"""[mcp.NAME] tables: read and checked; added, replaced and removed keeping every other line;
the mcpServers JSON of other clients imported."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
import tomllib

from atdak_cli.config import unknown_keys
from atdak_cli.errors import UsageError
from atdak_cli.tools.config import (
    ServerConfig,
    add_servers,
    default_environment,
    expand,
    import_servers,
    remove_server,
    servers,
)

EXISTING = """\
# my settings
model = "atdak-gpt-4"   # the default

[mcp.git]
command = "mcp-server-git"
args = ["--repository", "/src"]

[mcp.git.env]
GIT_PAGER = "cat"

[profiles.work]
temperature = 0.2
"""


def test_tables_are_read_into_server_configs(tmp_path: Path) -> None:
    text = EXISTING + '\n[mcp.web]\nurl = "https://x.example/mcp"\nallow = ["*"]\ntimeout = 5\n'
    found = servers(tomllib.loads(text), tmp_path / "c.toml")
    assert found["git"].args == ("--repository", "/src")
    assert found["git"].env == {"GIT_PAGER": "cat"}
    assert found["web"].transport == "http" and found["web"].timeout == 5.0
    assert found["web"].allows("anything") and not found["git"].allows("git_status")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"args": ["x"]}, "needs either command"),
        ({"command": "x", "url": "http://h/mcp"}, "needs either command"),
        ({"command": "x", "args": "not-a-list"}, "args in [mcp.bad]"),
        ({"command": "x", "timeout": 0}, "positive number"),
        ({"url": "ftp://h/mcp"}, "http(s) URL"),
        ({"command": "x", "env": {"A": 1}}, "env in [mcp.bad]"),
    ],
)
def test_bad_tables_are_usage_errors_naming_the_table(table: dict, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        servers({"mcp": {"bad": table}}, Path("c.toml"))


def test_unknown_keys_of_a_server_table_are_named() -> None:
    warnings = list(unknown_keys({"mcp": {"git": {"comand": "x"}}}, Path("c.toml")))
    assert warnings == [
        ("unknown key 'comand' in [mcp.git] of c.toml is ignored", "did you mean 'command'?")
    ]


def test_add_keeps_every_other_line_and_replaces_the_server_whole(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXISTING)
    path.chmod(0o640)
    new = ServerConfig(name="git", command="uvx", args=("mcp-server-git",), timeout=10)
    add_servers(path, [new, ServerConfig(name="time", command="uvx", args=("mcp-server-time",))])
    text = path.read_text()
    assert text.startswith('# my settings\nmodel = "atdak-gpt-4"   # the default\n')
    assert "GIT_PAGER" not in text  # the old [mcp.git.env] went with its table
    assert "[profiles.work]\ntemperature = 0.2\n" in text
    parsed = tomllib.loads(text)
    assert parsed["mcp"]["git"] == {"command": "uvx", "args": ["mcp-server-git"], "timeout": 10}
    assert parsed["mcp"]["time"]["args"] == ["mcp-server-time"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the file's own mode is kept


def test_a_new_config_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    server = ServerConfig(name="web", url="https://x/mcp", headers={"Authorization": "Bearer s"})
    add_servers(path, [server])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tomllib.loads(path.read_text())["mcp"]["web"]["headers"] == {"Authorization": "Bearer s"}


def test_strings_that_need_escaping_survive_the_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    odd = 'C:\\tools\\"q"\nnext\x01 é'
    add_servers(path, [ServerConfig(name="odd", command=odd, env={"a key": odd})])
    table = tomllib.loads(path.read_text())["mcp"]["odd"]
    assert table["command"] == odd and table["env"] == {"a key": odd}


def test_remove_keeps_the_rest_and_says_whether_it_found_the_server(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXISTING)
    assert remove_server(path, "git") is True
    assert remove_server(path, "git") is False
    text = path.read_text()
    assert "mcp" not in tomllib.loads(text)
    assert text.startswith("# my settings\n") and "[profiles.work]" in text


def test_a_shape_the_editor_does_not_know_is_refused_and_the_file_left_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    original = 'mcp = { git = { command = "x" } }\n'
    path.write_text(original)
    with pytest.raises(UsageError, match="cannot edit the \\[mcp\\] tables"):
        remove_server(path, "git")
    assert path.read_text() == original
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_import_of_the_mcp_servers_json_of_other_clients() -> None:
    document = {
        "mcpServers": {
            "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
            "remote": {"type": "http", "url": "https://x.example/mcp", "headers": {"A": "b"}},
            "old": {"type": "sse", "url": "https://x.example/sse"},
            "bad name!": {"command": "x"},
        }
    }
    found, notes = import_servers(json.dumps(document), "claude.json")
    assert [s.name for s in found] == ["time", "remote"]
    assert found[0].env == {"TZ": "UTC"} and found[1].headers == {"A": "b"}
    assert notes[0].startswith("old: left out") and "SSE" in notes[0]
    assert notes[1].startswith("bad name!: left out")


def test_import_of_something_else_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no mcpServers"):
        import_servers("[1, 2]", "x.json")
    with pytest.raises(UsageError, match="not JSON"):
        import_servers("{", "x.json")


def test_the_default_environment_holds_no_atdak_variable() -> None:
    env = default_environment({"PATH": "/bin", "ATDAK_API_KEY": "k", "LC_ALL": "C", "AWS_KEY": "s"})
    assert env == {"PATH": "/bin", "LC_ALL": "C"}


def test_expand_copies_named_variables_and_refuses_unset_ones() -> None:
    assert expand("Bearer ${T}", {"T": "x"}, "here") == "Bearer x"
    with pytest.raises(UsageError, match=r"names \$\{MISSING\}"):
        expand("${MISSING}", {}, "[mcp.a]")


def test_the_cache_key_changes_with_what_would_be_started() -> None:
    base = ServerConfig(name="a", command="x")
    assert base.cache_key() == ServerConfig(name="a", command="x", allow=("*",)).cache_key()
    assert base.cache_key() != ServerConfig(name="a", command="x", args=("-v",)).cache_key()
    secret = ServerConfig(name="a", url="https://h/mcp", headers={"A": "sekrit"})
    assert "sekrit" not in secret.cache_key()


def test_manage_add_list_and_import(tmp_path: Path) -> None:
    from atdak_cli.tools.manage import add, configured, import_document, status_lines
    from atdak_cli.tools.mcp_client import probe
    from tests.utils.mcp_servers import time_server

    path = tmp_path / "config.toml"
    command = [time_server().command or "", "--local-timezone", "UTC"]
    line = add(path, "time", command=command, url=None, allow=["get_current_time"], existing={})
    assert line == f"added MCP server 'time' in {path}"
    existing = tomllib.loads(path.read_text())
    again = add(
        path, "time", command=command, url=None, allow=["get_current_time"], existing=existing
    )
    assert again.startswith("replaced")
    document = json.dumps(
        {"mcpServers": {"time": {"command": "x"}, "web": {"url": "https://h/mcp"}}}
    )
    notes = import_document(path, document, "x.json", existing=tomllib.loads(path.read_text()))
    assert notes == ["web: added (https://h/mcp)", "time: left out (already configured)"]
    found = configured(tomllib.loads(path.read_text()), path)
    lines = list(status_lines(probe({"time": found["time"]})))
    assert lines[0].startswith("time  (stdio: ") and lines[0].endswith("starts, 2 tools")
    assert lines[1].startswith("  get_current_time  (allowed)  Get current time")
    with pytest.raises(UsageError, match="command after --, or its --url"):
        add(path, "x", command=[], url=None, existing={})
    with pytest.raises(UsageError, match="is not KEY=VALUE"):
        add(path, "x", command=["c"], url=None, env=["NOEQUALS"], existing={})


def test_the_readme_example_of_mcp_tables_is_valid() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```toml\n# config.toml: MCP servers\n", 1)[1].split("```", 1)[0]
    config = tomllib.loads(example)
    found = servers(config, Path("README.md"))
    assert sorted(found) == ["docs", "git", "time"]
    assert list(unknown_keys(config, Path("README.md"))) == []
