"""Thinking on a terminal: dimmed while it comes, one line once the answer starts; the router
that keeps it off stdout elsewhere and copies it to ``--reasoning-to``."""

from __future__ import annotations

import io
import os
import sys

import pexpect
import pyte
import pytest

from atdak_cli.render.thinking import ReasoningRouter, ThinkingView, wrap_cells
from tests.utils.api_server import FakeAPIServer, stream
from tests.utils.process import REPO

ROWS, COLUMNS = 24, 80


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A renderer below the router that records what it is fed."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def start(self) -> None:
        self.calls.append(("start", ""))

    def feed(self, text: str) -> None:
        self.calls.append(("feed", text))

    def feed_reasoning(self, text: str) -> None:
        self.calls.append(("reasoning", text))

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        self.calls.append(("finish", ""))

    def abort(self) -> None:
        self.calls.append(("abort", ""))


def screen_of(data: str, columns: int = COLUMNS) -> pyte.Screen:
    screen = pyte.Screen(columns, ROWS)
    pyte.Stream(screen).feed(data.replace("\n", "\r\n"))
    return screen


def visible(screen: pyte.Screen) -> list[str]:
    return [line.rstrip() for line in screen.display if line.strip()]


def test_view_collapses_thinking_to_one_line_with_its_duration() -> None:
    out, clock = io.StringIO(), FakeClock()
    view = ThinkingView(out, clock=clock, size=lambda: (COLUMNS, ROWS))
    router = ReasoningRouter(Recorder(), view=view)
    router.start()
    for n in range(20):
        clock.now += 0.6
        router.feed_reasoning(f"step {n} of the plan\n")
        router.flush()
    shown = visible(screen_of(out.getvalue()))
    assert shown[0].startswith("thinking… 12 s")
    assert shown[1:] == [f"step {n} of the plan" for n in range(14, 20)]  # the last lines
    router.feed("The answer.")
    assert visible(screen_of(out.getvalue())) == ["thought for 12 s"]
    assert out.getvalue().endswith("\x1b[?25h")  # the cursor is back


def test_view_never_draws_taller_than_its_cap_even_on_a_tiny_screen() -> None:
    out, clock = io.StringIO(), FakeClock()
    view = ThinkingView(out, clock=clock, size=lambda: (20, 5))
    view.feed("x" * 500)
    view.flush()
    assert len([ln for ln in visible(screen_of(out.getvalue(), 20))]) == 3


def test_show_all_keeps_every_line_of_the_thinking() -> None:
    out = io.StringIO()
    view = ThinkingView(out, show_all=True, clock=FakeClock(), size=lambda: (COLUMNS, ROWS))
    router = ReasoningRouter(Recorder(), view=view)
    router.feed_reasoning("\nfirst line\nsecond ")
    router.feed_reasoning("line")
    router.feed("answer")
    assert visible(screen_of(out.getvalue())) == ["first line", "second line"]
    assert "\x1b[2;3m" in out.getvalue()


def test_without_a_view_the_thinking_goes_below_and_to_the_sink() -> None:
    below = Recorder()
    ReasoningRouter(below).feed_reasoning("t")
    assert below.calls == [("reasoning", "t")]
    sink, below = io.StringIO(), Recorder()
    router = ReasoningRouter(below, sink=sink)
    router.feed_reasoning("one ")
    router.feed_reasoning("two")
    router.feed("A")
    router.finish()
    assert sink.getvalue() == "one two\n"
    assert below.calls == [("feed", "A"), ("finish", "")]  # not twice on stderr


def test_wrap_cells_counts_wide_characters() -> None:
    assert wrap_cells("春天的诗歌", 4) == ["春天", "的诗", "歌"]
    assert wrap_cells("ab\ncd", 10) == ["ab", "cd"]


@pytest.mark.xfail(
    strict=False,
    reason="known race, open in issue 17/21: the Markdown renderer's wait indicator keeps "
    "ticking under the thinking view (the router gives it no reasoning), so the view's erase "
    "can miss a row and leave 'thinking… N s' above 'thought for'; failed 2 runs in ~5",
)
def test_thinking_is_dimmed_then_collapsed_in_a_real_terminal(
    api: FakeAPIServer, key_env: str
) -> None:
    thoughts = [f"considering option {n}\n" for n in range(6)]
    api.enqueue(stream(["The answer is 4.\n"], reasoning=thoughts, delay=0.15))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "atdak_cli", "complete", "--base-url", api.base_url, "2+2?"],
        env={**os.environ, "TERM": "xterm-256color"},
        dimensions=(ROWS, COLUMNS),
        cwd=str(REPO),
    )
    screen = pyte.Screen(COLUMNS, ROWS)
    feed = pyte.ByteStream(screen)
    child.expect("considering option 2")
    feed.feed(child.before + child.after)
    row = next(y for y, line in enumerate(screen.display) if "considering option 1" in line)
    assert screen.buffer[row][0].italics  # dimmed and italic: not the answer
    assert any(line.startswith("thinking") for line in screen.display)
    feed.feed(child.read())
    child.close()
    assert child.exitstatus == 0
    shown = visible(screen)
    assert shown[0].startswith("thought for ")
    assert shown[-1] == "The answer is 4."
    assert not any("considering" in line for line in shown)
