"""``atdak doctor``: one line per check, a remedy for each failure, the first failure's status."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import pytest

from atdak_cli import paths
from atdak_cli.commands.doctor import CheckResult, check_key, check_tls, format_result, run_doctor
from atdak_cli.config import Settings
from atdak_cli.history.store import HistoryStore
from atdak_cli.secrets import store_key
from atdak_cli.terminal import Terminal
from tests.utils.api_server import FakeAPIServer, error, json_reply, openai_error, serve_api, stall
from tests.utils.process import CANARY_KEY, run_atdak

NAMES = ["config", "key", "key file", "base url", "server", "tls", "models", "answer", "history"]


def doctor(base_url: str, **flags: Any) -> tuple[int, list[str]]:
    """``run_doctor`` in-process, as the CLI calls it; the report's lines."""
    given = {"profile": None, "base_url": base_url, "api_key": None, "timeout": None,
             "allow_insecure_http": False, **flags}  # fmt: skip
    terminal = Terminal(stdout=io.StringIO(), stderr=io.StringIO())
    status = run_doctor(given, terminal)
    return status, terminal.stdout.getvalue().splitlines()  # type: ignore[attr-defined]


def line(lines: list[str], name: str) -> str:
    [found] = [text for text in lines if text[2:].startswith(f"{name:<9} ")]
    return found


def test_doctor_passes_every_check_against_the_loopback_server(
    api: FakeAPIServer, key_env: str
) -> None:
    result = run_atdak("doctor", "--base-url", api.base_url)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.decode().splitlines()
    assert [text[2:11].rstrip() for text in lines] == NAMES
    assert all(text.startswith("✓ ") for text in lines)
    assert line(lines, "config").endswith("config.toml (none: defaults in use)")
    assert line(lines, "key") == "✓ key       sk-…dd44 from $ATDAK_API_KEY"
    assert line(lines, "models").startswith("✓ models    GET /models lists 4 models")
    assert "plain http to a loopback address" in line(lines, "tls")
    assert CANARY_KEY.encode() not in result.stdout + result.stderr


def test_one_token_request_reports_its_latency(api: FakeAPIServer, key_env: str) -> None:
    api.latency = 0.05
    status, lines = doctor(api.base_url)
    assert status == 0
    match = re.search(r"a 1-token answer from atdak-gpt-4 in (\d+) ms", line(lines, "answer"))
    assert match is not None and int(match.group(1)) >= 50
    chat = [r for r in api.requests if r.method == "POST"]
    assert len(chat) == 1
    assert chat[0].json()["max_tokens"] == 1 and "stream" not in chat[0].json()


def test_missing_key_exits_3_with_login_remedy() -> None:
    settings = Settings(base_url="https://api.atdak.com/v1")
    key, result = check_key({"api_key": None}, settings, {})
    assert key == ""
    assert (result.ok, result.status) == (False, 3)
    assert format_result(result, color=False) == (
        "✗ key       no API key is configured — run `atdak login` or set ATDAK_API_KEY"
    )


def test_key_file_open_to_others_fails_with_chmod_remedy(api: FakeAPIServer) -> None:
    keys = paths.keys_file()
    store_key(keys, None, CANARY_KEY)
    os.chmod(keys, 0o644)
    status, lines = doctor(api.base_url)
    assert status == 3
    assert line(lines, "key file") == (
        f"✗ key file  {keys} is open to others (mode 0644) — run chmod 600 {keys}"
    )
    assert line(lines, "key") == f"✓ key       sk-…dd44 from {keys}"


def test_invalid_config_exits_2_naming_the_file_and_other_checks_still_run(
    api: FakeAPIServer, key_env: str
) -> None:
    config = paths.config_file()
    config.parent.mkdir(parents=True)
    config.write_text("model = \n", encoding="utf-8")
    status, lines = doctor(api.base_url)
    assert status == 2
    assert line(lines, "config").startswith(f"✗ config    {config} is not valid TOML")
    assert "move it away to use the defaults" in line(lines, "config")
    assert line(lines, "answer").startswith("✓ answer")


def test_malformed_base_url_exits_2_and_skips_network_checks(key_env: str) -> None:
    status, lines = doctor("ftp://example.com")
    assert status == 2
    assert line(lines, "base url").startswith("✗ base url  the base URL 'ftp://example.com'")
    assert line(lines, "server") == "- server    skipped: no usable base URL"


def test_unreachable_server_exits_7_and_skips_what_needs_it(key_env: str) -> None:
    with serve_api() as gone:
        base_url = gone.base_url
    status, lines = doctor(base_url)
    assert status == 7
    assert line(lines, "server").startswith("✗ server    cannot connect to 127.0.0.1")
    assert "check the network and the base URL" in line(lines, "server")
    assert [line(lines, n)[0] for n in ("tls", "models", "answer", "history")] == list("---✓")


def test_server_too_slow_exits_8(api: FakeAPIServer, key_env: str) -> None:
    api.set_default(stall(5), path="/v1/models")
    status, lines = doctor(api.base_url, timeout=0.3)
    assert status == 8
    assert line(lines, "server").startswith("✗ server")
    assert "raise --timeout" in line(lines, "server")


def test_key_refused_by_models_exits_3(api: FakeAPIServer, key_env: str) -> None:
    api.set_default(error(401, openai_error("invalid api key")), path="/v1/models")
    status, lines = doctor(api.base_url)
    assert status == 3
    assert line(lines, "server").startswith("✓ server    127.0.0.1 answers (HTTP 401)")
    assert line(lines, "models") == (
        "✗ models    HTTP 401: invalid api key — check the key: `atdak login`, or set ATDAK_API_KEY"
    )


def test_models_answer_that_is_not_a_model_list_fails_with_9(
    api: FakeAPIServer, key_env: str
) -> None:
    api.set_default(json_reply({"object": "list", "models": []}), path="/v1/models")
    status, lines = doctor(api.base_url)
    assert status == 9
    assert "did not answer with a JSON model list" in line(lines, "server")


def test_models_not_found_suggests_the_v1_suffix(api: FakeAPIServer, key_env: str) -> None:
    status, lines = doctor(api.url)  # without /v1
    assert status == 4
    assert "it usually ends in /v1" in line(lines, "models")


def test_one_token_request_failure_sets_the_status(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(error(429, openai_error("slow down"), headers={"Retry-After": "0"}))
    status, lines = doctor(api.base_url)
    assert status == 5
    assert line(lines, "answer").startswith("✗ answer    HTTP 429: slow down — wait a moment")
    assert len([r for r in api.requests if r.method == "POST"]) == 1  # no retries


def test_history_reports_its_conversation_count(api: FakeAPIServer, key_env: str) -> None:
    path = paths.history_file()
    with HistoryStore.open(path) as store:
        store.start_conversation(model="m")
        store.start_conversation(model="m")
    status, lines = doctor(api.base_url)
    assert status == 0
    assert line(lines, "history") == f"✓ history   {path}: 2 conversations"


def test_unreadable_history_exits_10(api: FakeAPIServer, key_env: str) -> None:
    path = paths.history_file()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database at all, not even close")
    status, lines = doctor(api.base_url)
    assert status == 10
    assert line(lines, "history").startswith("✗ history")
    assert f"move {path} aside" in line(lines, "history")


def test_plain_http_to_a_remote_host_fails_the_tls_check() -> None:
    result = check_tls(None, plain=True, loopback=False, allowed=False)
    assert (result.ok, result.status, result.remedy) == (False, 2, "use an https base URL")
    assert check_tls(None, plain=True, loopback=False, allowed=True).ok


def test_marks_are_coloured_on_a_colour_terminal() -> None:
    text = format_result(CheckResult("key", True, "fine"), color=True)
    assert text == "\x1b[32m✓\x1b[0m key       fine"


# --- TLS against a real https loopback server -------------------------------------------


def test_https_server_reports_the_tls_version(
    https_url: str, certificate: tuple[Path, Path], key_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    status, lines = doctor(https_url)
    assert status == 0, lines
    assert re.fullmatch(r"✓ tls       TLSv1\.[23]", line(lines, "tls"))


def test_untrusted_certificate_exits_7_with_a_tls_remedy(https_url: str, key_env: str) -> None:
    status, lines = doctor(https_url)
    assert status == 7
    assert "certificate" in line(lines, "server").lower()
    assert "SSL_CERT_FILE" in line(lines, "server")


def test_unknown_config_key_fails_naming_it_and_the_closest_known_key(
    api: FakeAPIServer, key_env: str
) -> None:
    config = paths.config_file()
    config.parent.mkdir(parents=True)
    config.write_text('tempreature = 0.5\n[profiles.work]\nmodle = "x"\n', encoding="utf-8")
    status, lines = doctor(api.base_url)
    assert status == 2
    assert line(lines, "config") == (
        f"✗ config    unknown key 'tempreature' in {config} is ignored (and 1 more)"
        " — did you mean 'temperature'?"
    )
    assert line(lines, "answer").startswith("✓ answer")  # the other checks still run
