"""The key never leaks: the secrets canary, file modes, redirects, plain http, proxies."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from atdak_cli import secrets
from tests.utils.api_server import (
    FakeAPIServer,
    error,
    json_reply,
    openai_error,
    redirect,
    serve_api,
    stream,
    stream_error_event,
)
from tests.utils.fault_replies import sse
from tests.utils.process import CANARY_KEY, run_atdak

KEY = CANARY_KEY.encode()
MASKED = "sk-…dd44"


def login(key: str, *args: str, umask: int | None = None) -> subprocess.CompletedProcess[bytes]:
    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [sys.executable, "-m", "atdak_cli", "login", *args],
        input=(key + "\n").encode(),
        capture_output=True,
        timeout=30,
        preexec_fn=set_umask,
        check=False,
    )


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---------------------------------------------------------------- the key file


def test_login_with_umask_000_creates_the_key_file_0600(tmp_path: Path) -> None:
    result = login(CANARY_KEY, umask=0o000)
    assert result.returncode == 0, result.stderr
    keys = tmp_path / "config" / "keys.json"
    assert mode(keys) == 0o600
    assert mode(keys.parent) == 0o700
    assert json.loads(keys.read_text()) == {"default": CANARY_KEY}
    assert KEY not in result.stdout + result.stderr
    assert [p.name for p in keys.parent.iterdir()] == ["keys.json"], "no temp file left"


def test_key_file_is_0600_before_it_holds_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No wider window: the file is private from creation, not chmod-ed after writing."""
    seen: list[int] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append(stat.S_IMODE(os.stat(src).st_mode))
        real_replace(src, dst)

    old = os.umask(0)
    try:
        monkeypatch.setattr(os, "replace", spy)
        secrets.store_key(tmp_path / "cfg" / "keys.json", None, CANARY_KEY)
    finally:
        os.umask(old)
    assert seen == [0o600]
    assert mode(tmp_path / "cfg" / "keys.json") == 0o600


def test_login_replaces_a_world_readable_key_file_with_a_private_one(tmp_path: Path) -> None:
    keys = tmp_path / "config" / "keys.json"
    keys.parent.mkdir()
    keys.write_text("{}")
    keys.chmod(0o644)
    assert login(CANARY_KEY, umask=0).returncode == 0
    assert mode(keys) == 0o600


def test_login_refuses_a_key_with_control_characters(tmp_path: Path) -> None:
    result = login(CANARY_KEY[:10] + "\x1b" + CANARY_KEY[10:])
    assert result.returncode == 3
    assert KEY[:12] not in result.stderr
    assert not (tmp_path / "config" / "keys.json").exists()


def test_config_show_warns_when_the_key_file_is_readable_by_others(tmp_path: Path) -> None:
    assert login(CANARY_KEY).returncode == 0
    keys = tmp_path / "config" / "keys.json"
    keys.chmod(0o644)
    result = run_atdak("config", "show")
    assert result.returncode == 0
    assert b"readable by others" in result.stderr and b"chmod 600" in result.stderr
    assert MASKED.encode() in result.stdout
    assert KEY not in result.stdout + result.stderr


def test_config_show_is_quiet_about_a_private_key_file(tmp_path: Path) -> None:
    assert login(CANARY_KEY).returncode == 0
    result = run_atdak("config", "show")
    assert b"readable by others" not in result.stderr


# ---------------------------------------------------------------- the canary


def test_secrets_canary_across_commands_outputs_and_files(
    api: FakeAPIServer, tmp_path: Path
) -> None:
    """Many commands with a unique key: it appears in no output and no file but keys.json,
    and every file atdak wrote is 0600."""
    assert login(CANARY_KEY, umask=0o022).returncode == 0
    url = ("--base-url", api.base_url)
    echo = f"Incorrect API key provided: {CANARY_KEY}"
    runs = [
        ("complete", *url, "hi"),
        ("complete", *url, "--no-stream", "--json", "--usage", "hi"),
        ("complete", *url, "--debug", "hi"),
        ("complete", *url, "--debug", "--no-stream", "hi"),
        ("models", *url),
        ("models", *url, "--json", "--debug"),
        ("config", "show"),
        ("history", "list"),
        ("history", "show"),
        ("history", "export"),
        ("history", "search", "echo"),
    ]
    faults = [
        error(401, openai_error(echo)),
        error(500, {"detail": {"header": f"Bearer {CANARY_KEY}"}}, headers={"Retry-After": "0"}),
        stream_error_event(["partial"], {"message": echo}),
        sse(f'data: {{"echo": "{CANARY_KEY}"', "data: [DONE]"),
    ]  # fmt: skip
    outputs = [run_atdak(*args) for args in runs]
    for fault in faults:
        for debug in ((), ("--debug",)):
            api.set_default(fault)
            outputs.append(run_atdak("complete", *url, *debug, "hi"))
    assert any(r.returncode == 3 for r in outputs)  # the faults did happen
    for result in outputs:
        assert KEY not in result.stdout, result.args
        assert KEY not in result.stderr, result.args
    assert any(f"Bearer {MASKED}".encode() in r.stderr for r in outputs)
    written = files_under(tmp_path / "config", tmp_path / "data")
    assert any(p.name == "history.db" for p in written)
    for path in written:
        if path.name != "keys.json":
            assert KEY not in path.read_bytes(), path
        assert mode(path) == 0o600, f"{path} is {oct(mode(path))}"
    assert mode(tmp_path / "data") == 0o700


def test_models_cache_file_is_0600(api: FakeAPIServer, key_env: str, tmp_path: Path) -> None:
    assert run_atdak("models", "--base-url", api.base_url).returncode == 0
    assert mode(tmp_path / "data" / "models-cache.json") == 0o600


def test_debug_output_masks_the_authorization_header(api: FakeAPIServer, key_env: str) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "--debug", "hi")
    assert result.returncode == 0
    assert f"authorization: bearer {MASKED}".encode() in result.stderr.lower()
    assert KEY not in result.stderr
    assert api.requests[0].headers["authorization"] == f"Bearer {CANARY_KEY}"


def test_server_echoing_the_key_in_an_error_body_is_redacted(
    api: FakeAPIServer, key_env: str
) -> None:
    api.set_default(error(401, openai_error(f"Incorrect API key provided: {CANARY_KEY}")))
    result = run_atdak("complete", "--base-url", api.base_url, "hi")
    assert result.returncode == 3
    assert MASKED.encode() in result.stderr
    assert KEY not in result.stderr


def test_server_echoing_the_key_in_a_header_is_redacted_in_debug_output(
    api: FakeAPIServer, key_env: str
) -> None:
    api.set_default(stream(["ok"], headers={"x-echo-authorization": f"Bearer {CANARY_KEY}"}))
    result = run_atdak("complete", "--base-url", api.base_url, "--debug", "hi")
    assert KEY not in result.stderr


def test_models_list_echoing_the_key_is_not_a_leak_of_ours(
    api: FakeAPIServer, key_env: str
) -> None:
    api.set_default(json_reply({"detail": CANARY_KEY}, 403), path="/v1/models")
    result = run_atdak("models", "--base-url", api.base_url)
    assert result.returncode == 3
    assert KEY not in result.stdout + result.stderr


# ---------------------------------------------------------------- where the key may go


def test_redirect_to_another_origin_sends_it_nothing(api: FakeAPIServer, key_env: str) -> None:
    with serve_api() as other:
        api.set_default(redirect(other.base_url + "/chat/completions", 308))
        result = run_atdak("complete", "--base-url", api.base_url, "hi")
        assert other.requests == []
    assert result.returncode == 7
    assert b"redirects are not followed" in result.stderr


def test_plain_http_to_a_remote_host_is_refused(api: FakeAPIServer, key_env: str) -> None:
    env = {"NO_PROXY": "", "HTTP_PROXY": api.url}  # anything sent would reach `api`
    result = run_atdak("complete", "--base-url", "http://api.example.test/v1", "hi", env=env)
    assert result.returncode == 2
    assert b"refusing to send the API key over plain http" in result.stderr
    assert b"--allow-insecure-http" in result.stderr
    assert api.requests == []


def test_allow_insecure_http_sends_it(api: FakeAPIServer, key_env: str) -> None:
    env = {"NO_PROXY": "", "HTTP_PROXY": api.url}  # `api` plays the remote host's proxy
    result = run_atdak(
        "complete", "--base-url", "http://api.example.test/v1", "--allow-insecure-http", "hi",
        env=env,
    )  # fmt: skip
    assert len(api.requests) >= 1
    assert api.requests[0].target == "http://api.example.test/v1/chat/completions"
    assert KEY not in result.stdout + result.stderr


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_plain_http_to_loopback_is_allowed(key_env: str, host: str) -> None:
    result = run_atdak("complete", "--base-url", f"http://{host}:9/v1", "--timeout", "0.3", "hi")
    assert result.returncode in (7, 8), result.stderr  # sent (nothing listens), not refused


def test_proxy_credentials_never_appear(api: FakeAPIServer, key_env: str) -> None:
    proxy = f"http://user:proxysecret@127.0.0.1:{api.port}"
    env = {"NO_PROXY": "", "HTTPS_PROXY": proxy}
    for debug in ((), ("--debug",)):
        result = run_atdak(
            "complete", "--base-url", "https://api.example.test/v1", "--timeout", "1", *debug,
            "hi", env=env,
        )  # fmt: skip
        assert result.returncode == 7, result.stderr
        assert b"proxysecret" not in result.stdout + result.stderr
        assert KEY not in result.stdout + result.stderr
    assert api.requests[0].method == "CONNECT"  # the proxy was used, the key went nowhere else


def test_malformed_proxy_variable_is_a_usage_error(key_env: str) -> None:
    env = {"NO_PROXY": "", "HTTPS_PROXY": "ftp://user:proxysecret@127.0.0.1:9"}
    result = run_atdak("complete", "--base-url", "https://api.example.test/v1", "hi", env=env)
    assert b"proxysecret" not in result.stderr
    assert result.returncode == 2, result.stderr
