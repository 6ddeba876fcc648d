"""Shared by the tool tests: MCP server configs for the real servers, and the fixture's
streamable-HTTP server in a process of its own."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from atdak_cli.tools.config import ServerConfig

VENV_BIN = Path(sys.executable).parent
FIXTURE = Path(__file__).resolve().parent / "mcp_fixture_server.py"


def fixture_stdio(name: str = "fx", **changes: object) -> ServerConfig:
    return ServerConfig(name=name, command=sys.executable, args=(str(FIXTURE),), **changes)  # type: ignore[arg-type]


def time_server(name: str = "time") -> ServerConfig:
    command = str(VENV_BIN / "mcp-server-time")
    return ServerConfig(name=name, command=command, args=("--local-timezone", "UTC"))


def git_server(repo: Path, name: str = "git") -> ServerConfig:
    command = str(VENV_BIN / "mcp-server-git")
    return ServerConfig(name=name, command=command, args=("--repository", str(repo)))


def make_repo(path: Path) -> Path:
    path.mkdir()
    env = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin"}
    env |= {"GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}
    run = lambda *argv: subprocess.run(argv, cwd=path, env=env, check=True, capture_output=True)  # noqa: E731
    run("git", "init", "-q", "-b", "main")
    (path / "hello.txt").write_text("hello\n")
    run("git", "add", "hello.txt")
    run("git", "commit", "-q", "-m", "First commit: hello")
    (path / "hello.txt").write_text("hello, world\n")
    return path


@contextlib.contextmanager
def fixture_http() -> Iterator[str]:
    """The fixture server over streamable HTTP on 127.0.0.1; yields its URL."""
    process = subprocess.Popen(
        [sys.executable, str(FIXTURE), "--http"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("PORT "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}/mcp"
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
