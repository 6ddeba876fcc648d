"""Bad local input is refused before anything is sent: exit 2 (3 for the key), one line."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from atdak_cli import launch as cli
from atdak_cli.errors import ExitStatus, UsageError
from atdak_cli.prompt_input import PromptParts, build_messages, decode_text, read_text_file
from tests.utils.api_server import FakeAPIServer
from tests.utils.process import CANARY_KEY


@dataclass
class Ran:
    returncode: int
    stdout: bytes
    stderr: bytes


@pytest.fixture
def run_atdak(
    monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> Callable[..., Ran]:
    """``atdak ARGS`` in this process through ``cli.main`` (the exit-code path of the real
    program, without the ~0.3 s start of a new interpreter); stdin is a pipe."""

    def run(*args: str, input: bytes = b"", env: dict[str, str] | None = None) -> Ran:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(input), encoding="utf-8"))
        previous = signal.getsignal(signal.SIGTERM)  # main() installs its own
        try:
            with pytest.raises(SystemExit) as info:
                cli.main(list(args))
        finally:
            signal.signal(signal.SIGTERM, previous)
        out, err = capsysbinary.readouterr()
        return Ran(int(info.value.code or 0), out, err)

    return run


def assert_refused(result: Ran, api: FakeAPIServer, status: int, says: str) -> str:
    rc, stdout, stderr = result.returncode, result.stdout, result.stderr
    text = stderr.decode()
    assert rc == status, text
    assert stdout == b""
    assert text.count("\n") == 1 and text.startswith("atdak: error: "), text
    assert says in text, text
    assert "Traceback" not in text and "a bug" not in text
    assert api.requests == [], "nothing may be sent"
    return text


def write_config(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_invalid_toml_names_file_line_and_column(
    run_atdak: Callable[..., Ran], api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    path = write_config(tmp_path, 'model = "atdak-gpt-4"\ntemperature = \n')
    result = run_atdak("complete", "--base-url", api.base_url, "hi")
    text = assert_refused(result, api, 2, str(path))
    assert "line 2" in text and "column" in text


def test_config_that_is_not_utf8(
    run_atdak: Callable[..., Ran], api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    write_config(tmp_path, b'model = "\xff\xfe"\n')
    assert_refused(run_atdak("complete", "--base-url", api.base_url, "hi"), api, 2, "not UTF-8")


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ('temperature = "hot"', "temperature in"),
        ("max_tokens = 1.5", "max_tokens in"),
        ("stream = 1", "stream in"),
        ("timeout = true", "timeout in"),
        ("model = 3", "model in"),
        ("temperature = 5", "temperature must be between 0 and 2"),
        ('color = "sometimes"', "color must be one of"),
        ("[profiles]\nwork = 1", "must be a table"),
    ],
)
def test_config_with_wrong_types_or_values(
    run_atdak: Callable[..., Ran],
    api: FakeAPIServer,
    key_env: str,
    tmp_path: Path,
    toml: str,
    says: str,
) -> None:
    write_config(tmp_path, toml + "\n")
    args = ("--profile", "work") if "profiles" in toml else ()
    result = run_atdak("complete", "--base-url", api.base_url, *args, "hi")
    assert_refused(result, api, 2, says)


def test_config_directory_in_place_of_the_file(
    run_atdak: Callable[..., Ran], api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    (tmp_path / "config" / "config.toml").mkdir(parents=True)
    result = run_atdak("complete", "--base-url", api.base_url, "hi")
    assert_refused(result, api, 2, "cannot read")


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda d: d / "missing.txt", "no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: Path(sys.executable).resolve(), "looks binary"),
        (lambda d: (d / "latin1.txt", (d / "latin1.txt").write_bytes(b"caf\xe9"))[0], "not UTF-8"),
        (lambda d: (d / "f", (d / "f").write_text("x"))[0] / "under-a-file", "cannot read"),
    ],
    ids=["missing", "directory", "binary", "not-utf8", "not-a-directory"],
)
def test_bad_file_option(
    run_atdak: Callable[..., Ran], api: FakeAPIServer, key_env: str, tmp_path: Path, make, says: str
) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    result = run_atdak("complete", "--base-url", api.base_url, "-f", str(path), "hi")
    assert_refused(result, api, 2, says)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(
    run_atdak: Callable[..., Ran], api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("x")
    path.chmod(0)
    result = run_atdak("complete", "--base-url", api.base_url, "-f", str(path), "hi")
    assert_refused(result, api, 2, "Permission denied")


def test_invalid_utf8_on_stdin(
    run_atdak: Callable[..., Ran], api: FakeAPIServer, key_env: str
) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "hi", input=b"ok \xff\xfe bad")
    text = assert_refused(result, api, 2, "standard input is not UTF-8")
    assert "offset 3" in text


def test_binary_stdin(run_atdak: Callable[..., Ran], api: FakeAPIServer, key_env: str) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "hi", input=b"PK\x03\x04\x00\x00")
    assert_refused(result, api, 2, "looks binary")


@pytest.mark.parametrize("stdin", [b"", b"  \n\t\n"], ids=["empty", "blank"])
def test_empty_input(
    run_atdak: Callable[..., Ran], api: FakeAPIServer, key_env: str, stdin: bytes
) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, input=stdin)
    assert_refused(result, api, 2, "nothing to send")


def test_stdin_larger_than_the_models_context(
    run_atdak: Callable[..., Ran], api: FakeAPIServer, key_env: str
) -> None:
    result = run_atdak(
        "complete", "--base-url", api.base_url, "-m", "atdak-gpt-4-mini", "sum up",
        input=b"word " * 300_000,
    )  # fmt: skip
    text = assert_refused(result, api, 2, "too long for atdak-gpt-4-mini")
    assert "context" in text


# Runs ``atdak ARGV...`` with SIZE bytes of text written into its stdin through a real pipe
# (SIZE 0: stdin is /dev/null), then prints the exit code, stderr and the child's peak RSS.
PEAK_RSS_WRAPPER = """
import json, resource, subprocess, sys
size, argv = int(sys.argv[1]), sys.argv[2:]
stdin = subprocess.PIPE if size else subprocess.DEVNULL
child = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         bufsize=0)
chunk, sent = b"word " * 13_107, 0
try:
    while sent < size:
        sent += child.stdin.write(chunk)
except BrokenPipeError:  # refused without reading it all: what we hope for
    pass
out, err = child.communicate()  # closes stdin: end of input
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": child.returncode, "out": out.decode(), "err": err.decode(),
                  "peak": peak_kib * 1024}))
"""
MB = 1_000_000


def run_measured(size: int, *args: str) -> dict[str, Any]:
    """A fresh wrapper process, so that its children's peak RSS is atdak's alone."""
    argv = [sys.executable, "-m", "atdak_cli", *args]
    wrapper = [sys.executable, "-c", PEAK_RSS_WRAPPER, str(size), *argv]
    done = subprocess.run(wrapper, capture_output=True, timeout=120, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def assert_too_long(run: dict[str, Any]) -> None:
    assert run["rc"] == 2, run["err"]
    assert run["out"] == ""
    assert run["err"].count("\n") == 1 and run["err"].startswith("atdak: error: "), run["err"]
    assert "too long for atdak-gpt-4-mini" in run["err"]


def test_huge_stdin_is_refused_without_reading_it_whole(api: FakeAPIServer, key_env: str) -> None:
    args = ("complete", "--base-url", api.base_url, "-m", "atdak-gpt-4-mini", "sum up")
    just_over = run_measured(1 * MB, *args)  # the model's context holds about 640 KB
    huge = run_measured(60 * MB, *args)
    assert_too_long(just_over)
    assert_too_long(huge)
    # Reading it all cost ~2.3x the input (~115 MB for 50 MB); bounded reading costs the
    # same for 60 MB as for 1 MB. Generous: 10 MB of slack for allocator noise.
    assert huge["peak"] < just_over["peak"] + 10 * MB, (huge["peak"], just_over["peak"])
    assert api.requests == []


def test_huge_file_is_refused_without_reading_it_whole(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    with big.open("wb") as handle:
        for _ in range(60):
            handle.write(b"word " * 200_000)  # 1 MB
    small.write_bytes(b"word " * 200_000)
    args = ("complete", "--base-url", api.base_url, "-m", "atdak-gpt-4-mini", "-f")
    just_over, huge = run_measured(0, *args, str(small)), run_measured(0, *args, str(big))
    assert_too_long(just_over)
    assert_too_long(huge)
    assert huge["peak"] < just_over["peak"] + 10 * MB, (huge["peak"], just_over["peak"])
    assert str(big) in huge["err"]
    assert api.requests == []


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://[::1/v1", "malformed"),
        ("http://127.0.0.1:99999/v1", "malformed"),
        ("ftp://example.com/v1", "not an http(s) URL"),
        ("api.atdak.com/v1", "not an http(s) URL"),
        ("http:///v1", "not an http(s) URL"),
    ],
)
def test_malformed_base_url(
    run_atdak: Callable[..., Ran], api: FakeAPIServer, key_env: str, url: str, says: str
) -> None:
    assert_refused(run_atdak("complete", "--base-url", url, "hi"), api, 2, says)


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (CANARY_KEY + " ", "whitespace"),
        (CANARY_KEY + "\n", "whitespace"),
        (CANARY_KEY[:10] + "\x07" + CANARY_KEY[10:], "control characters"),
        (CANARY_KEY[:10] + " " + CANARY_KEY[10:], "spaces"),
        ("", "empty"),
    ],
    ids=["trailing-space", "trailing-newline", "bell", "inner-space", "empty"],
)
def test_unusable_key_exits_3_before_any_request(
    run_atdak: Callable[..., Ran], api: FakeAPIServer, key: str, says: str
) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "hi", env={"ATDAK_API_KEY": key})
    text = assert_refused(result, api, 3, says)
    assert CANARY_KEY[:12] not in text


def test_unusable_key_in_keys_file_exits_3(
    run_atdak: Callable[..., Ran], api: FakeAPIServer, tmp_path: Path
) -> None:
    keys = tmp_path / "config" / "keys.json"
    keys.parent.mkdir()
    keys.write_text(json.dumps({"default": CANARY_KEY + "\t"}))
    keys.chmod(0o600)
    result = run_atdak("complete", "--base-url", "https://api.example.test/v1", "hi")
    assert_refused(result, api, 3, "keys.json")


def test_corrupt_keys_file_is_a_usage_error(
    run_atdak: Callable[..., Ran], api: FakeAPIServer, tmp_path: Path
) -> None:
    keys = tmp_path / "config" / "keys.json"
    keys.parent.mkdir()
    keys.write_text("not json")
    result = run_atdak("complete", "--base-url", "https://api.example.test/v1", "hi")
    assert_refused(result, api, 2, "not valid JSON")


def test_out_of_range_flag_is_refused_before_reading_stdin(
    run_atdak: Callable[..., Ran], api: FakeAPIServer, key_env: str
) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "-t", "9", input=b"\xff")
    assert_refused(result, api, 2, "temperature")


# ---------------------------------------------------------------- the functions behind it


def test_decode_text_strips_a_bom_and_refuses_nul() -> None:
    assert decode_text("\ufeffhé".encode(), "x") == "hé"
    with pytest.raises(UsageError, match="looks binary"):
        decode_text(b"a\x00b", "x")


def test_read_text_file_errors_are_usage_errors(tmp_path: Path) -> None:
    for path in (tmp_path / "missing", tmp_path):
        with pytest.raises(UsageError) as info:
            read_text_file(path)
        assert info.value.status == ExitStatus.USAGE


def test_build_messages_refuses_an_empty_prompt() -> None:
    with pytest.raises(UsageError, match="nothing to send"):
        build_messages(PromptParts(words=["  "]), stdin=None)
