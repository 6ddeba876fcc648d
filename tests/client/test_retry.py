"""The retry policy: which failures are retried and how long to wait (pure unit tests)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from atdak_cli.client import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    RedirectRefusedError,
    RetryPolicy,
    ServerStreamError,
    StreamError,
)
from atdak_cli.client._errors import IncompleteStreamError, status_error_class
from atdak_cli.client._retry import is_quota_error, retry_after

REQUEST = httpx.Request("POST", "https://api.example.test/v1/chat/completions")


def status_error(
    status: int, headers: dict[str, str] | None = None, body: object = None
) -> APIStatusError:
    response = httpx.Response(status, headers=headers, request=REQUEST)
    return status_error_class(status)(f"HTTP {status}", response=response, body=body)


def policy(**kwargs: object) -> RetryPolicy:
    return RetryPolicy(sleep=lambda _: None, jitter=lambda: 0.0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_retryable_statuses_are_retried(status: int) -> None:
    assert policy().should_retry(status_error(status), 0)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    assert not policy().should_retry(status_error(status), 0)


def test_connection_errors_and_timeouts_are_retried() -> None:
    assert policy().should_retry(APIConnectionError("refused", request=REQUEST), 0)
    assert policy().should_retry(APITimeoutError("timed out", request=REQUEST), 0)


def test_redirects_are_not_retried() -> None:
    error = RedirectRefusedError(302, "https://elsewhere.test/", request=REQUEST)
    assert not policy().should_retry(error, 0)


def test_errors_after_the_answer_started_are_never_retried() -> None:
    for error in (
        StreamError("bad chunk", partial="abc"),
        ServerStreamError("mid-stream", partial="abc"),
        IncompleteStreamError("cut", partial="abc", reason="network"),
    ):
        assert not policy().should_retry(error, 0)


def test_retries_stop_at_max_retries() -> None:
    p = policy(max_retries=2)
    error = status_error(503)
    assert [p.should_retry(error, attempt) for attempt in range(4)] == [True, True, False, False]
    assert not policy(max_retries=0).should_retry(error, 0)


def test_x_should_retry_false_overrides_a_retryable_status() -> None:
    assert not policy().should_retry(status_error(503, {"x-should-retry": "false"}), 0)


def test_x_should_retry_true_overrides_a_final_status() -> None:
    assert policy().should_retry(status_error(400, {"x-should-retry": "true"}), 0)


def test_x_should_retry_true_still_respects_max_retries() -> None:
    assert not policy(max_retries=1).should_retry(status_error(400, {"x-should-retry": "true"}), 1)


@pytest.mark.parametrize(
    "code", ["insufficient_quota", "quota_exceeded", "billing_hard_limit_reached"]
)
def test_429_quota_exhausted_is_not_retried(code: str) -> None:
    body = {"error": {"message": "You exceeded your current quota", "type": code, "code": code}}
    error = status_error(429, body=body)
    assert is_quota_error(error)
    assert not policy().should_retry(error, 0)


def test_429_quota_in_type_only_is_not_retried() -> None:
    error = status_error(429, body={"error": {"message": "q", "type": "insufficient_quota"}})
    assert not policy().should_retry(error, 0)


def test_plain_429_is_retried() -> None:
    error = status_error(429, body={"error": {"message": "slow down", "type": "rate_limit"}})
    assert not is_quota_error(error)
    assert policy().should_retry(error, 0)


def test_backoff_doubles_from_half_a_second_and_caps_at_8() -> None:
    p = policy()
    assert [p.delay(n, None) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_jitter_shortens_the_delay_by_at_most_a_quarter() -> None:
    p = RetryPolicy(jitter=lambda: 1.0)
    assert p.delay(0, None) == pytest.approx(0.375)
    assert p.delay(3, {}) == pytest.approx(3.0)


def test_retry_after_ms_wins_over_retry_after() -> None:
    headers = httpx.Headers({"retry-after-ms": "250", "retry-after": "7"})
    assert retry_after(headers) == pytest.approx(0.25)
    assert policy().delay(0, headers) == pytest.approx(0.25)


@pytest.mark.parametrize(("value", "seconds"), [("3", 3.0), ("0", 0.0), ("1.5", 1.5), (" 2 ", 2.0)])
def test_retry_after_in_seconds(value: str, seconds: float) -> None:
    assert retry_after(httpx.Headers({"retry-after": value})) == pytest.approx(seconds)


def test_retry_after_as_http_date() -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    headers = httpx.Headers({"retry-after": format_datetime(when, usegmt=True)})
    wait = retry_after(headers)
    assert wait is not None and 27 <= wait <= 30.5


def test_retry_after_as_http_date_in_the_past_is_zero() -> None:
    assert retry_after(httpx.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0


def test_retry_after_as_asctime_date() -> None:
    when = time.gmtime(time.time() + 10)
    value = time.strftime("%a %b %d %H:%M:%S %Y", when)  # RFC 9110 obsolete asctime form
    wait = retry_after(httpx.Headers({"retry-after": value}))
    assert wait is not None and 7 <= wait <= 10.5


@pytest.mark.parametrize("value", ["soon", "", "nan", "inf", "Wed, 99 Foo 2015"])
def test_unreadable_retry_after_falls_back_to_backoff(value: str) -> None:
    headers = httpx.Headers({"retry-after": value})
    assert retry_after(headers) is None
    assert policy().delay(1, headers) == 1.0


def test_negative_retry_after_is_zero() -> None:
    assert retry_after(httpx.Headers({"retry-after": "-5"})) == 0.0
    assert retry_after(httpx.Headers({"retry-after-ms": "-5"})) == 0.0


def test_no_retry_headers_gives_none() -> None:
    assert retry_after(httpx.Headers({})) is None
