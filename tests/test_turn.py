"""run_turn against the loopback server: what the renderer is fed, and when."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from atdak_cli.client import AtdakClient, IncompleteStreamError
from atdak_cli.turn import TurnRequest, run_turn
from tests.utils.api_server import FakeAPIServer, http_response_bytes, raw


class Recorder:
    """A renderer that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def start(self) -> None:
        self.calls.append(("start", ""))

    def feed(self, text: str) -> None:
        self.calls.append(("feed", text))

    def feed_reasoning(self, text: str) -> None:
        self.calls.append(("reasoning", text))

    def flush(self) -> None:
        self.calls.append(("flush", ""))

    def finish(self) -> None:
        self.calls.append(("finish", ""))

    def abort(self) -> None:
        self.calls.append(("abort", ""))


@pytest.fixture
def client(api: FakeAPIServer) -> Iterator[AtdakClient]:
    with AtdakClient(api_key="sk-test", base_url=api.base_url) as made:
        yield made


def sse_at_once(deltas: list[dict[str, str]], *, finish: bool = True) -> bytes:
    """A whole streamed answer sent in one write, as a fast server's burst arrives."""
    events = [{"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    if finish:
        events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    body += "data: [DONE]\n\n" if finish else ""
    headers = {"Content-Type": "text/event-stream", "Connection": "close"}
    return http_response_bytes(200, headers, body.encode())


def ask(client: AtdakClient, renderer: Recorder) -> str:
    request = TurnRequest(model="atdak-gpt-4", messages=[{"role": "user", "content": "hi"}],
                          params={})  # fmt: skip
    return run_turn(client, request, renderer=renderer).text


def test_the_deltas_of_one_network_read_are_fed_at_once(
    api: FakeAPIServer, client: AtdakClient
) -> None:
    words = [f"w{n} " for n in range(200)]
    api.enqueue(raw(sse_at_once([{"content": w} for w in words])))
    renderer = Recorder()
    assert ask(client, renderer) == "".join(words)
    fed = [text for call, text in renderer.calls if call == "feed"]
    assert "".join(fed) == "".join(words)
    assert len(fed) < 10  # one per read, not 200
    assert renderer.calls[-1] == ("finish", "")


def test_reasoning_and_answer_keep_their_order(api: FakeAPIServer, client: AtdakClient) -> None:
    deltas = [{"reasoning_content": "think "}, {"reasoning_content": "hard"}]
    api.enqueue(raw(sse_at_once(deltas + [{"content": "the "}, {"content": "answer"}])))
    renderer = Recorder()
    ask(client, renderer)
    shown = [(call, text) for call, text in renderer.calls if call in ("feed", "reasoning")]
    assert shown == [("reasoning", "think "), ("reasoning", "hard"), ("feed", "the answer")]


def test_what_came_before_a_broken_stream_is_shown_then_aborted(
    api: FakeAPIServer, client: AtdakClient
) -> None:
    api.enqueue(raw(sse_at_once([{"content": "kept "}, {"content": "text"}], finish=False)))
    renderer = Recorder()
    with pytest.raises(IncompleteStreamError):
        ask(client, renderer)
    fed = "".join(text for call, text in renderer.calls if call == "feed")
    assert fed == "kept text"
    assert renderer.calls[-1] == ("abort", "")
