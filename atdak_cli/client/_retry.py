"""When to retry a failed request and how long to wait (openai-python's policy).

Retried: connection errors and timeouts before any response, 408, 409, 429 and 5xx, unless
the server says ``x-should-retry: false`` or the 429 means the quota is used up. Never retried
once a successful response has started: a retry must not replay tokens already shown.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from atdak_cli.client._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    RedirectRefusedError,
)

_RETRYABLE_STATUS = frozenset({408, 409, 429})
_QUOTA_CODES = frozenset({"insufficient_quota", "quota_exceeded", "billing_hard_limit_reached"})
# A server asking for a longer wait than this is not waited for.
MAX_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff from ``initial_delay`` doubling to ``max_delay``, with jitter.

    ``sleep`` (``async_sleep`` for the async client; None: ``asyncio.sleep``) and ``jitter``
    are injectable so tests never really wait.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False)
    async_sleep: Callable[[float], Awaitable[None]] | None = field(default=None, repr=False)

    def should_retry(self, error: APIError, attempt: int) -> bool:
        """Whether ``error`` on 0-based ``attempt`` deserves another try."""
        if attempt >= self.max_retries:
            return False
        if isinstance(error, APIConnectionError):
            # A redirect is an answer, not a failure: asking again gets the same one.
            return not isinstance(error, RedirectRefusedError)
        if not isinstance(error, APIStatusError):
            return False
        should = error.response.headers.get("x-should-retry", "").lower()
        if should in ("true", "false"):
            return bool(should == "true")
        if error.status_code == 429 and is_quota_error(error):
            return False
        return error.status_code in _RETRYABLE_STATUS or error.status_code >= 500

    def delay(self, attempt: int, headers: Mapping[str, str] | None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        asked = retry_after(headers) if headers is not None else None
        if asked is not None:
            return asked
        base = min(self.initial_delay * 2**attempt, self.max_delay)
        return float(base * (1 - 0.25 * self.jitter()))


def is_quota_error(error: APIError) -> bool:
    """A 429 that waiting will not cure: the account's quota is used up."""
    text = f"{error.code or ''} {error.type or ''}".lower()
    return any(code in text for code in _QUOTA_CODES)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait a server asks for: ``retry-after-ms``, or ``retry-after`` in seconds or as an
    HTTP date (RFC 9110 §10.2.3). ``None`` when absent or unreadable."""
    millis = _number(headers.get("retry-after-ms"))
    if millis is not None:
        return max(millis / 1000, 0.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number == number and number != float("inf") else None
