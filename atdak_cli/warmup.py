"""The one way atdak builds something ahead of need: on a thread, joined when it is needed.

Start-up is a feature (design.md §9), and three things are worth building while the user or
the network is busy with something else. What each saves, measured on the reference machine:

- the TLS context (:mod:`atdak_cli.connect`): loading the CA bundle is ~25 ms of OpenSSL
  parsing PEM with the GIL released, overlapped with importing httpx: an https request pays
  nothing for it;
- the renderer (:class:`atdak_cli.render.LazyRenderer`): importing rich costs ~80 ms, better
  spent while the model thinks than before the question is sent;
- the chat's client and renderer (:mod:`atdak_cli.repl.prompt`): built once the prompt is on
  the screen, so that neither httpx (~50 ms) nor rich delays the first prompt.

A build that fails is not reported on its thread: :meth:`Warmup.result` raises its error on
the caller's, where the one error handler reports it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T", covariant=True)


class Warmup(Generic[T]):
    """``build()``, started on a thread by :meth:`start` or run by :meth:`result` if it never
    was; either way it runs once, and :meth:`result` returns (or raises) what it gave."""

    def __init__(self, build: Callable[[], T], *, name: str) -> None:
        self._build = build
        self._name = name
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._done = False
        self._value: T | None = None
        self._error: BaseException | None = None

    def start(self) -> Warmup[T]:
        """Begin building on a daemon thread (nothing if it has begun or is done)."""
        with self._lock:
            if self._thread is None and not self._done:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        return self

    def result(self) -> T:
        """The value, waiting for the thread if it is still building."""
        if not self._done:
            with self._lock:
                thread = self._thread
                if thread is None and not self._done:
                    self._run()
            if thread is not None:
                thread.join()
        if self._error is not None:
            raise self._error
        return cast(T, self._value)

    def wait(self) -> None:
        """Wait for a build that was started; nothing if none was (or it is done)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        # Exception only: Ctrl-C and SIGTERM arrive on the main thread, and an interrupted
        # build is left undone, to be tried again.
        try:
            self._value = self._build()
        except Exception as exc:  # raised again by result(), on the caller's thread
            self._error = exc
        self._done = True
