"""The command-line surface: --help reads well in 80 columns, --version, consistent flags.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from atdak_cli import __version__
from atdak_cli.cli import app
from tests.utils.process import run_atdak

WIDTH = 80
ROOT = typer.main.get_command(app)
EXIT_CODES = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "130", "141", "143")
# The flags the issue wants spelled alike wherever they appear.
SHARED = ("-m", "-s", "-t", "-f", "--json", "--render", "--profile", "--base-url", "--timeout")
SHARED += ("--no-history", "--debug")


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, (*path, name))


COMMANDS = dict(_walk(ROOT))
LEAVES = [path for path, command in COMMANDS.items() if not getattr(command, "commands", None)]
# Commands whose help says all there is to say without examples.
NO_EXAMPLES = {("config", "path"), ("roles", "list")}


def _params(paths: list[tuple[str, ...]]) -> list[Any]:
    return [pytest.param(p, id=" ".join(p) or "atdak") for p in paths]


def help_text(path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> str:
    """The help as an 80-column terminal shows it (click wraps at the width less 2;
    CliRunner would force 80)."""
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    command = ROOT
    ctx = command.context_class(command, info_name="atdak", **command.context_settings)
    for name in path:
        command = command.commands[name]
        ctx = command.context_class(command, info_name=name, parent=ctx, **command.context_settings)
    return str(command.get_help(ctx)) + "\n"


def _sections(text: str) -> dict[str, list[str]]:
    """Help split at its unindented headings ("Options:", "Commands:" ...)."""
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Za-z ]*:$", line):
            current = line[:-1]
            sections[current] = []
        else:
            sections[current].append(line)
    return sections


# -- version and exit codes -------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_name_and_version(flag: str) -> None:
    result = run_atdak(flag)
    assert result.returncode == 0
    assert result.stdout.decode() == f"atdak {__version__}\n"


def test_root_help_lists_every_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    text = help_text((), monkeypatch)
    exit_part = text[text.index("Exit codes") :]
    for code in EXIT_CODES:
        assert re.search(rf"(?<![\d]){code}(?![\d])", exit_part), code


def test_408_is_documented_as_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 408 after the retries is the server timing out (exit 8), not a rejection (4)."""
    text = help_text((), monkeypatch)
    assert "8 timeout (also HTTP 408)" in text
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    [row] = [line for line in readme.splitlines() if line.startswith("| 8 |")]
    assert "408" in row
    assert "408" not in next(line for line in readme.splitlines() if line.startswith("| 4 |"))


# -- every command's help ----------------------------------------------------------------------



@pytest.mark.parametrize("path", _params(list(COMMANDS)))
def test_help_fits_80_columns(path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    wide = [line for line in help_text(path, monkeypatch).splitlines() if len(line) > WIDTH]
    assert wide == []




@pytest.mark.parametrize(
    "path", _params([p for p, c in COMMANDS.items() if getattr(c, "commands", None)])
)
def test_command_lists_show_whole_one_line_summaries(
    path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = _sections(help_text(path, monkeypatch))["Commands"]
    names = set(COMMANDS[path].commands)
    rows = [line for line in listing if line.split()[:1] and line.split()[0] in names]
    assert len(rows) == len(names)
    assert [row for row in rows if row.rstrip().endswith("...")] == []


@pytest.mark.parametrize("path", [p for p in COMMANDS if p], ids=" ".join)
def test_every_command_has_a_summary(path: tuple[str, ...]) -> None:
    command = COMMANDS[path]
    summary = (command.help or "").strip().split("\n")[0]
    assert summary, f"atdak {' '.join(path)} has no summary"
    assert summary.endswith("."), summary




@pytest.mark.parametrize(
    "path", _params([p for p in LEAVES if p not in NO_EXAMPLES])
)
def test_help_ends_with_examples_that_each_fit_one_line(
    path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = help_text(path, monkeypatch)
    assert "\n  Examples:\n" in text  # a heading of its own: the epilog kept its lines
    examples = [line for line in text.split("Examples:", 1)[1].splitlines() if line.strip()]
    assert examples
    assert [line for line in examples if "atdak" not in line] == []  # no wrapped remnants




@pytest.mark.parametrize("path", _params(LEAVES))
def test_option_help_stays_on_one_line(
    path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A continuation line (deeply indented, no option name) means the help text wrapped."""
    sections = _sections(help_text(path, monkeypatch))
    rows = [line for name, lines in sections.items() if name for line in lines]
    assert [row for row in rows if re.match(r"^ {6,}\S", row) and "atdak" not in row] == []


@pytest.mark.parametrize("command", ["complete", "chat"])
def test_long_option_lists_are_grouped(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    headings = set(_sections(help_text((command,), monkeypatch)))
    assert {"Model and sampling", "Output", "Connection"} <= headings


@pytest.mark.parametrize("command", ["complete", "chat"])
def test_value_options_name_their_value(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``-m, --model MODEL``, not click's ``<str>``."""
    assert "<str>" not in help_text((command,), monkeypatch)


# -- consistent flags ---------------------------------------------------------------------------


def _options() -> Iterator[tuple[tuple[str, ...], Any]]:
    for path, command in COMMANDS.items():
        for param in command.params:
            if param.param_type_name == "option":
                yield path, param


def test_shared_flags_are_spelled_alike_everywhere() -> None:
    seen: dict[str, set[tuple[str, ...]]] = {}
    for _, param in _options():
        for name in param.opts:
            if name in SHARED:
                seen.setdefault(name, set()).add(tuple(sorted(param.opts)))
    assert set(seen) == set(SHARED)
    assert {name: forms for name, forms in seen.items() if len(forms) > 1} == {}


def test_an_option_name_means_one_thing_across_commands() -> None:
    """The same name must not be a flag in one command and take a value in another.

    The one exception is asked for by two issues: ``chat --resume ID`` picks a conversation
    up, ``complete --batch ... --resume`` skips the lines already done.
    """
    kinds: dict[str, set[bool]] = {}
    for _, param in _options():
        for name in (*param.opts, *param.secondary_opts):
            kinds.setdefault(name, set()).add(bool(param.is_flag))
    assert {name: k for name, k in kinds.items() if len(k) > 1} == {"--resume": {True, False}}
