"""Deadlines of one request: connect, first content, idle, and the whole request."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Union

if TYPE_CHECKING:
    import httpx

# What a ``timeout=`` accepts: ours, seconds for the whole request, or an ``httpx.Timeout``
# (its ``read`` bounds the wait for the first content and every silence after it).
TimeoutLike = Union["Timeout", float, "httpx.Timeout", None]


@dataclass(frozen=True)
class Timeout:
    """Seconds; ``None`` means no limit.

    ``total`` bounds the whole request, retries included; ``first_content`` the wait for the
    first piece of the answer (keep-alive comments do not count); ``idle`` any silence once
    the answer has started.
    """

    total: float | None = None
    connect: float = 10.0
    first_content: float | None = 120.0
    idle: float | None = 120.0

    @classmethod
    def coerce(cls, value: TimeoutLike) -> Timeout:
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls()
        if isinstance(value, (int, float)):
            return cls(total=float(value), first_content=min(float(value), 120.0))
        read = value.read
        return cls(connect=value.connect or 10.0, first_content=read, idle=read)


class Deadline:
    """The moment the whole request must be over."""

    def __init__(self, seconds: float | None) -> None:
        self._end = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        return None if self._end is None else max(self._end - time.monotonic(), 0.0)

    def cap(self, seconds: float | None) -> float | None:
        """``seconds`` shortened to what is left of the deadline."""
        left = self.remaining()
        if left is None:
            return seconds
        return left if seconds is None else min(seconds, left)


class Cancellable(Protocol):
    def cancel(self) -> object: ...


# Calls a function after some seconds: a thread's timer (sync) or the event loop's (async).
Scheduler = Callable[[float, Callable[[], None]], Cancellable]


def thread_timer(seconds: float, callback: Callable[[], None]) -> Cancellable:
    timer = threading.Timer(seconds, callback)
    timer.daemon = True
    timer.start()
    return timer


class Watchdog:
    """Cuts a response's connection when a deadline passes.

    httpx's read timeout bounds each silence, not the whole body: a server trickling one byte
    a second would never trip it. Shutting the socket down wakes the blocked read at once (a
    thread's ``recv`` and an event loop's selector alike).
    """

    def __init__(self, response: httpx.Response, schedule: Scheduler = thread_timer) -> None:
        self._socket = _socket_of(response)
        self._schedule = schedule
        self._timer: Cancellable | None = None
        self.expired: str | None = None

    def arm(self, seconds: float | None, reason: str) -> None:
        """(Re)start the countdown; the earlier arm is forgotten."""
        self.disarm()
        if seconds is None:
            return
        self._timer = self._schedule(seconds, lambda: self._expire(reason))

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, reason: str) -> None:
        self.expired = reason
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)


class _Shutdown(Protocol):
    def shutdown(self, how: int, /) -> None: ...


def _socket_of(response: httpx.Response) -> _Shutdown | None:
    """The connection's socket: a ``socket.socket``, or asyncio's ``TransportSocket``."""
    stream = response.extensions.get("network_stream")
    get_info = getattr(stream, "get_extra_info", None)
    if get_info is None:
        return None
    sock = get_info("socket")
    return sock if callable(getattr(sock, "shutdown", None)) else None
