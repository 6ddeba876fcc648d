"""What each command imports (design.md §1 rule 4) and the direction of imports (rules 1-3).

Start-up time is mostly imports: ``atdak --version`` needs none of httpx, rich, prompt_toolkit,
sqlite3 or pydantic, and ``atdak complete`` into a pipe needs neither rich nor prompt_toolkit
(design.md §9 has the measured cost of each). ``python -X importtime`` lists every module a
real process imported.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.utils.api_server import FakeAPIServer
from tests.utils.process import REPO

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef,import-not-found]

PACKAGE = REPO / "atdak_cli"
HEAVY_FOR_VERSION = ("httpx", "rich", "prompt_toolkit", "sqlite3", "pydantic")
HEAVY_FOR_COMPLETE = ("rich", "prompt_toolkit", "pydantic", "markdown_it", "pygments")
# A streamed answer of the sync client needs neither the async client nor raw responses.
UNUSED_BY_COMPLETE = ("atdak_cli.client._async_client", "atdak_cli.client._response")


def imported_modules(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime -m atdak_cli ARGS`` (stdout a pipe); the modules it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "atdak_cli", *args],
        input="",
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=30,
        check=False,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    modules.discard("imported package")  # the header line
    return proc, modules


def loaded(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(package + "."))


@pytest.mark.parametrize("package", HEAVY_FOR_VERSION)
def test_version_imports_no_heavy_module(package: str) -> None:
    proc, modules = imported_modules("--version")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("atdak ")
    assert "atdak_cli" in modules  # the parse worked: an empty set would prove nothing
    assert loaded(modules, package) == []


def test_complete_into_a_pipe_imports_neither_rich_nor_prompt_toolkit(
    api: FakeAPIServer, key_env: str
) -> None:
    proc, modules = imported_modules("complete", "--base-url", api.base_url, "hi")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == "echo: hi\n"
    assert "httpx" in modules  # it did send the request
    for package in HEAVY_FOR_COMPLETE + UNUSED_BY_COMPLETE:
        assert loaded(modules, package) == [], f"atdak complete | ... imported {package}"


# The MCP SDK (~0.9 s with pydantic) and the tool machinery load only with -T (anyio is
# httpx's own import, not the SDK's).
TOOL_MODULES = ("mcp", "mcp_types", "pydantic", "jsonschema", "atdak_cli.tools")


@pytest.mark.parametrize("command", ["complete", "chat"])
def test_without_tools_nothing_of_mcp_is_imported(
    api: FakeAPIServer, key_env: str, command: str
) -> None:
    args = (command, "--base-url", api.base_url) + (("hi",) if command == "complete" else ())
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "atdak_cli", *args],
        input="hi\n", capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "echo: hi" in proc.stdout
    modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "httpx" in modules
    for package in TOOL_MODULES:
        assert loaded(modules, package) == [], f"atdak {command} imported {package}"


def test_complete_saves_its_exchange_without_the_history_row_types(
    api: FakeAPIServer, key_env: str
) -> None:
    # The row dataclasses cost ~4 ms to create; writing an exchange needs none of them.
    proc, modules = imported_modules("complete", "--base-url", api.base_url, "hi")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "atdak_cli.history.store" in modules
    assert loaded(modules, "atdak_cli.history.rows") == []
    history = subprocess.run(
        [sys.executable, "-m", "atdak_cli", "history", "show", "--json"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert [m["content"] for m in json.loads(history.stdout)["messages"]] == ["hi", "echo: hi"]


# ---------------------------------------------------------------- rules 1-3, with ast


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in the file, at any depth (functions and
    ``TYPE_CHECKING`` blocks too: a type-only import still ties one layer to another).
    ``from a import b`` yields both ``a`` and ``a.b`` (b may be a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, package)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _resolve(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    parts = parts[: len(parts) - node.level + 1]
    return ".".join([*parts, node.module] if node.module else parts)


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(files: list[Path], forbidden: Callable[[str], bool]) -> list[str]:
    return [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for path in files
        for line, module in imports_of(path)
        if forbidden(module)
    ]


def sources(under: Path) -> list[Path]:
    """The Python files of a package directory, or the module itself (none if absent)."""
    if under.is_dir():
        return sorted(under.rglob("*.py"))
    return [under] if under.exists() else []


def test_the_ast_walk_sees_imports_inside_functions_and_relative_ones() -> None:
    # The rules below are only as good as this walk: check it on the kinds it must see.
    sample = PACKAGE / "cli.py"
    found = {module for _, module in imports_of(sample)}
    assert "typer" in found  # module level
    assert "atdak_cli.commands.complete" in found  # inside a command function
    node = ast.parse("from ..store import HistoryStore").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert _resolve(node, "atdak_cli.render") == "atdak_cli.store"


def entry_points() -> set[Path]:
    """``__main__`` (``python -m``) and the modules ``[project.scripts]`` names."""
    with (REPO / "pyproject.toml").open("rb") as file:
        scripts = tomllib.load(file).get("project", {}).get("scripts", {})
    modules = {target.partition(":")[0] for target in scripts.values()}
    return {PACKAGE / "__main__.py"} | {REPO / (m.replace(".", "/") + ".py") for m in modules}


def test_nothing_imports_cli() -> None:
    """Rule 1: the CLI only parses and wires; the entry points are its only callers."""
    exempt = entry_points() | {PACKAGE / "cli.py"}
    files = [p for p in sources(PACKAGE) if p not in exempt]
    files += sources(REPO / "atdak")
    assert violations(files, lambda m: within(m, "atdak_cli.cli")) == []


def test_client_imports_nothing_else_from_atdak_cli() -> None:
    """Rule 2: ``client/`` could be published alone."""

    def outside_client(module: str) -> bool:
        return within(module, "atdak_cli") and not within(module, "atdak_cli.client")

    assert violations(sources(PACKAGE / "client"), outside_client) == []


def test_render_imports_neither_client_nor_store() -> None:
    """Rule 3: renderers get text deltas and nothing else."""

    def forbidden(module: str) -> bool:
        return within(module, "atdak_cli.client") or within(module, "atdak_cli.history")

    assert violations(sources(PACKAGE / "render"), forbidden) == []


def test_store_never_imports_client() -> None:
    """Rule 3: the history knows nothing of HTTP."""
    files = sources(PACKAGE / "history")
    assert violations(files, lambda m: within(m, "atdak_cli.client")) == []


def runtime_imports_of(path: Path) -> Iterator[str]:
    """The modules the file may import when it runs: :func:`imports_of` without the
    ``if TYPE_CHECKING:`` blocks (a type-only import never runs, so it makes no cycle)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            node.body = []
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, package)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of atdak_cli it imports (a package counts only when imported
    by name: importing ``a.b`` is not taken as depending on ``a``'s ``__init__``)."""
    files = {module_name(p): p for p in sources(PACKAGE)}
    return {
        name: {m for m in runtime_imports_of(path) if m in files and m != name}
        for name, path in files.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    """Rule 6: every import, at any depth (lazy ones too), points one way."""
    graph = import_graph()
    assert "atdak_cli.history.store" in graph  # the walk found the package
    assert cycles(graph) == []


def test_nothing_outside_client_imports_its_private_modules() -> None:
    """Rule 5: the client exports what the app needs as public names."""
    files = [p for p in sources(PACKAGE) if not within(module_name(p), "atdak_cli.client")]
    files += sources(REPO / "atdak")

    def private(module: str) -> bool:
        part = module.split(".")[2:3]
        return (
            within(module, "atdak_cli.client")
            and part != []
            and part[0].startswith("_")
            and not part[0].startswith("__")
        )

    assert violations(files, private) == []
