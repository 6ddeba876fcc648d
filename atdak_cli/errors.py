"""Exit statuses and the translation of every known failure into one line for the user."""

from __future__ import annotations

import errno
from enum import IntEnum


class ExitStatus(IntEnum):
    """The documented exit codes (README, ``atdak --help``)."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    AUTH = 3
    REJECTED = 4
    RATE_LIMITED = 5
    SERVER = 6
    NETWORK = 7
    TIMEOUT = 8
    UNUSABLE = 9
    HISTORY = 10
    TOOL_REFUSED = 11
    SIGINT = 130
    PIPE = 141
    SIGTERM = 143


class AppError(Exception):
    """A failure the user can act on: one line on stderr and a documented exit status."""

    status: ExitStatus = ExitStatus.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(AppError):
    """Bad flags, config or local input: nothing was sent."""

    status = ExitStatus.USAGE


class MissingKeyError(AppError):
    """No API key is configured."""

    status = ExitStatus.AUTH


class UnusableAnswerError(AppError):
    """The answer arrived but cannot be used as asked (e.g. no code block to extract)."""

    status = ExitStatus.UNUSABLE


class ToolCallError(AppError):
    """The model asked to call a tool though none was offered (no -T): an empty answer must
    not pass for a success."""

    status = ExitStatus.REJECTED

    def __init__(self, names: list[str]) -> None:
        wanted = ", ".join(names) if names else "a tool"
        super().__init__(
            f"the model asked to call {wanted} instead of answering, and no tools were offered",
            hint="offer tools with -T NAME or --functions FILE, or turn off the server's own",
        )


class BadKeyError(AppError):
    """The key that was found cannot be used as it is."""

    status = ExitStatus.AUTH


class HistoryError(AppError):
    """The history could not be opened, read or written; the answer is still delivered."""

    status = ExitStatus.HISTORY


class ConversationNotFound(UsageError):
    """No conversation has the ID the user gave (exit 2: bad local input)."""


class Terminated(BaseException):
    """SIGTERM arrived: unwound like Ctrl-C so the partial answer is saved (exit 143)."""


def status_for(exc: BaseException) -> ExitStatus:
    """The documented exit status of any failure (README, ``atdak --help``)."""
    if isinstance(exc, AppError):
        return exc.status
    if isinstance(exc, KeyboardInterrupt):
        return ExitStatus.SIGINT
    if isinstance(exc, Terminated):
        return ExitStatus.SIGTERM
    if isinstance(exc, BrokenPipeError):
        return ExitStatus.PIPE
    if is_local_io_error(exc):
        return ExitStatus.USAGE
    from atdak_cli import client as api

    if isinstance(exc, api.APIStatusError):
        return _status_of_http(exc)
    if isinstance(exc, api.APITimeoutError):
        return ExitStatus.TIMEOUT
    if isinstance(exc, api.APIConnectionError):
        return ExitStatus.NETWORK
    if isinstance(exc, api.IncompleteStreamError):
        return {"timeout": ExitStatus.TIMEOUT, "network": ExitStatus.NETWORK}.get(
            exc.reason, ExitStatus.UNUSABLE
        )
    if isinstance(exc, api.ServerStreamError):
        return ExitStatus.SERVER
    if isinstance(exc, api.StreamError):
        return ExitStatus.UNUSABLE
    if isinstance(exc, api.AtdakError):
        return ExitStatus.USAGE
    return ExitStatus.INTERNAL


# The local machine failed to read or write (a full disk, /dev/full, a dying device): known
# failures the user can act on, not bugs.
_LOCAL_IO_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG})


def is_local_io_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _LOCAL_IO_ERRNOS


def _status_of_http(exc: object) -> ExitStatus:
    code: int = getattr(exc, "status_code", 0)
    if code == 408:  # the server gave up waiting for the request: a timeout, not a rejection
        return ExitStatus.TIMEOUT
    if code in (401, 403):
        return ExitStatus.AUTH
    if code == 429:
        return ExitStatus.RATE_LIMITED
    if code >= 500:
        return ExitStatus.SERVER
    return ExitStatus.REJECTED


HINTS: dict[ExitStatus, str] = {
    ExitStatus.REJECTED: "check the model name (`atdak models`) and the request's options",
    ExitStatus.AUTH: "check the key: `atdak login`, or set ATDAK_API_KEY",
    ExitStatus.RATE_LIMITED: "wait a moment and try again, or check your quota",
    ExitStatus.SERVER: "the server failed; try again later",
    ExitStatus.NETWORK: "check the network and the base URL (`atdak config show`)",
    ExitStatus.TIMEOUT: "try again, or raise --timeout",
    ExitStatus.UNUSABLE: "is the base URL an OpenAI-compatible API? (`atdak config show`)",
}


def _hint(exc: BaseException) -> str | None:
    from atdak_cli import client as api

    if isinstance(exc, api.RateLimitError) and api.is_quota_error(exc):
        return "the account's quota is used up: check your plan and billing"
    if isinstance(exc, api.APIStatusError) and exc.status_code == 408:
        return "the server timed out waiting for the request; try again later"
    if isinstance(exc, api.ProxyConnectionError):
        return "check HTTPS_PROXY, HTTP_PROXY and ALL_PROXY, or add the host to NO_PROXY"
    if isinstance(exc, api.APIError) and exc.code == "context_length_exceeded":
        return "send less, or pick a model with a longer context (atdak models)"
    if isinstance(exc, api.IncompleteStreamError) and exc.reason == "eof" and not exc.partial:
        # e.g. llama_cpp.server, which fails inside its stream on a prompt too long for it
        return (
            "the server failed on its side (see its log); a prompt longer than the model's"
            " context is a common cause"
        )
    return HINTS.get(status_for(exc))


def report(exc: BaseException, *, debug: bool = False) -> tuple[ExitStatus, str]:
    """How every place that shows an error shows it: the exit status, and one line
    ``atdak: error: <what> — <hint>`` with every key in use redacted."""
    status = status_for(exc)
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    hint = getattr(exc, "hint", None) or _hint(exc)
    if is_local_io_error(exc):
        assert isinstance(exc, OSError)
        if exc.filename:
            message = f"cannot write {exc.filename} ({exc.strerror or exc})"
            hint = "free some space, or check that its directory is writable"
        else:
            message = f"cannot write the output ({exc.strerror or exc})"
            hint = "free some space, or send the output elsewhere"
    line = error_line(str(message), hint)
    if status == ExitStatus.INTERNAL and not debug:
        line += " (a bug: please report it; rerun with --debug for details)"
    return status, line


def error_line(message: str, hint: str | None = None) -> str:
    """``atdak: error: <message> — <hint>`` on one line, redacted: the one spelling of it."""
    text = " ".join(message.split())
    return redact(f"atdak: error: {text}" + (f" — {hint}" if hint else ""))


# --- redaction: no key in use is ever shown, whatever the message quotes ------------------

_KEYS_IN_USE: set[str] = set()


def remember_key(key: str) -> None:
    """Note a key in use, so that any message shown later is redacted of it."""
    if key:
        _KEYS_IN_USE.add(key)


def redact(text: str) -> str:
    """``text`` without any key in use (those noted, and $ATDAK_API_KEY), then without any
    word that looks like a key (one typed by mistake)."""
    import os

    from atdak_cli.client import redact_key, redact_key_shaped

    for key in {*_KEYS_IN_USE, os.environ.get("ATDAK_API_KEY") or ""} - {""}:
        text = redact_key(text, key)
    return redact_key_shaped(text)
