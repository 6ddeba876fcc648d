"""Fixtures shared by every test: a clean environment and the loopback API server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_server import FakeAPIServer, serve_api
from tls_server import make_certificate, serve_https

# A unique fake key: the secrets canary searches every output and file for it.
CANARY_KEY = "sk-canary-7f3a9c1e5b2d4680aa11bb22cc33dd44"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def interruptible_children() -> None:
    """The processes under test get Ctrl-C as from a terminal. A suite started in the
    background of a script has SIGINT ignored, and an ignored signal is inherited through
    exec: the signal tests would then wait for an interrupt that never comes."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Config and data in tmp_path; no ATDAK_*, proxy or colour variables from the host."""
    for name in list(os.environ):
        if name.startswith("ATDAK_") or name.lower().endswith("_proxy") or name in (
            "NO_COLOR",
            "FORCE_COLOR",
            "EDITOR",
            "VISUAL",
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ATDAK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("ATDAK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NO_PROXY", "*")
    yield


@pytest.fixture
def api() -> Iterator[FakeAPIServer]:
    with serve_api() as server:
        yield server
        assert server.errors == []


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https_url(certificate: tuple[Path, Path]) -> Iterator[str]:
    """The base URL of a loopback https server using ``certificate``."""
    with serve_https(*certificate) as url:
        yield url


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ATDAK_API_KEY", CANARY_KEY)
    return CANARY_KEY


def run_atdak(
    *args: str,
    input: str | bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
) -> subprocess.CompletedProcess[bytes]:
    """``python -m atdak_cli ARGS`` as a real process: stdout is a pipe, never a terminal."""
    data = input.encode() if isinstance(input, str) else input
    return subprocess.run(
        [sys.executable, "-m", "atdak_cli", *args],
        input=data if data is not None else b"",
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


def readonly_mount_available() -> bool:
    """Whether a test may bind-mount a directory read-only in a private mount namespace
    (chmod does not stop root; EROFS stops everyone)."""
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--mount", "--map-root-user", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def read_only_command(directory: Path, *argv: str) -> list[str]:
    """``argv`` run with ``directory`` mounted read-only (see readonly_mount_available)."""
    script = 'mount --bind -o ro "$1" "$1" && shift && exec "$@"'
    namespace = ["unshare", "--mount", "--map-root-user"]
    return [*namespace, "sh", "-c", script, "sh", str(directory), *argv]
