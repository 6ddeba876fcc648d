"""The loopback API server itself, checked with raw httpx (not the atdak client)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.utils.api_server import (
    FakeAPIServer,
    broken_gzip,
    close_immediately,
    error,
    html_page,
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
)

CHAT = {"model": "atdak-gpt-4", "messages": [{"role": "user", "content": "你好 world"}]}


@pytest.fixture
def server() -> Iterator[FakeAPIServer]:
    with serve_api() as srv:
        yield srv
        assert srv.errors == []


@pytest.fixture
def client(server: FakeAPIServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=5) as c:
        yield c


def sse_data(body: bytes) -> list[str]:
    """The ``data`` of each event, framing-agnostic (test helper, not a full parser)."""
    text = body.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    blocks = [b for b in text.split("\n\n") if b]
    return [line[5:].lstrip() for b in blocks for line in b.split("\n") if line.startswith("data")]


def contents(body: bytes) -> str:
    """The concatenated choice-0 content deltas of a chunk stream."""
    out = []
    for data in sse_data(body):
        if data == "[DONE]":
            break
        for choice in json.loads(data)["choices"]:
            if choice["index"] == 0:
                out.append(choice["delta"].get("content") or "")
    return "".join(out)


def post_stream(client: httpx.Client, **extra: Any) -> tuple[httpx.Response, list[bytes]]:
    with client.stream("POST", "/chat/completions", json={**CHAT, "stream": True, **extra}) as r:
        return r, list(r.iter_raw())


# ---------------------------------------------------------------- defaults


def test_default_json_answer_echoes_last_user_message(client: httpx.Client) -> None:
    body = client.post("/chat/completions", json=CHAT).json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "echo: 你好 world"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}


def test_default_stream_answer_with_include_usage(client: httpx.Client) -> None:
    response, pieces = post_stream(client, stream_options={"include_usage": True})
    body = b"".join(pieces)
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["transfer-encoding"] == "chunked"
    assert contents(body) == "echo: 你好 world"
    events = sse_data(body)
    assert events[-1] == "[DONE]"
    usage_chunk = json.loads(events[-2])
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["total_tokens"] == 5
    assert json.loads(events[-3])["choices"][0] == {
        "index": 0,
        "delta": {},
        "finish_reason": "stop",
    }


def test_default_stream_has_no_usage_unless_asked(client: httpx.Client) -> None:
    _, pieces = post_stream(client)
    assert all("usage" not in e for e in sse_data(b"".join(pieces)))


def test_requests_are_recorded(server: FakeAPIServer, client: httpx.Client) -> None:
    client.post("/chat/completions?x=1", json=CHAT, headers={"Authorization": "Bearer sk-t"})
    (request,) = server.requests
    assert (request.method, request.path, request.query) == ("POST", "/v1/chat/completions", "x=1")
    assert request.headers["authorization"] == "Bearer sk-t"
    assert request.json() == CHAT
    server.reset()
    assert server.requests == []


def test_models_list_and_unknown_path(client: httpx.Client) -> None:
    models = client.get("/models").json()
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]][:2] == ["atdak-gpt-4", "atdak-gpt-4-mini"]
    missing = client.get("/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Unknown path: /v1/nope"


def test_enqueue_is_fifo_then_default(server: FakeAPIServer, client: httpx.Client) -> None:
    server.enqueue(json_completion("one"), json_completion("two", finish_reason="length"))
    server.enqueue_for("/v1/models", error(500, "boom"))
    answers = [client.post("/chat/completions", json=CHAT).json() for _ in range(3)]
    assert [a["choices"][0]["message"]["content"] for a in answers] == [
        "one",
        "two",
        "echo: 你好 world",
    ]
    assert client.get("/models").status_code == 500
    assert client.get("/models").status_code == 200


def test_set_default_replaces_the_echo(server: FakeAPIServer, client: httpx.Client) -> None:
    server.set_default(json_completion("fixed"))
    assert client.post("/chat/completions", json=CHAT).json()["choices"][0]["message"] == {
        "role": "assistant",
        "content": "fixed",
    }
    server.set_default(None)
    assert "echo" in client.post("/chat/completions", json=CHAT).text


# ---------------------------------------------------------------- streams


def test_one_byte_writes_split_utf8_and_reassemble(
    server: FakeAPIServer, client: httpx.Client
) -> None:
    server.enqueue(stream(["你好", " wörld"], write_size=1))
    _, pieces = post_stream(client)
    assert len(pieces) > 100 and all(len(p) == 1 for p in pieces)
    assert b"\xe4" in pieces  # the first byte of 你 arrived alone
    assert contents(b"".join(pieces)) == "你好 wörld"


@pytest.mark.parametrize("framing", ["\r", "\r\n"])
def test_framing(server: FakeAPIServer, client: httpx.Client, framing: str) -> None:
    server.enqueue(stream(["a", "b"], framing=framing))  # type: ignore[arg-type]
    _, pieces = post_stream(client)
    body = b"".join(pieces)
    assert body.endswith(b"data: [DONE]" + framing.encode() * 2)
    if framing == "\r":
        assert b"\n" not in body
    assert contents(body) == "ab"


def test_extra_events_bom_reasoning_and_second_choice(
    server: FakeAPIServer, client: httpx.Client
) -> None:
    server.enqueue(
        stream(
            ["x"],
            bom=True,
            role_first=False,
            reasoning=["think"],
            extra_raw_events=[": keep-alive", "event: ping\nid: 3"],
            after_done=["data: late"],
            interleave_second_choice=True,
            chunk_extra={"obfuscation": "zz"},
        )
    )
    _, pieces = post_stream(client)
    body = b"".join(pieces)
    assert body.startswith(b"\xef\xbb\xbf: keep-alive\n\nevent: ping\nid: 3\n\ndata: ")
    assert body.endswith(b"data: [DONE]\n\ndata: late\n\n")
    first = json.loads(sse_data(body[3:])[0])
    assert first["choices"][0]["delta"] == {"reasoning_content": "think"}
    assert first["obfuscation"] == "zz"
    assert b'"index":1,"delta":{"content":"alt:x"}' in body


def test_cut_after_events_makes_httpx_raise(server: FakeAPIServer, client: httpx.Client) -> None:
    server.enqueue(stream(["a", "b", "c"], cut_after_events=2))
    received = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", "/chat/completions", json=CHAT) as response,
    ):
        for piece in response.iter_raw():
            received += piece
    assert contents(received) == "a"


def test_no_finish_reason_and_no_done(server: FakeAPIServer, client: httpx.Client) -> None:
    server.enqueue(stream(["a"], finish_reason=None, done=False))
    _, pieces = post_stream(client)
    events = sse_data(b"".join(pieces))
    assert len(events) == 2 and "[DONE]" not in events
    assert all(json.loads(e)["choices"][0]["finish_reason"] is None for e in events)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, b'data: {"error":{"message":"overloaded"}}\n\n'),
        ({"event": "error"}, b'event: error\ndata: {"error":{"message":"overloaded"}}\n\n'),
        ({"field_name": "error"}, b'error: {"error":{"message":"overloaded"}}\n\n'),
        ({"wrap": False}, b'data: {"message":"overloaded"}\n\n'),
    ],
)
def test_stream_error_event(
    server: FakeAPIServer, client: httpx.Client, kwargs: dict[str, Any], expected: bytes
) -> None:
    server.enqueue(stream_error_event(["partial"], {"message": "overloaded"}, **kwargs))
    _, pieces = post_stream(client)
    body = b"".join(pieces)
    assert body.endswith(expected)
    assert contents(body.replace(expected, b"")) == "partial"


# ---------------------------------------------------------------- errors and broken replies


def test_error_status_with_retry_after(server: FakeAPIServer, client: httpx.Client) -> None:
    body = openai_error("slow down", "rate_limit", "rate_limit_exceeded")
    server.enqueue(error(429, body, headers={"Retry-After": "0"}))
    response = client.post("/chat/completions", json=CHAT)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "0"
    assert response.headers["x-request-id"] == "req_fake_0"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_error_body_kinds(server: FakeAPIServer, client: httpx.Client) -> None:
    big = "x" * 5_000_000
    server.enqueue(
        error(422, {"detail": "bad"}),
        error(502, None),
        error(500, big),
        error(503, b"<html>down</html>", content_type="text/html"),
        html_page(),
    )
    first = client.post("/chat/completions", json=CHAT)
    assert first.json() == {"detail": "bad"}
    empty = client.post("/chat/completions", json=CHAT)
    assert (empty.status_code, empty.content) == (502, b"")
    assert client.post("/chat/completions", json=CHAT).text == big
    assert client.post("/chat/completions", json=CHAT).headers["content-type"] == "text/html"
    portal = client.post("/chat/completions", json=CHAT)
    assert portal.status_code == 200 and "<html>" in portal.text


def test_redirect(server: FakeAPIServer, client: httpx.Client) -> None:
    server.enqueue(redirect("http://example.invalid/login"))
    response = client.post("/chat/completions", json=CHAT)
    assert response.status_code == 302
    assert response.headers["location"] == "http://example.invalid/login"


@pytest.mark.parametrize(
    ("reply", "exc"),
    [
        (close_immediately(), httpx.RemoteProtocolError),
        (reset(), (httpx.ReadError, httpx.RemoteProtocolError)),
        (raw(b"SSH-2.0-OpenSSH_9.6\r\n"), httpx.RemoteProtocolError),
        (broken_gzip(), httpx.DecodingError),
    ],
)
def test_broken_connections_raise(
    server: FakeAPIServer, client: httpx.Client, reply: Any, exc: Any
) -> None:
    server.enqueue(reply)
    with pytest.raises(exc):
        client.post("/chat/completions", json=CHAT)


def test_raw_without_close_holds_until_read_timeout(server: FakeAPIServer) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"
    server.enqueue(raw(head, close=False))
    with httpx.Client(timeout=0.2) as c, pytest.raises(httpx.ReadTimeout):
        c.post(server.base_url + "/chat/completions", json=CHAT)


# ---------------------------------------------------------------- connections and time


def test_keep_alive_reuses_one_connection(server: FakeAPIServer, client: httpx.Client) -> None:
    server.enqueue(stream(["a"]))
    post_stream(client)
    client.post("/chat/completions", json=CHAT)
    first, second = server.requests
    assert first.connection_id == second.connection_id
    assert server.connection_count == 1


def test_concurrent_requests(server: FakeAPIServer, client: httpx.Client) -> None:
    def ask(i: int) -> str:
        chat = {"messages": [{"role": "user", "content": f"n{i}"}]}
        answer = client.post("/chat/completions", json=chat).json()
        return str(answer["choices"][0]["message"]["content"])

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, range(200)))
    assert answers == [f"echo: n{i}" for i in range(200)]
    assert server.connection_count <= 16


def test_stall_before_headers_hits_client_timeout(server: FakeAPIServer) -> None:
    server.enqueue(stall(30))
    with httpx.Client(timeout=0.1) as c, pytest.raises(httpx.ReadTimeout):
        c.post(server.base_url + "/chat/completions", json=CHAT)


def test_stall_then_answers(server: FakeAPIServer, client: httpx.Client) -> None:
    server.enqueue(stall(0.01), stall(0.01, after_events=["slow"]))
    assert "echo" in client.post("/chat/completions", json=CHAT).text
    _, pieces = post_stream(client)
    assert contents(b"".join(pieces)) == "slow"


def _request_in_thread(server: FakeAPIServer, errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            with (
                httpx.Client(timeout=10) as c,
                c.stream("POST", server.base_url + "/chat/completions", json=CHAT) as r,
            ):
                r.read()
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize(
    "reply",
    [
        stall(30),
        stall(30, after_headers=True),
        stall(30, after_events=["a"]),
        keepalive_forever(0.01),
        trickle_forever(b":", 0.01),
        raw(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", close=False),
    ],
)
def test_shutdown_is_fast_while_a_reply_is_running(reply: Any) -> None:
    errors: list[BaseException] = []
    with FakeAPIServer() as server:
        server.enqueue(reply)
        thread = _request_in_thread(server, errors)
        server.wait_for_requests(1)
        start = time.monotonic()
    assert time.monotonic() - start < 1.0
    thread.join(5)
    assert not thread.is_alive()
    assert len(errors) == 1  # the client saw the connection end early


def test_forever_replies_end_when_the_client_leaves(server: FakeAPIServer) -> None:
    server.enqueue(keepalive_forever(0.01, deltas_before=["hi"]))
    with httpx.Client(timeout=5) as c:
        with c.stream("POST", server.base_url + "/chat/completions", json=CHAT) as r:
            first = next(r.iter_raw())
        assert b'"content":""' in first or b"hi" in first
    deadline = time.monotonic() + 2
    while server._server is not None and server._server.handler_threads:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_latency_delays_every_reply(server: FakeAPIServer, client: httpx.Client) -> None:
    server.latency = 0.05
    start = time.monotonic()
    client.get("/models")
    assert time.monotonic() - start >= 0.05
