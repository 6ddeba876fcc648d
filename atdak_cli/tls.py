"""The TLS context, built on a thread while the main one imports httpx.

Loading the CA bundle is ~25 ms of OpenSSL parsing PEM, and CPython releases the GIL around
it, so it costs an https request nothing when started before the imports it would otherwise
follow. The context is the one httpx would build itself (``httpx.create_ssl_context``):
``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set, else certifi's bundle.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl


class PendingContext:
    """An ``ssl.SSLContext`` under construction; :meth:`result` waits for it."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        self._context: ssl.SSLContext | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._build, name="atdak-tls", daemon=True)
        self._thread.start()

    def result(self) -> ssl.SSLContext:
        """The context, or the error that building it raised (a bad SSL_CERT_FILE)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._context is not None
        return self._context

    def _build(self) -> None:
        try:
            self._context = verifying_context(self._environ)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
            self._error = exc


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
