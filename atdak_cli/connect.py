"""The one factory of API clients: key lookup, transport checks, TLS (its context built ahead
of need: :mod:`atdak_cli.warmup`), proxies, the embedded local model, debug logging.

The TLS context is the one httpx would build itself (``httpx.create_ssl_context``):
``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set, else certifi's bundle.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atdak_cli import __version__, paths
from atdak_cli.catalog import LOCAL_MODEL_ID
from atdak_cli.client import DEFAULT_BASE_URL, strip_userinfo
from atdak_cli.config import Settings, check_key_transport, is_loopback
from atdak_cli.errors import MissingKeyError, UsageError, remember_key
from atdak_cli.secrets import exposure_warning, find_key
from atdak_cli.warmup import Warmup

if TYPE_CHECKING:
    import ssl

    import httpx

    from atdak_cli.client import AtdakClient, RetryPolicy, Timeout
    from atdak_cli.terminal import Terminal


@dataclass(frozen=True)
class Overrides:
    """What a caller may set beyond the settings: ``atdak doctor`` gives the key it found
    (sent or not as it judged), no retries, one deadline for every phase, and looks at each
    response (its HTTP and TLS versions)."""

    key: str | None = None
    timeout: Timeout | None = None
    retry_policy: RetryPolicy | None = None
    on_response: Callable[[httpx.Response], None] | None = None


@contextmanager
def open_client(
    settings: Settings,
    *,
    api_key_flag: str | None = None,
    terminal: Terminal | None = None,
    debug: bool = False,
    environ: Mapping[str, str] | None = None,
    overrides: Overrides | None = None,
) -> Iterator[AtdakClient]:
    """A client for the settings' endpoint (or the embedded local model); its connection
    pool is closed on exit (a client given an ``http_client`` leaves that to its maker)."""
    env = os.environ if environ is None else environ
    tuning = overrides or Overrides()
    local = uses_local_model(settings)
    key = tuning.key
    if key is None:
        key = check_client(settings, api_key_flag=api_key_flag, environ=env)
    # Started before the imports below, which it overlaps (see atdak_cli.warmup).
    tls = pending_context(env) if not local and needs_tls(settings.base_url, env) else None
    from atdak_cli.client import AtdakClient, Timeout

    timeout = tuning.timeout or Timeout.coerce(settings.timeout)
    if settings.first_content_timeout and tuning.timeout is None:
        timeout = replace(timeout, first_content=settings.first_content_timeout)
    if local:
        base_url, http = "http://local.invalid/v1", _local_http_client(settings)
    else:
        hooks = _debug_hooks(terminal, key) if debug and terminal is not None else {}
        if tuning.on_response is not None:
            hooks.setdefault("response", []).append(tuning.on_response)
        base_url, http = settings.base_url, _http_client(tls, hooks)
    with http:
        yield AtdakClient(
            api_key=key,
            base_url=base_url,
            timeout=timeout,
            retry_policy=tuning.retry_policy,
            http_client=http,
            default_headers={"User-Agent": f"atdak/{__version__}"},
        )


def check_client(
    settings: Settings,
    *,
    api_key_flag: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Raise what :func:`open_client` would for these settings (no key, a key over plain
    http, no local model), without its imports; returns the API key ("" for none)."""
    env = os.environ if environ is None else environ
    if uses_local_model(settings):
        _local_model_path(settings)
        return ""
    key = _api_key(settings, api_key_flag, env)
    remember_key(key)
    check_key_transport(settings, has_key=bool(key))
    return key


def uses_local_model(settings: Settings) -> bool:
    """The embedded model: ``--model-path``, or ``-m local`` with no endpoint of one's own (a
    server configured by the user may well serve a model it calls "local")."""
    if settings.model_path:
        return True
    return settings.model == LOCAL_MODEL_ID and settings.base_url == DEFAULT_BASE_URL


def _api_key(settings: Settings, flag: str | None, env: Mapping[str, str]) -> str:
    keys = paths.keys_file(env)
    found = find_key(flag=flag, profile=settings.profile, environ=env, path=keys)
    if flag is None and env.get("ATDAK_API_KEY") is None:  # the keys file was read
        _warn_once(exposure_warning(keys))
    if found is not None:
        return found.value
    from urllib.parse import urlsplit

    if is_loopback(urlsplit(settings.base_url).hostname or ""):
        return ""  # local servers (llama.cpp, vLLM, Ollama) usually need none
    raise MissingKeyError("no API key is configured", hint=_missing_key_hint())


_WARNED: set[str] = set()


def _warn_once(warning: str | None) -> None:
    """On stderr, once a process (a chat checks its client before connecting, then again)."""
    if warning and warning not in _WARNED:
        _WARNED.add(warning)
        sys.stderr.write(warning + "\n")
        sys.stderr.flush()


def _missing_key_hint() -> str:
    hint = "run `atdak login` or set ATDAK_API_KEY"
    try:
        from atdak_cli.local.model import is_available
    except ImportError:
        return hint
    if is_available():
        return hint + "; or run offline on the embedded model: atdak complete -m local ..."
    return hint


def _http_client(
    tls: Warmup[ssl.SSLContext] | None, hooks: dict[str, list[Callable[..., Any]]]
) -> httpx.Client:
    import httpx

    try:
        return httpx.Client(
            follow_redirects=False,
            # No TLS without a context: plain http, no proxy, and redirects are refused.
            verify=False if tls is None else _tls_context(tls),
            event_hooks=hooks,
            # A batch keeps up to --concurrency (max 64) connections alive, not httpx's 20.
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=64),
        )
    except ValueError as exc:  # httpx rejects a malformed *_PROXY variable here
        raise UsageError(
            f"a proxy variable is malformed ({strip_userinfo(str(exc))})",
            hint="check HTTPS_PROXY, HTTP_PROXY and ALL_PROXY",
        ) from None


def _tls_context(tls: Warmup[ssl.SSLContext]) -> ssl.SSLContext:
    try:
        return tls.result()
    except (OSError, ValueError) as exc:  # e.g. SSL_CERT_FILE names no readable bundle
        raise UsageError(
            f"cannot load the TLS certificates ({' '.join(str(exc).split())})",
            hint="check SSL_CERT_FILE and SSL_CERT_DIR",
        ) from None


def _local_model_path(settings: Settings) -> Path | None:
    """The ``--model-path`` given (None: the embedded model); raises if it is not there."""
    from atdak_cli.local.model import INSTALL_HINT, is_available

    path = Path(settings.model_path).expanduser() if settings.model_path else None
    if not is_available(path):
        what = f"no model file at {path}" if path else "the embedded local model is not installed"
        raise UsageError(what, hint=" ".join(INSTALL_HINT.split()))
    return path


def _local_http_client(settings: Settings) -> httpx.Client:
    path = _local_model_path(settings)
    import httpx

    from atdak_cli.local.transport import LocalTransport

    return httpx.Client(transport=LocalTransport(path))


def _debug_hooks(terminal: Terminal, key: str) -> dict[str, list[Callable[..., Any]]]:
    from atdak_cli.client import mask_key, redact_key

    def show_request(request: httpx.Request) -> None:
        terminal.notice(f"> {request.method} {request.url}")
        for name, value in request.headers.items():
            shown = f"Bearer {mask_key(key)}" if name.lower() == "authorization" else value
            terminal.notice(f"> {name}: {shown}")

    def show_response(response: httpx.Response) -> None:
        status = f"{response.status_code} {response.reason_phrase}"
        terminal.notice(f"< {response.http_version} {status}")
        for name, value in response.headers.items():
            terminal.notice(f"< {name}: {redact_key(value, key)}")  # servers may echo it

    return {"request": [show_request], "response": [show_response]}


# -- TLS


def pending_context(environ: Mapping[str, str]) -> Warmup[ssl.SSLContext]:
    """The verifying context, already being built on a thread."""
    env = dict(environ)
    return Warmup(lambda: verifying_context(env), name="atdak-tls").start()


def verifying_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    import ssl

    if environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=environ["SSL_CERT_FILE"])
    if environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=environ["SSL_CERT_DIR"])
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def needs_tls(base_url: str, environ: Mapping[str, str]) -> bool:
    """Whether requests to ``base_url`` may use TLS: an https endpoint, or any proxy (which
    may be an https one); a plain-http endpoint reached directly never does."""
    if not base_url.startswith("http://"):
        return True
    return any(
        name.lower().endswith("_proxy") and name.lower() != "no_proxy" and value
        for name, value in environ.items()
    )
