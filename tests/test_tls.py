"""TLS: the certificate bundle loads on a thread while httpx is imported (atdak_cli.connect).

The proof that the context built there is the one used, and that it verifies: a real
``atdak complete`` against a loopback https server, trusted or not.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from atdak_cli.connect import needs_tls
from atdak_cli.connect import pending_context as PendingContext
from tests.utils.process import run_atdak
from tests.utils.tls_server import ANSWER


@pytest.fixture(autouse=True)
def no_host_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sandboxes often point these at the system bundle; each test says what it trusts.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def test_a_trusted_server_answers(
    https_url: str, certificate: tuple[Path, Path], key_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    proc = run_atdak("complete", "--base-url", https_url, "hi")
    assert (proc.returncode, proc.stdout.decode()) == (0, ANSWER + "\n"), proc.stderr


def test_a_directory_of_trusted_certificates_works_too(
    https_url: str, certificate: tuple[Path, Path], key_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = certificate[0].parent / "hashed"  # OpenSSL's layout: <subject hash>.0
    directory.mkdir(exist_ok=True)
    (directory / f"{_subject_hash(certificate[0])}.0").write_bytes(certificate[0].read_bytes())
    monkeypatch.setenv("SSL_CERT_DIR", str(directory))
    proc = run_atdak("complete", "--base-url", https_url, "hi")
    assert (proc.returncode, proc.stdout.decode()) == (0, ANSWER + "\n"), proc.stderr


def test_an_untrusted_certificate_is_refused(https_url: str, key_env: str) -> None:
    proc = run_atdak("complete", "--base-url", https_url, "hi")
    assert proc.returncode == 7
    assert proc.stdout == b""
    [line] = proc.stderr.decode().splitlines()
    assert "certificate" in line.lower()


def test_a_missing_certificate_file_is_one_line_and_exit_2(
    https_url: str, key_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nowhere.pem"))
    proc = run_atdak("complete", "--base-url", https_url, "hi")
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [
        "atdak: error: cannot load the TLS certificates ([Errno 2] No such file or directory)"
        " — check SSL_CERT_FILE and SSL_CERT_DIR"
    ]


def test_the_pending_context_raises_its_error_on_the_calling_thread(tmp_path: Path) -> None:
    pending = PendingContext({"SSL_CERT_FILE": str(tmp_path / "nowhere.pem")})
    with pytest.raises(FileNotFoundError):
        pending.result()


def test_the_pending_context_verifies() -> None:
    import ssl

    context = PendingContext({}).result()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 10  # certifi's bundle was loaded


@pytest.mark.parametrize(
    ("url", "environ", "expected"),
    [
        ("https://api.atdak.com/v1", {}, True),
        ("http://127.0.0.1:8080/v1", {}, False),
        ("http://127.0.0.1:8080/v1", {"ALL_PROXY": "https://proxy:443"}, True),
        ("http://127.0.0.1:8080/v1", {"https_proxy": ""}, False),
        ("http://127.0.0.1:8080/v1", {"NO_PROXY": "*", "no_proxy": "localhost"}, False),
    ],
)
def test_needs_tls(url: str, environ: dict[str, str], expected: bool) -> None:
    assert needs_tls(url, environ) is expected


def _subject_hash(cert: Path) -> str:
    out = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(cert)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()
