"""The key never leaks: the secrets canary, file modes, redirects, plain http, proxies."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from atdak_cli import secrets
from atdak_cli.cli import app
from atdak_cli.client import redact_key_shaped
from atdak_cli.launch import main as cli_main
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
from tests.utils.process import CANARY_KEY, read_only_command, readonly_mount_available, run_atdak

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


@pytest.mark.parametrize("command", ["complete", "chat", "models"])
def test_every_run_that_reads_a_key_file_open_to_others_warns_once(
    api: FakeAPIServer, tmp_path: Path, command: str
) -> None:
    """As ssh does for a private key: one line naming the file and the remedy (chat checks
    its key before the first prompt and again when it connects: still one line)."""
    assert login(CANARY_KEY).returncode == 0
    keys = tmp_path / "config" / "keys.json"
    keys.chmod(0o640)
    args = [command, "--base-url", api.base_url, *(["hi"] if command == "complete" else [])]
    result = run_atdak(*args, input="hi\n")
    assert result.returncode == 0, result.stderr
    warning = f"atdak: warning: {keys} is readable by others (mode 0640); run chmod 600 {keys}"
    assert [line for line in result.stderr.decode().splitlines() if "readable" in line] == [
        warning
    ]
    assert api.requests[-1].headers["authorization"] == f"Bearer {CANARY_KEY}"  # still sent


def test_no_warning_when_the_key_file_is_private_or_not_read(
    api: FakeAPIServer, tmp_path: Path
) -> None:
    assert login(CANARY_KEY).returncode == 0
    private = run_atdak("complete", "--base-url", api.base_url, "hi")
    (tmp_path / "config" / "keys.json").chmod(0o644)
    from_env = run_atdak("complete", "--base-url", api.base_url, "hi", env={"ATDAK_API_KEY": "k"})
    assert private.returncode == from_env.returncode == 0
    assert private.stderr == from_env.stderr == b""


@pytest.mark.skipif(not readonly_mount_available(), reason="needs unshare (mount namespace)")
def test_login_into_a_read_only_config_dir_names_the_file_it_could_not_write(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    config.mkdir(mode=0o700)
    argv = read_only_command(config, sys.executable, "-m", "atdak_cli", "login")
    result = subprocess.run(argv, input=KEY + b"\n", capture_output=True, timeout=30, check=False)
    keys = config / "keys.json"
    assert result.returncode == 2, result.stderr
    assert result.stderr.decode() == (
        f"atdak: error: cannot write {keys} (Read-only file system)"
        " — make its directory writable, or point ATDAK_CONFIG_DIR elsewhere\n"
    )
    assert KEY not in result.stdout + result.stderr
    assert list(config.iterdir()) == []


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


# ---------------------------------------------------------------- usage errors


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, (*path, name))


COMMANDS = dict(_walk(typer.main.get_command(app)))
# String options and arguments whose value atdak checks before doing anything (an unknown
# profile, a file that is not there, ...): the canary given as one is a usage error.
CHECKED = {"profile", "role", "render", "color", "fmt", "base_url", "file", "messages", "batch",
           "model_path", "shell", "name", "tools", "functions", "source", "url", "env",
           "header", "allow", "reasoning_effort"}  # fmt: skip
# Free text, or a name to create: any value is valid.
FREE = {"model", "system", "api_key", "output", "var", "prompt", "query", "command",
        "reasoning_to"}  # fmt: skip
FREE_IN = {("login",): {"profile"}, ("logout",): {"profile"}}


def _is_text(param: Any) -> bool:
    return type(param.type).__name__ == "StringParamType"  # typer vendors its own click


def _takes_value(param: Any) -> bool:
    return param.param_type_name == "option" and not param.is_flag and not param.count


def _usage_errors(path: tuple[str, ...], command: Any) -> Iterator[list[str]]:
    """Every kind of usage error of one command, each carrying the canary."""
    if getattr(command, "commands", None):
        yield [*path, CANARY_KEY]  # no such command
        return
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    variadic = any(p.nargs == -1 for p in arguments)
    yield [*path, f"--{CANARY_KEY}"]  # no such option
    if not variadic:
        yield [*path, *("1" for _ in arguments), CANARY_KEY]  # extra argument
    for index, argument in enumerate(arguments):
        if argument.nargs != -1 and _is_checked(path, argument):
            yield [*path, *("1" for _ in arguments[:index]), CANARY_KEY]  # bad value
    before = [CANARY_KEY] if variadic else []  # where a prompt goes: echoed by nothing
    for option in command.params:
        flag = option.opts[-1]
        if option.param_type_name != "option":
            continue
        if not _takes_value(option):
            yield [*path, f"{flag}={CANARY_KEY}"]  # a flag takes no value
            continue
        yield [*path, *before, flag]  # missing value
        if _is_checked(path, option):
            yield [*path, flag, CANARY_KEY, *(["x"] if variadic else [])]  # bad value
            yield [*path, f"{flag}={CANARY_KEY}", *(["x"] if variadic else [])]


def _is_checked(path: tuple[str, ...], param: Any) -> bool:
    free = FREE | FREE_IN.get(path, set())
    return not _is_text(param) or (param.name in CHECKED and param.name not in free)


USAGE_ERRORS = [argv for path, command in COMMANDS.items() for argv in _usage_errors(path, command)]


def test_every_text_parameter_is_classified() -> None:
    """A new option or argument taking text must say whether atdak checks its value (then
    the canary test below covers it) or any text is valid."""
    for path, command in COMMANDS.items():
        for param in command.params:
            if _is_text(param) and (param.param_type_name == "argument" or _takes_value(param)):
                assert param.name in CHECKED | FREE, (path, param.name)


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=lambda a: " ".join(a).replace(CANARY_KEY, "KEY"))
def test_usage_errors_never_echo_a_key(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """The canary typed where a command, an argument or an option's value was expected: one
    line, exit 2, and the key nowhere (click quotes what it refuses). In-process, because
    there are hundreds of cases; the same ``main`` as ``python -m atdak_cli`` runs."""
    monkeypatch.setenv("ATDAK_BASE_URL", "http://127.0.0.1:9/v1")  # nothing may be sent
    monkeypatch.setenv("ATDAK_API_KEY", "test")  # doctor's first failure is then the usage one
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(SystemExit) as exit:
        cli_main(argv)
    out, err = capfd.readouterr()
    assert exit.value.code == 2, err
    assert CANARY_KEY[3:15] not in out + err
    if argv[0] == "doctor" and out:  # its report on stdout, the failed check marked
        assert "✗" in out and MASKED in out
    else:
        assert err.startswith("atdak: error: ") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    "argv",
    [
        ["login", CANARY_KEY],
        ["complete", "--temperature", CANARY_KEY, "hi"],
        ["chat", f"--{CANARY_KEY}"],
        ["history", "show", CANARY_KEY],
    ],
    ids=["login KEY", "complete --temperature KEY", "chat --KEY", "history show KEY"],
)
def test_a_key_typed_as_an_argument_is_not_echoed(argv: list[str]) -> None:
    result = run_atdak(*argv)
    assert result.returncode == 2
    assert KEY[3:15] not in result.stdout + result.stderr
    assert MASKED.encode() in result.stderr  # still says which word it refused


@pytest.mark.parametrize(
    "key",
    [CANARY_KEY, "sk-proj-abcdefgh", "gsk_8Yb3kQ2Lw9Xz7Rt1Mn5Pq4V", "AIzaSyD4x7Gq2w9E1r8T3y6U5i"],
)
def test_key_shaped_words_are_masked(key: str) -> None:
    masked = redact_key_shaped(f"Invalid value: '{key}'.")
    assert key not in masked
    assert masked.endswith(f"…{key[-4:]}'.")


@pytest.mark.parametrize(
    "word",
    [
        "atdak-gpt-4-mini",
        "llama-3.1-8b-instruct-q4_k_m",
        "Qwen2.5-Coder-32B-Instruct-GGUF",
        "/home/me/.config/atdak/config.toml",
        "--frequency-penalty",
        "550e8400-e29b-41d4-a716-446655440000",
        "sk-learn",
    ],
)
def test_names_that_are_not_keys_are_left_alone(word: str) -> None:
    assert redact_key_shaped(f"no model '{word}'") == f"no model '{word}'"
