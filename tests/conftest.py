"""Fixtures shared by every test: a clean environment and the loopback API server."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.api_server import FakeAPIServer, serve_api
from tests.utils.process import CANARY_KEY
from tests.utils.tls_server import make_certificate, serve_https


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
