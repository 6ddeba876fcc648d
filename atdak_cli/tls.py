"""The TLS context (built ahead of need: :mod:`atdak_cli.warmup`), and when one is needed.

The context is the one httpx would build itself (``httpx.create_ssl_context``):
``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set, else certifi's bundle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from atdak_cli.warmup import Warmup

if TYPE_CHECKING:
    import ssl


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
