"""``atdak doctor``: check the setup, one line per check, each failure with its remedy.

    ✓ config    /home/me/.config/atdak/config.toml
    ✗ key       no API key is configured — run `atdak login` or set ATDAK_API_KEY
    ✓ key file  none stored (/home/me/.config/atdak/keys.json)
    ✓ base url  https://api.atdak.com/v1
    ✓ server    api.atdak.com answers (HTTP/1.1, 41 ms)
    ✓ tls       TLSv1.3
    ✓ models    GET /models lists 4 models (38 ms)
    ✓ answer    a 1-token answer from atdak-gpt-4 in 212 ms
    ✓ history   /home/me/.local/share/atdak/history.db: 12 conversations

A check that cannot run because an earlier one failed is shown as skipped (``-``). The network
checks send nothing but ``GET /models`` and one ``max_tokens=1`` request, without retries and
with a short deadline (``--timeout``, else 5 s), so that a verdict comes quickly.

Exit status: 0 when every check passes; otherwise the documented status (design §3) of the
first failing check's kind: 2 config file (unreadable, or a key in it unknown), base URL or
plain http to a remote host; 3 key missing, unusable, refused (401/403) or its file readable
by others; 7 server unreachable or TLS failure; 8 timeout; 4/5/6/9 as the API answered; 10
history database.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from atdak_cli import paths
from atdak_cli.catalog import LOCAL_MODEL_ID
from atdak_cli.client import redact_key_shaped
from atdak_cli.errors import HINTS, AppError, ExitStatus, status_for

if TYPE_CHECKING:
    import httpx

    from atdak_cli.client import AtdakClient
    from atdak_cli.config import Flags, Settings
    from atdak_cli.connect import Overrides
    from atdak_cli.terminal import Terminal

DEFAULT_TIMEOUT = 5.0
_NAME_WIDTH = 9
_GREEN, _RED, _DIM, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[2m", "\x1b[0m"


@dataclass(frozen=True)
class CheckResult:
    """One line of the report. ``ok`` is None for a check that could not run."""

    name: str
    ok: bool | None
    line: str
    remedy: str | None = None
    status: ExitStatus = ExitStatus.OK


def passed(name: str, line: str) -> CheckResult:
    return CheckResult(name, True, line)


def failed(name: str, line: str, remedy: str | None, status: ExitStatus) -> CheckResult:
    return CheckResult(name, False, line, remedy, status)


def skipped(name: str, why: str) -> CheckResult:
    return CheckResult(name, None, f"skipped: {why}")


def run(flags: Flags) -> int:
    """``atdak doctor``: every check, printed as it completes; the first failure's status."""
    from atdak_cli.terminal import open_terminal

    given = {"profile": flags.profile, "base_url": flags.base_url, "api_key": flags.api_key,
             "timeout": flags.timeout,
             "allow_insecure_http": flags.allow_insecure_http}  # fmt: skip
    return run_doctor(given, open_terminal(None))


def run_doctor(
    flags: Mapping[str, Any], terminal: Terminal, *, environ: Mapping[str, str] | None = None
) -> int:
    """Print every check as it completes; the exit status is the first failure's."""
    status = ExitStatus.OK
    for result in checks(flags, os.environ if environ is None else environ):
        terminal.stdout.write(format_result(result, color=terminal.color) + "\n")
        terminal.stdout.flush()
        if result.ok is False and status == ExitStatus.OK:
            status = result.status
    return status


def checks(flags: Mapping[str, Any], env: Mapping[str, str]) -> Iterator[CheckResult]:
    from atdak_cli.connect import uses_local_model

    settings, result = check_config(flags, env)
    yield result
    key, result = check_key(flags, settings, env)
    yield result
    yield check_key_file(paths.keys_file(env))
    if uses_local_model(settings):
        yield passed("base url", "none: the embedded local model answers offline")
        yield from (skipped(name, "no server with the local model") for name in _NETWORK)
    elif (result := check_base_url(settings)).ok:
        yield result
        yield from check_server(settings, key)
    else:
        yield result
        yield from (skipped(name, "no usable base URL") for name in _NETWORK)
    yield check_history(settings, paths.history_file(env))


def format_result(result: CheckResult, *, color: bool) -> str:
    mark = {True: ("✓", _GREEN), False: ("✗", _RED), None: ("-", _DIM)}[result.ok]
    symbol = f"{mark[1]}{mark[0]}{_RESET}" if color else mark[0]
    text = f"{symbol} {result.name:<{_NAME_WIDTH}} {result.line}"
    text += f" — {result.remedy}" if result.remedy and result.ok is False else ""
    return redact_key_shaped(text)  # a key given as --profile or --base-url is not echoed


# --- local checks ------------------------------------------------------------------------


def check_config(flags: Mapping[str, Any], env: Mapping[str, str]) -> tuple[Settings, CheckResult]:
    """The settings in effect (defaults when the file is broken) and the file's verdict."""
    from atdak_cli.client import DEFAULT_BASE_URL
    from atdak_cli.config import Settings, load_settings

    path = paths.config_file(env)
    given = {k: v for k, v in flags.items() if v is not None and v is not False}
    base_url = given.pop("base_url", None)  # judged by its own check, not as the config's
    given.pop("api_key", None)
    unknown: list[tuple[str, str]] = []
    try:
        settings = load_settings(given, environ=env, warn=lambda *found: unknown.append(found))
    except AppError as exc:
        fallback = Settings(base_url=env.get("ATDAK_BASE_URL") or DEFAULT_BASE_URL)
        remedy = exc.hint or f"fix {path}, or move it away to use the defaults"
        return _with_url(fallback, base_url), failed("config", exc.message, remedy, exc.status)
    if unknown:
        what, hint = unknown[0]
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        return _with_url(settings, base_url), failed("config", what + more, hint, ExitStatus.USAGE)
    note = "" if path.exists() else " (none: defaults in use)"
    return _with_url(settings, base_url), passed("config", f"{path}{note}")


def _with_url(settings: Settings, base_url: str | None) -> Settings:
    return settings if base_url is None else replace(settings, base_url=base_url)


def check_key(
    flags: Mapping[str, Any], settings: Settings, env: Mapping[str, str]
) -> tuple[str, CheckResult]:
    """The key to send ("" for none) and the verdict on it."""
    from atdak_cli.config import is_loopback
    from atdak_cli.secrets import find_key, mask_key

    try:
        found = find_key(
            flag=flags.get("api_key"),
            profile=settings.profile,
            environ=env,
            path=paths.keys_file(env),
        )
    except AppError as exc:
        remedy = exc.hint or "run `atdak login` again"
        return "", failed("key", exc.message, remedy, ExitStatus.AUTH)
    if found is not None:
        return found.value, passed("key", f"{mask_key(found.value)} from {found.source}")
    if is_loopback(urlsplit(settings.base_url).hostname or "") or settings.model == LOCAL_MODEL_ID:
        return "", passed("key", "none (a local server usually needs none)")
    remedy = "run `atdak login` or set ATDAK_API_KEY"
    return "", failed("key", "no API key is configured", remedy, ExitStatus.AUTH)


def check_key_file(path: Path) -> CheckResult:
    from atdak_cli.secrets import is_readable_by_others

    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return passed("key file", f"none stored ({path})")
    except OSError as exc:
        return failed("key file", f"cannot read {path} ({exc.strerror})", None, ExitStatus.AUTH)
    if is_readable_by_others(path):
        line = f"{path} is open to others (mode {mode:04o})"
        return failed("key file", line, f"run chmod 600 {path}", ExitStatus.AUTH)
    return passed("key file", f"{path} (mode {mode:04o})")


def check_base_url(settings: Settings) -> CheckResult:
    from atdak_cli.config import check_base_url as check_url

    try:
        check_url(settings.base_url)
    except AppError as exc:
        remedy = exc.hint or "e.g. --base-url https://api.atdak.com/v1"
        return failed("base url", exc.message, remedy, exc.status)
    return passed("base url", settings.base_url)


def check_history(settings: Settings, path: Path) -> CheckResult:
    from atdak_cli.history.store import HistoryStore

    if not settings.history:
        return passed("history", "off (history = false)")
    if not path.exists():
        return _history_dir(path)
    try:
        with HistoryStore.open(path, readonly=True) as store:
            count = len(store.list_conversations(limit=None))
    except AppError as exc:
        remedy = f"move {path} aside; atdak starts a new one"
        return failed("history", exc.message, remedy, ExitStatus.HISTORY)
    return passed("history", f"{path}: {count} conversation{'s' * (count != 1)}")


def _history_dir(path: Path) -> CheckResult:
    """No database yet: it can be created if its nearest existing directory is writable."""
    directory = path.parent
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    if os.access(directory, os.W_OK):
        return passed("history", f"{path} (nothing saved yet)")
    line = f"{directory} is not writable: the history cannot be saved"
    return failed("history", line, f"set ATDAK_DATA_DIR, or fix {directory}", ExitStatus.HISTORY)


# --- network checks ------------------------------------------------------------------------

_NETWORK = ("server", "tls", "models", "answer")


def check_server(settings: Settings, key: str) -> Iterator[CheckResult]:
    """Reachable, TLS, ``GET /models`` and a one-token answer, over one connection."""
    from atdak_cli.config import is_loopback
    from atdak_cli.connect import open_client

    host = urlsplit(settings.base_url).hostname or ""
    plain = settings.base_url.startswith("http://")
    remote_plain = plain and not is_loopback(host) and not settings.allow_insecure_http
    responses: list[httpx.Response] = []
    tuning = doctor_overrides(settings, "" if remote_plain else key, responses.append)
    with open_client(settings, overrides=tuning) as client:
        probe = probe_models(client, responses)
        yield probe.reachable
        if probe.reachable.ok is False:
            yield from (skipped(name, "the server is unreachable") for name in _NETWORK[1:])
            return
        yield check_tls(
            probe.response,
            plain=plain,
            loopback=is_loopback(host),
            allowed=settings.allow_insecure_http,
        )
        yield probe.models
        yield check_answer(client, settings.model)


def doctor_overrides(
    settings: Settings, key: str, on_response: Callable[[httpx.Response], None]
) -> Overrides:
    """No retries and a short deadline: a doctor reports, it does not insist."""
    from atdak_cli.client import RetryPolicy, Timeout
    from atdak_cli.connect import Overrides

    seconds = settings.timeout or DEFAULT_TIMEOUT
    timeout = Timeout(total=seconds, connect=seconds, first_content=seconds, idle=seconds)
    return Overrides(
        key=key, timeout=timeout, retry_policy=RetryPolicy(max_retries=0), on_response=on_response
    )


@dataclass(frozen=True)
class Probe:
    reachable: CheckResult
    models: CheckResult
    response: httpx.Response | None


def probe_models(client: AtdakClient, responses: list[httpx.Response]) -> Probe:
    """``GET /models``: any HTTP answer proves the server reachable; a list proves the API.
    ``responses`` gets every response the client receives."""
    from atdak_cli.client import APIStatusError, AtdakError, StreamError

    host = urlsplit(client.base_url).hostname
    started = time.monotonic()
    try:
        try:
            count = len(client.models.list().data)
        except StreamError:
            raise StreamError("GET /models did not answer with a JSON model list") from None
        response = responses[-1]
    except APIStatusError as exc:
        reached = passed("server", f"{host} answers (HTTP {exc.status_code})")
        return Probe(reached, _api_failure("models", exc), exc.response)
    except AtdakError as exc:
        unreachable = _api_failure("server", exc)
        return Probe(unreachable, skipped("models", "the server is unreachable"), None)
    ms = _ms(started)
    reached = passed("server", f"{host} answers ({response.http_version}, {ms} ms)")
    return Probe(reached, passed("models", f"GET /models lists {count} models ({ms} ms)"), response)


def check_tls(
    response: httpx.Response | None, *, plain: bool, loopback: bool, allowed: bool
) -> CheckResult:
    if plain and loopback:
        return passed("tls", "not used (plain http to a loopback address)")
    if plain and allowed:
        return passed("tls", "not used (plain http allowed by --allow-insecure-http)")
    if plain:
        line = "plain http to a remote host: the key would travel in clear"
        return failed("tls", line, "use an https base URL", ExitStatus.USAGE)
    version = tls_version(response) if response is not None else None
    return passed("tls", version or "in use (version not reported)")


def tls_version(response: httpx.Response) -> str | None:
    """``TLSv1.3``, from the connection the response came on (httpcore's network stream)."""
    stream = response.extensions.get("network_stream")
    get_info: Callable[[str], Any] | None = getattr(stream, "get_extra_info", None)
    ssl_object = get_info("ssl_object") if get_info is not None else None
    version = getattr(ssl_object, "version", None)
    result = version() if callable(version) else None
    return result if isinstance(result, str) else None


def check_answer(client: AtdakClient, model: str) -> CheckResult:
    from atdak_cli.client import AtdakError

    started = time.monotonic()
    try:
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Say OK."}],
            max_tokens=1,
            stream=False,
        )
    except AtdakError as exc:
        return _api_failure("answer", exc)
    return passed("answer", f"a 1-token answer from {model} in {_ms(started)} ms")


def _api_failure(name: str, exc: BaseException) -> CheckResult:
    status = status_for(exc)
    message = " ".join(str(getattr(exc, "message", None) or exc).split())
    remedy = HINTS.get(status)
    if getattr(exc, "status_code", None) == 404 and name == "models":
        remedy = "check the base URL: it usually ends in /v1"
    if "certificate" in message.lower() or "ssl" in message.lower():
        remedy = "check the server's certificate, the clock, and SSL_CERT_FILE"
    return failed(name, message, remedy, status)


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
