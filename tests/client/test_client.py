"""The client library against the loopback server: errors, retries, faults and odd streams.

In-process, so retries never really sleep: ``RetryPolicy(sleep=waits.append)`` records the
waits instead.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest

import atdak
from atdak_cli.client import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AtdakClient,
    AtdakError,
    AuthenticationError,
    BadRequestError,
    IncompleteStreamError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    RedirectRefusedError,
    RetryPolicy,
    ServerStreamError,
    Stream,
    StreamError,
    Timeout,
    UnprocessableEntityError,
)
from tests.utils.api_server import (
    Exchange,
    FakeAPIServer,
    Reply,
    broken_gzip,
    close_immediately,
    error,
    html_page,
    http_response_bytes,
    json_completion,
    keepalive_forever,
    openai_error,
    raw,
    redirect,
    reset,
    serve_api,
    stall,
    stream,
    stream_error_event,
    trickle_forever,
    truncated_json,
)
from tests.utils.fault_replies import DONE, answer, body, events_text, finish, sse
from tests.utils.fault_replies import chunk as data_chunk
from tests.utils.process import CANARY_KEY

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(api: FakeAPIServer, waits: list[float]) -> Iterator[AtdakClient]:
    with make_client(api.base_url, waits) as c:
        yield c


def make_client(
    base_url: str,
    waits: list[float],
    *,
    timeout: Timeout | float | None = None,
    max_retries: int = 2,
) -> AtdakClient:
    policy = RetryPolicy(max_retries=max_retries, sleep=waits.append, jitter=lambda: 0.0)
    return AtdakClient(api_key=CANARY_KEY, base_url=base_url, timeout=timeout, retry_policy=policy)


def ask(client: AtdakClient) -> Stream:
    return client.chat.completions.create(model="atdak-gpt-4", messages=MESSAGES, stream=True)


def collect(client: AtdakClient) -> tuple[str, Stream]:
    """The answer as the seed example prints it, and the stream (closed)."""
    with ask(client) as s:
        text = "".join(chunk.choices[0].delta.content for chunk in s)
    return text, s


def failure(client: AtdakClient) -> StreamError:
    with pytest.raises(StreamError) as info, ask(client) as s:
        for _ in s:
            pass
    return info.value


# ---------------------------------------------------------------- the seed example


def seed_reply() -> Any:
    """Every shape a chunk without text can take, around the two characters of the answer."""
    return sse(
        data_chunk("", role="assistant"),
        data_chunk("你"),
        data_chunk(None),  # no content at all
        data_chunk(choices=[]),  # empty choices
        data_chunk("好", extra_field={"x": 1}),
        "data: " + json.dumps({"choices": [{"delta": {"content": None}}]}),
        finish(),
        "data: " + json.dumps({"choices": [], "usage": {"prompt_tokens": 1}}),
        DONE,
    )


def test_seed_example_prints_exactly_the_answer(
    api: FakeAPIServer, key_env: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("ATDAK_BASE_URL", api.base_url)
    api.enqueue(seed_reply())
    # --- verbatim from the seed (chat-completions.md, "流式调用")
    # fmt: off
    from atdak import AtdakClient

    client = AtdakClient()

    stream = client.chat.completions.create(
        model="atdak-gpt-4",
        messages=[{"role": "user", "content": "你好"}],
        stream=True
    )
    for chunk in stream:
        print(chunk.choices[0].delta.content, end="")
    # fmt: on
    # ---
    client.close()
    assert capsys.readouterr().out == "你好"


def test_seed_stream_format_without_finish_reason_is_a_complete_answer(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    # The API page's own example: content deltas, no finish_reason, then [DONE].
    api.enqueue(
        sse(
            'data: {"id":"chatcmpl-abc","choices":[{"delta":{"content":"你"}}]}',
            'data: {"id":"chatcmpl-abc","choices":[{"delta":{"content":"好"}}]}',
            DONE,
        )
    )
    text, s = collect(client)
    assert text == "你好"
    assert s.text == "你好"


def test_seed_stream_format_written_without_blank_lines_still_parses(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    # The page shows the three lines with no blank line between them: a server copying it
    # sends one WHATWG event holding several JSON documents.
    api.enqueue(
        body(
            b'data: {"id":"chatcmpl-abc","choices":[{"delta":{"content":"\xe4\xbd\xa0"}}]}\n'
            b'data: {"id":"chatcmpl-abc","choices":[{"delta":{"content":"\xe5\xa5\xbd"}}]}\n'
            b"data: [DONE]\n\n"
        )
    )
    text, _ = collect(client)
    assert text == "你好"


def test_public_alias_exports_the_library() -> None:
    assert atdak.AtdakClient is AtdakClient
    assert atdak.IncompleteStreamError is IncompleteStreamError


def test_non_streamed_answer(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(json_completion("春天"))
    response = client.chat.completions.create(model="atdak-gpt-4", messages=MESSAGES)
    assert response.choices[0].message.content == "春天"


# ---------------------------------------------------------------- HTTP errors


@pytest.mark.parametrize(
    ("status", "payload", "cls", "expected"),
    [
        (400, openai_error("bad temperature"), BadRequestError, "HTTP 400: bad temperature"),
        (401, openai_error("Invalid key", "auth"), AuthenticationError, "HTTP 401: Invalid key"),
        (404, {"detail": "Not Found"}, NotFoundError, "HTTP 404: Not Found"),
        (
            422,
            {"detail": [{"loc": ["body", "model"], "msg": "field required"}]},
            UnprocessableEntityError,
            '"msg": "field required"',
        ),
        (400, "a bare string", BadRequestError, "HTTP 400: a bare string"),
        (
            400,
            {"object": "error", "message": "vLLM says no", "type": "BadRequestError", "code": 400},
            BadRequestError,
            "HTTP 400: vLLM says no",
        ),
        (400, {"error": "just a string"}, BadRequestError, "HTTP 400: just a string"),
        (418, {"unexpected": True}, APIStatusError, 'HTTP 418: {"unexpected":true}'),
    ],
    ids=["openai", "openai-401", "fastapi-str", "fastapi-list", "bare", "vllm", "error-str", "418"],
)
def test_error_bodies_give_the_servers_message(
    client: AtdakClient,
    api: FakeAPIServer,
    status: int,
    payload: Any,
    cls: type[APIStatusError],
    expected: str,
) -> None:
    api.enqueue(error(status, payload))
    with pytest.raises(cls) as info:
        ask(client)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.status_code == status
    assert info.value.request_id == "req_fake_0"


def test_openai_error_fields_are_exposed(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(error(400, openai_error("bad", "invalid_request_error", "model_not_found")))
    with pytest.raises(BadRequestError) as info:
        ask(client)
    assert (info.value.code, info.value.type) == ("model_not_found", "invalid_request_error")


def test_html_error_page_is_one_short_line(client: AtdakClient, api: FakeAPIServer) -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>" + b"<p>x</p>" * 2000
    api.set_default(error(502, page + b"</body></html>", content_type="text/html"))
    with pytest.raises(InternalServerError) as info:
        ask(client)
    assert str(info.value) == "HTTP 502: an HTML page: 502 Bad Gateway"


def test_html_error_page_without_title(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(error(403, b"<html><body><h1>Denied</h1></body></html>", content_type="text/html"))
    with pytest.raises(APIStatusError) as info:
        ask(client)
    assert str(info.value) == "HTTP 403: an HTML error page"


def test_empty_error_body_gives_the_reason_phrase(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(error(404, None))
    with pytest.raises(NotFoundError) as info:
        ask(client)
    assert str(info.value) == "HTTP 404: Not Found"


def test_multi_megabyte_error_body_is_cut_to_one_bounded_line(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(error(400, "E" * 8_000_000))
    started = time.monotonic()
    with pytest.raises(BadRequestError) as info:
        ask(client)
    assert time.monotonic() - started < 2
    assert len(str(info.value)) <= 320
    assert str(info.value).endswith("...")
    # only a bounded prefix was kept
    assert isinstance(info.value.body, str) and len(info.value.body) <= 256 * 1024


def test_status_error_message_never_holds_an_echoed_key(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(error(401, openai_error(f"Incorrect API key provided: {CANARY_KEY}.")))
    with pytest.raises(AuthenticationError) as info:
        ask(client)
    assert CANARY_KEY not in str(info.value)
    assert CANARY_KEY not in repr(info.value.body)
    assert "sk-…dd44" in str(info.value)


def test_key_straddling_the_message_cut_does_not_leak_in_part(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(error(400, "x" * 280 + CANARY_KEY + "y" * 100))
    with pytest.raises(BadRequestError) as info:
        ask(client)
    assert CANARY_KEY[:12] not in str(info.value)


# ---------------------------------------------------------------- retries


def test_503_is_retried_with_backoff_then_succeeds(
    client: AtdakClient, api: FakeAPIServer, waits: list[float]
) -> None:
    api.enqueue(error(503, openai_error("busy")), error(503, None), stream(["ok"]))
    assert collect(client)[0] == "ok"
    assert waits == [0.5, 1.0]
    assert len(api.requests) == 3


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 504])
def test_retryable_status_is_retried(
    client: AtdakClient, api: FakeAPIServer, waits: list[float], status: int
) -> None:
    api.enqueue(error(status, openai_error("again")), stream(["ok"]))
    assert collect(client)[0] == "ok"
    assert len(waits) == 1


def test_retries_give_up_after_max_retries(
    client: AtdakClient, api: FakeAPIServer, waits: list[float]
) -> None:
    api.set_default(error(500, openai_error("down")))
    with pytest.raises(InternalServerError, match="HTTP 500: down"):
        ask(client)
    assert len(api.requests) == 3 and len(waits) == 2


def test_retry_after_ms_is_honoured(
    client: AtdakClient, api: FakeAPIServer, waits: list[float]
) -> None:
    api.enqueue(error(429, openai_error("slow"), headers={"retry-after-ms": "120"}), stream(["ok"]))
    collect(client)
    assert waits == [pytest.approx(0.12)]


def test_retry_after_seconds_is_honoured(
    client: AtdakClient, api: FakeAPIServer, waits: list[float]
) -> None:
    api.enqueue(error(429, openai_error("slow"), headers={"Retry-After": "3"}), stream(["ok"]))
    collect(client)
    assert waits == [3.0]


def test_retry_after_http_date_is_honoured(
    client: AtdakClient, api: FakeAPIServer, waits: list[float]
) -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=5), usegmt=True)
    api.enqueue(error(503, None, headers={"Retry-After": when}), stream(["ok"]))
    collect(client)
    assert len(waits) == 1 and 2 <= waits[0] <= 5.5


def test_x_should_retry_false_stops_retries(
    client: AtdakClient, api: FakeAPIServer, waits: list[float]
) -> None:
    api.enqueue(error(503, openai_error("no"), headers={"x-should-retry": "false"}))
    with pytest.raises(InternalServerError):
        ask(client)
    assert waits == [] and len(api.requests) == 1


def test_x_should_retry_true_retries_a_400(
    client: AtdakClient, api: FakeAPIServer, waits: list[float]
) -> None:
    api.enqueue(
        error(400, openai_error("flaky"), headers={"x-should-retry": "true"}), stream(["ok"])
    )
    assert collect(client)[0] == "ok"
    assert len(waits) == 1


def test_429_insufficient_quota_is_not_retried(
    client: AtdakClient, api: FakeAPIServer, waits: list[float]
) -> None:
    quota = openai_error(
        "You exceeded your current quota", "insufficient_quota", "insufficient_quota"
    )
    api.set_default(error(429, quota, headers={"Retry-After": "0"}))
    with pytest.raises(RateLimitError, match="exceeded your current quota"):
        ask(client)
    assert waits == [] and len(api.requests) == 1


def test_wait_longer_than_the_deadline_is_reported_at_once(
    api: FakeAPIServer, waits: list[float]
) -> None:
    api.set_default(error(429, openai_error("slow down"), headers={"Retry-After": "30"}))
    started = time.monotonic()
    with make_client(api.base_url, waits, timeout=5) as c, pytest.raises(RateLimitError) as info:
        ask(c)
    assert time.monotonic() - started < 1
    assert waits == [] and len(api.requests) == 1
    assert "retry in 30 s" in str(info.value)


def test_wait_longer_than_a_minute_is_reported_without_a_deadline(
    client: AtdakClient, api: FakeAPIServer, waits: list[float]
) -> None:
    api.set_default(error(503, None, headers={"Retry-After": "3600"}))
    with pytest.raises(InternalServerError, match="retry in 3600 s"):
        ask(client)
    assert waits == []


def test_backoff_that_does_not_fit_the_deadline_does_not_claim_the_server_asked(
    api: FakeAPIServer,
) -> None:
    waits: list[float] = []
    policy = RetryPolicy(sleep=waits.append, jitter=lambda: 0.0, initial_delay=5.0)
    api.set_default(error(500, openai_error("down")))
    with (
        AtdakClient(api_key=CANARY_KEY, base_url=api.base_url, timeout=2, retry_policy=policy) as c,
        pytest.raises(InternalServerError) as info,
    ):
        ask(c)
    assert waits == []
    assert str(info.value) == "HTTP 500: down"


def test_connection_refused_is_retried_then_reported(waits: list[float]) -> None:
    with serve_api() as gone:
        url = gone.base_url
    with make_client(url, waits) as c, pytest.raises(APIConnectionError) as info:
        ask(c)
    assert "cannot connect to 127.0.0.1" in str(info.value)
    assert "Connection refused" in str(info.value)
    assert waits == [0.5, 1.0]


@pytest.mark.parametrize("fault", [reset, close_immediately], ids=["reset", "closed"])
def test_connection_dropped_before_the_response_is_retried(
    client: AtdakClient, api: FakeAPIServer, waits: list[float], fault: Any
) -> None:
    api.enqueue(fault(), stream(["ok"]))
    assert collect(client)[0] == "ok"
    assert len(waits) == 1


def test_redirect_is_refused_not_retried_and_not_followed(
    client: AtdakClient, api: FakeAPIServer, waits: list[float]
) -> None:
    with serve_api() as other:
        api.set_default(redirect(other.base_url + "/chat/completions", 307))
        with pytest.raises(RedirectRefusedError) as info:
            ask(client)
        assert other.requests == []
    assert "redirects are not followed" in str(info.value)
    assert waits == [] and len(api.requests) == 1


def test_redirect_location_credentials_are_masked(client: AtdakClient, api: FakeAPIServer) -> None:
    api.set_default(redirect("https://user:hunter2@evil.test/v1/chat/completions"))
    with pytest.raises(RedirectRefusedError) as info:
        ask(client)
    assert "hunter2" not in str(info.value)
    assert "https://***@evil.test" in str(info.value)


def test_redirect_loop_ends_at_once(client: AtdakClient, api: FakeAPIServer) -> None:
    api.set_default(redirect("/v1/chat/completions", 301))
    with pytest.raises(RedirectRefusedError):
        ask(client)
    assert len(api.requests) == 1


def test_cut_after_the_answer_started_is_never_retried(
    client: AtdakClient, api: FakeAPIServer, waits: list[float]
) -> None:
    api.enqueue(stream(["Hel", "lo"], cut_after_events=3))
    error_ = failure(client)
    assert isinstance(error_, IncompleteStreamError) and error_.reason == "network"
    assert error_.partial == "Hello"
    assert waits == [] and len(api.requests) == 1


# ---------------------------------------------------------------- transport faults


def test_response_that_is_not_http(client: AtdakClient, api: FakeAPIServer) -> None:
    api.set_default(raw(b"SSH-2.0-OpenSSH_9.6\r\n"))
    with pytest.raises(APIConnectionError, match="did not speak HTTP"):
        ask(client)


def test_stall_before_headers_times_out_within_the_deadline(api: FakeAPIServer) -> None:
    api.set_default(stall(10))
    started = time.monotonic()
    with make_client(api.base_url, [], timeout=0.5) as c, pytest.raises(APITimeoutError):
        ask(c)
    assert time.monotonic() - started < 1.5


def test_stall_after_headers_hits_the_first_content_deadline(api: FakeAPIServer) -> None:
    api.enqueue(stall(10, after_headers=True))
    timeout = Timeout(total=5, first_content=0.4)
    started = time.monotonic()
    with make_client(api.base_url, [], timeout=timeout) as c:
        error_ = failure(c)
    assert time.monotonic() - started < 1.5
    assert isinstance(error_, IncompleteStreamError) and error_.reason == "timeout"
    assert "no answer within 0.4 s" in str(error_)


def test_keepalive_comments_do_not_count_as_content(api: FakeAPIServer) -> None:
    api.enqueue(keepalive_forever(0.05))
    started = time.monotonic()
    with make_client(api.base_url, [], timeout=Timeout(total=5, first_content=0.4)) as c:
        error_ = failure(c)
    assert time.monotonic() - started < 1.5
    assert isinstance(error_, IncompleteStreamError) and error_.reason == "timeout"


def test_trickle_of_one_byte_forever_is_bounded_by_the_deadline(api: FakeAPIServer) -> None:
    api.enqueue(trickle_forever(b"x", 0.02))
    started = time.monotonic()
    with make_client(api.base_url, [], timeout=0.6) as c:
        error_ = failure(c)
    assert time.monotonic() - started < 1.5
    assert isinstance(error_, IncompleteStreamError) and error_.reason == "timeout"


def test_stall_mid_stream_keeps_the_partial_answer(api: FakeAPIServer) -> None:
    api.enqueue(stall(10, after_events=["Hel", "lo"]))
    started = time.monotonic()
    with make_client(api.base_url, [], timeout=0.6) as c:
        error_ = failure(c)
    assert time.monotonic() - started < 1.5
    assert isinstance(error_, IncompleteStreamError) and error_.reason == "timeout"
    assert error_.partial == "Hello"


def test_keepalive_after_content_is_bounded_by_the_total_deadline(api: FakeAPIServer) -> None:
    api.enqueue(keepalive_forever(0.05, deltas_before=["par", "tial"]))
    with make_client(api.base_url, [], timeout=0.6) as c:
        error_ = failure(c)
    assert isinstance(error_, IncompleteStreamError) and error_.partial == "partial"


def test_reset_mid_stream_keeps_the_partial_answer(client: AtdakClient, api: FakeAPIServer) -> None:
    def then_reset(ex: Any) -> None:
        ex.start_chunked(200, "text/event-stream", None)
        ex.write_chunk(events_text([data_chunk("", role="assistant"), data_chunk("partial")]))
        time.sleep(0.05)
        ex.reset()

    from tests.utils.api_server import Reply

    api.enqueue(Reply(then_reset, "reset-mid-stream"))
    error_ = failure(client)
    assert isinstance(error_, IncompleteStreamError) and error_.reason == "network"
    assert error_.partial == "partial"


def test_truncated_chunk_mid_stream(client: AtdakClient, api: FakeAPIServer) -> None:
    head = {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"}
    first = events_text([data_chunk("", role="assistant"), data_chunk("half")])
    data = b"%x\r\n%s\r\n" % (len(first), first) + b'100\r\ndata: {"choi'
    api.enqueue(raw(http_response_bytes(200, head, data)))
    error_ = failure(client)
    assert isinstance(error_, IncompleteStreamError) and error_.reason == "network"
    assert error_.partial == "half"


def test_broken_gzip_is_a_network_error_not_a_crash(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(broken_gzip())
    error_ = failure(client)
    assert isinstance(error_, IncompleteStreamError) and error_.reason == "network"


def test_truncated_json_body_of_a_plain_request(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(truncated_json())
    with pytest.raises(IncompleteStreamError) as info:
        client.chat.completions.create(model="atdak-gpt-4", messages=MESSAGES)
    assert info.value.reason == "network"


def test_stream_closes_its_connection_when_the_consumer_stops_early(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(keepalive_forever(0.02, deltas_before=["a", "b"]))
    with ask(client) as s:
        next(iter(s))
    assert s.response.is_closed


# ---------------------------------------------------------------- malformed or unusual streams


def test_leading_bom_keeps_the_first_event(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(stream(["first", " second"], bom=True))
    assert collect(client)[0] == "first second"


def test_blocks_without_data_are_not_dispatched(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(stream(["ok"], extra_raw_events=["event: ping\nid: 3", "retry: 100", ": hi"]))
    assert collect(client)[0] == "ok"


def test_empty_data_lines_are_skipped(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(sse("data:", data_chunk("a"), "data: ", data_chunk("b"), finish(), DONE))
    assert collect(client)[0] == "ab"


def test_events_after_done_are_ignored(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(stream(["ok"], after_done=[data_chunk("EXTRA"), "data: not json"]))
    assert collect(client)[0] == "ok"


def test_clean_end_without_finish_reason_or_done_is_incomplete(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(stream(["Hel", "lo"], finish_reason=None, done=False))
    error_ = failure(client)
    assert isinstance(error_, IncompleteStreamError) and error_.reason == "eof"
    assert error_.partial == "Hello"


def test_finish_reason_without_done_is_complete(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(stream(["ok"], done=False))
    text, s = collect(client)
    assert text == "ok" and s.finish_reason == "stop"


def test_invalid_json_chunk_is_a_stream_error_with_the_partial(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(sse(data_chunk("Hel"), data_chunk("lo"), 'data: {"choices": [', finish(), DONE))
    error_ = failure(client)
    assert type(error_) is StreamError
    assert "malformed chunk" in str(error_) and error_.partial == "Hello"


def test_malformed_chunk_snippet_never_holds_an_echoed_key(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(sse(f'data: {{"echo": "{CANARY_KEY}"', DONE))
    error_ = failure(client)
    assert CANARY_KEY[:10] not in str(error_)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"error_obj": {"message": "overloaded", "type": "server_error"}}, "overloaded"),
        (
            {"error_obj": {"object": "error", "message": "vllm boom", "code": 500}, "wrap": False},
            "vllm boom",
        ),
        ({"error_obj": {"code": 500, "message": "llama ctx"}, "event": "error"}, "llama ctx"),
        ({"error_obj": {"message": "after done"}, "done": True}, "after done"),
        (
            {"error_obj": {"code": 500, "message": "legacy ctx"}, "wrap": False},
            "legacy ctx",
        ),
        ({"error_obj": {"message": "legacy wrapped"}}, "legacy wrapped"),
    ],
    ids=["openai", "vllm-old", "llama.cpp", "with-done", "error-field", "error-field-wrapped"],
)
def test_error_event_mid_stream_keeps_the_partial(
    client: AtdakClient, api: FakeAPIServer, kwargs: dict[str, Any], message: str
) -> None:
    if "legacy" in message:  # llama.cpp's old `error: {...}` field instead of `data:`
        kwargs = {**kwargs, "field_name": "error"}
    api.enqueue(stream_error_event(["Hel", "lo"], **kwargs))
    error_ = failure(client)
    assert isinstance(error_, ServerStreamError)
    assert message in str(error_) and error_.partial == "Hello"


def test_event_error_with_bare_payload_is_an_error(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(sse(data_chunk("a"), 'event: error\ndata: {"message": "bare"}'))
    error_ = failure(client)
    assert isinstance(error_, ServerStreamError) and "bare" in str(error_)


def test_error_field_with_plain_text_is_the_servers_message(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(sse(data_chunk("a"), "error: out of memory"))
    error_ = failure(client)
    assert isinstance(error_, ServerStreamError) and "out of memory" in str(error_)
    assert error_.partial == "a"


def test_in_band_error_echoing_the_key_is_redacted(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(stream_error_event(["a"], {"message": f"bad key {CANARY_KEY}"}))
    assert CANARY_KEY not in str(failure(client))


def test_200_html_captive_portal_is_not_an_empty_success(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(html_page())
    error_ = failure(client)
    assert "HTML page" in str(error_) and "portal" in str(error_)


def test_200_json_completion_to_a_stream_request_is_accepted(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(json_completion("whole", reasoning="thought"))
    text, s = collect(client)
    assert text == "whole" and s.reasoning == "thought" and s.finish_reason == "stop"


def test_200_json_error_object_to_a_stream_request(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(error(200, openai_error("hidden failure")))
    assert "hidden failure" in str(failure(client))


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/json", "application/octet-stream"]
)
def test_sse_with_the_wrong_content_type_is_accepted(
    client: AtdakClient, api: FakeAPIServer, content_type: str
) -> None:
    api.enqueue(stream(["right", " answer"], content_type=content_type))
    assert collect(client)[0] == "right answer"


def test_sse_with_no_content_type_is_accepted(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(body(events_text(answer("ok")), content_type=None))
    assert collect(client)[0] == "ok"


def test_role_only_null_content_and_unknown_fields(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(
        sse(
            data_chunk(role="assistant"),
            "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": None}}]}),
            data_chunk("x", tool_calls=None, refusal=None),
            "data: " + json.dumps({"choices": [{"index": 0}], "novel": [1, 2]}),
            "data: " + json.dumps({"choices": "garbage"}),
            data_chunk("y", index=0, finish="stop"),
            DONE,
        )
    )
    text, s = collect(client)
    assert text == "xy" and s.text == "xy"


def test_reasoning_deltas_are_kept_apart_from_the_answer(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(stream(["42"], reasoning=["think ", "hard"]))
    text, s = collect(client)
    assert text == "42" and s.text == "42" and s.reasoning == "think hard"


def test_interleaved_choices_keep_index_0_only(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(stream(["a", "b"], interleave_second_choice=True))
    with ask(client) as s:
        shown = [c.delta.content for chunk_ in s for c in chunk_.choices if c.index == 0]
    assert "".join(shown) == "ab" and s.text == "ab"


@pytest.mark.parametrize("reason", ["length", "content_filter"])
def test_unusual_finish_reason_is_reported(
    client: AtdakClient, api: FakeAPIServer, reason: str
) -> None:
    api.enqueue(stream(["cut"], finish_reason=reason))
    text, s = collect(client)
    assert text == "cut" and s.finish_reason == reason


def test_raw_line_separators_inside_json_strings(client: AtdakClient, api: FakeAPIServer) -> None:
    answer_text = "a\u2028b\u2029c\u0085d"
    api.enqueue(stream([answer_text]))
    assert collect(client)[0] == answer_text


def test_invalid_utf8_bytes_become_replacement_characters(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    bad = b'data: {"choices":[{"index":0,"delta":{"content":"ok\xff\xfe!"}}]}\n\n'
    api.enqueue(sse(data_chunk("", role="assistant"), bad, finish(), DONE))
    assert collect(client)[0] == "ok\ufffd\ufffd!"


def test_multibyte_characters_split_across_one_byte_writes(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(stream(["你好", " 👋", " é"], write_size=1, framing="\r\n"))
    assert collect(client)[0] == "你好 👋 é"


def test_a_single_4_mb_delta(client: AtdakClient, api: FakeAPIServer) -> None:
    big = "词" * (4 * 1024 * 1024 // 3)
    api.enqueue(stream([big]))
    assert collect(client)[0] == big


def test_client_refuses_a_key_with_control_characters() -> None:
    for key in (CANARY_KEY + "\n", CANARY_KEY + " ", "sk-a\x00b"):
        with pytest.raises(AtdakError) as info:
            AtdakClient(api_key=key, base_url="http://127.0.0.1:9/v1")
        assert CANARY_KEY not in str(info.value)


def test_key_is_never_in_exception_messages_of_any_fault(api: FakeAPIServer) -> None:
    faults = [
        error(401, openai_error(CANARY_KEY)),
        error(500, {"detail": {"auth": f"Bearer {CANARY_KEY}"}}),
        stream_error_event(["x"], {"message": CANARY_KEY}),
        sse(f"data: {CANARY_KEY}"),
        html_page(500),
        reset(),
    ]
    for fault in faults:
        api.set_default(fault)
        with (
            make_client(api.base_url, [], max_retries=0) as c,
            pytest.raises(AtdakError) as info,
            ask(c) as s,
        ):
            for _ in s:
                pass
        assert CANARY_KEY not in str(info.value), fault
        assert CANARY_KEY not in repr(info.value.args), fault


# ---------------------------------------------------------------- issue 14: tools, reasoning, CR


WEATHER = ("get_weather", '{"city": "Paris"}')


def test_streamed_tool_call_deltas_are_joined_and_kept_in_the_completion(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(stream([], tool_calls=[WEATHER], finish_reason="tool_calls"))
    text, s = collect(client)
    call = {
        "id": "call_0",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    assert text == "" and s.finish_reason == "tool_calls"
    assert [c.to_dict() for c in s.tool_calls] == [call]
    assert s.tool_calls[0].function.parse_arguments() == {"city": "Paris"}
    assert s.to_completion().to_dict()["choices"][0]["message"]["tool_calls"] == [call]


def test_non_streamed_tool_calls_are_in_the_message(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(json_completion(None, tool_calls=[WEATHER], finish_reason="tool_calls"))
    completion = client.chat.completions.create(model="m", messages=MESSAGES)
    (call,) = completion.choices[0].message.tool_calls or []
    assert (call.id, call.type) == ("call_0", "function")
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city": "Paris"}')


def test_json_answer_to_a_stream_request_keeps_its_tool_calls(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(json_completion(None, tool_calls=[WEATHER], finish_reason="tool_calls"))
    _, s = collect(client)
    assert [c.function.name for c in s.tool_calls] == ["get_weather"]
    assert s.finish_reason == "tool_calls"


def test_reasoning_field_is_read_like_reasoning_content(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    # vLLM, Ollama's /v1 and OpenRouter stream the thinking as `delta.reasoning`.
    api.enqueue(stream(["42"], reasoning=["think ", "hard"], reasoning_field="reasoning"))
    with ask(client) as s:
        deltas = [c.choices[0].delta for c in s]
    assert s.text == "42" and s.reasoning == "think hard"
    assert "".join(d.reasoning_content for d in deltas) == "think hard"
    assert "".join(d.reasoning for d in deltas) == "think hard"
    assert all("reasoning" not in d.extra for d in deltas)
    assert s.to_completion().choices[0].message.reasoning_content == "think hard"


def test_non_streamed_reasoning_field_is_read(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(json_completion("42", reasoning="thought", reasoning_field="reasoning"))
    message = client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message
    assert message.reasoning_content == "thought" == message.reasoning


def test_reasoning_field_counts_as_content_for_the_first_content_deadline(
    api: FakeAPIServer,
) -> None:
    # Thinking for 1.2 s against a first-content deadline of 0.6 s: healthy, not a timeout.
    thoughts = ["a ", "b ", "c ", "d "]
    api.enqueue(stream(["42"], reasoning=thoughts, reasoning_field="reasoning", delay=0.3))
    with make_client(api.base_url, [], timeout=Timeout(total=20, first_content=0.6)) as c:
        text, s = collect(c)
    assert text == "42" and s.reasoning == "a b c d "


def test_huge_retry_field_does_not_break_the_stream(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    huge = ["retry: " + "9" * 5000, "id: " + "7" * 5000 + "\ndata: "]
    api.enqueue(stream(["ok"], extra_raw_events=huge))
    assert collect(client)[0] == "ok"


def test_cr_framed_token_is_delivered_before_the_next_write(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    """A server that ends lines with CR alone: the token must not wait for the next write."""
    shown = threading.Event()
    waited: list[bool] = []

    def send(ex: Exchange) -> None:
        ex.start_chunked(200, "text/event-stream", None)
        ex.write_chunk(cr_framed(data_chunk("", role="assistant"), data_chunk("Hel")))
        waited.append(shown.wait(5))  # the next write only once the client has shown "Hel"
        ex.write_chunk(cr_framed(data_chunk("lo"), finish(), DONE))
        ex.end_chunks()

    api.enqueue(Reply(send, "cr-gated"))
    with ask(client) as s:
        for chunk_ in s:
            if chunk_.choices[0].delta.content == "Hel":
                shown.set()
    assert waited == [True], "the CR-framed token arrived only with the next write"
    assert s.text == "Hello"


def cr_framed(*events: str) -> bytes:
    return "".join(e + "\r\r" for e in events).encode()
