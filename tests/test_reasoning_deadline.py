"""Thinking is progress: a model that thinks for three minutes does not hit the two-minute
first-content deadline, whichever shape its thinking takes. The clock and the watchdog's timer
are injected, so three minutes pass in no time."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from atdak_cli.client import IncompleteStreamError
from atdak_cli.client._streaming import Stream
from atdak_cli.client._timeouts import Deadline, Timeout
from atdak_cli.reasoning import ThinkSplitter


class _Timer:
    def __init__(self, cancel: Callable[[], object]) -> None:
        self.cancel = cancel


class FakeTimers:
    """A clock and a scheduler on it: due callbacks run when the clock is advanced."""

    def __init__(self) -> None:
        self.now = 0.0
        self._due: dict[int, tuple[float, Callable[[], None]]] = {}
        self._next = 0

    def schedule(self, seconds: float, callback: Callable[[], None]) -> _Timer:
        key, self._next = self._next, self._next + 1
        self._due[key] = (self.now + seconds, callback)
        return _Timer(lambda: self._due.pop(key, None))

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for key, (when, callback) in sorted(self._due.items(), key=lambda kv: kv[1][0]):
            if when <= self.now:
                del self._due[key]
                callback()


def event(delta: dict[str, str], finish: str | None = None) -> bytes:
    chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def body(timers: FakeTimers, thinking: list[bytes], answer: bytes) -> Iterator[bytes]:
    """Ten seconds of silence before each event: 18 of them make three minutes."""
    for piece in [*thinking, answer, event({}, "stop"), b"data: [DONE]\n\n"]:
        timers.advance(10)
        yield piece


def read(timers: FakeTimers, source: Iterator[bytes]) -> tuple[str, str]:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=source, request=request
    )
    stream = Stream(
        response,
        timeout=Timeout(first_content=120.0, idle=None),
        deadline=Deadline(None),
        schedule=timers.schedule,
    )
    splitter, thought, answer = ThinkSplitter(), [], []
    with stream:
        for chunk in stream:
            delta = chunk.choices[0].delta
            r, a = splitter.feed(delta.content, delta.reasoning_content)
            thought.append(r)
            answer.append(a)
    return "".join(thought), "".join(answer)


SHAPES = {
    "reasoning_content": lambda n: event({"reasoning_content": f"step {n}. "}),
    "reasoning": lambda n: event({"reasoning": f"step {n}. "}),
    "inline": lambda n: event({"content": ("<think>" if n == 0 else "") + f"step {n}. "}),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_three_minutes_of_thinking_is_not_a_timeout(shape: str) -> None:
    timers = FakeTimers()
    thinking = [SHAPES[shape](n) for n in range(17)]
    close = "</think>" if shape == "inline" else ""
    thought, answer = read(timers, body(timers, thinking, event({"content": close + "42"})))
    assert timers.now >= 180
    assert answer == "42"
    assert thought.split() == [w for n in range(17) for w in ("step", f"{n}.")]


def test_three_minutes_of_keep_alive_comments_is_a_timeout() -> None:
    # The same clock without thinking: the deadline does fire, so the test above means it.
    timers = FakeTimers()
    thinking = [b": keep-alive\n\n"] * 17
    with pytest.raises(IncompleteStreamError, match="no answer within 120 s"):
        read(timers, body(timers, thinking, event({"content": "42"})))
