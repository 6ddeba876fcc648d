"""One conversation sent to several models at once (``atdak complete -m A -m B``), each
answer measured: time to first token, total time, tokens and cost.

Each :class:`Contender` runs its own turn on a thread (the client is thread-safe and every
contender may have its own client: ``-m work:atdak-gpt-4 -m local`` mixes profiles). The
calling thread waits for them, redrawing the view; Ctrl-C stops them all and keeps what came.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from atdak_cli.cost import Price, TokenCounts, format_dollars, price_of
from atdak_cli.turn import TurnRequest, TurnResult, run_turn

if TYPE_CHECKING:
    from atdak_cli.client import AtdakClient
    from atdak_cli.config import Settings
    from atdak_cli.errors import ExitStatus
    from atdak_cli.render.side_by_side import CompareView
    from atdak_cli.terminal import Terminal

Clock = Callable[[], float]
REDRAW_INTERVAL = 1 / 20
CANCEL_GRACE = 1.0


def split_target(target: str, profiles: Collection[str]) -> tuple[str | None, str | None]:
    """``-m`` of a comparison -> (profile, model): ``PROFILE:MODEL``, ``PROFILE:`` (the
    profile's own model), or a model. A model id may hold a colon (``llama3:8b``): only a
    known profile's name before it makes it a profile."""
    profile, sep, model = target.partition(":")
    if sep and profile in profiles:
        return profile, model or None
    return None, target


@dataclass
class Contender:
    """One of the models compared: ``label`` as the user named it."""

    label: str
    client: AtdakClient
    request: TurnRequest
    price: Price | None = None


@dataclass
class Outcome:
    """How one contender did."""

    label: str
    model: str
    request: TurnRequest | None = None
    result: TurnResult = field(default_factory=TurnResult)
    first_token: float | None = None
    total: float = 0.0
    tokens: TokenCounts = field(default_factory=TokenCounts)
    estimated: bool = False
    cost: float | None = None
    error: BaseException | None = None

    def figures(self) -> list[str]:
        """The lines shown under the answer."""
        first = "—" if self.first_token is None else f"{self.first_token:.2f} s"
        tokens = f"{self.tokens.prompt} → {self.tokens.completion}"
        if self.tokens.reasoning:
            tokens += f" ({self.tokens.reasoning} reasoning)"
        if self.tokens.cached:
            tokens += f", {self.tokens.cached} cached"
        lines = [
            f"first token {first} · total {self.total:.2f} s",
            f"tokens {tokens}{' (estimated)' if self.estimated else ''}",
        ]
        if self.cost is not None:
            lines.append(f"cost {format_dollars(self.cost)}")
        if self.result.status != "complete":
            lines.append(f"{self.result.status}: {self.result.error or ''}".rstrip(": "))
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.label,
            "answer": self.result.text,
            "reasoning": self.result.reasoning or None,
            "status": self.result.status,
            "error": self.result.error,
            "finish_reason": self.result.finish_reason,
            "first_token_seconds": _rounded(self.first_token),
            "total_seconds": _rounded(self.total),
            "prompt_tokens": self.tokens.prompt,
            "completion_tokens": self.tokens.completion,
            "cached_tokens": self.tokens.cached,
            "reasoning_tokens": self.tokens.reasoning,
            "tokens_estimated": self.estimated,
            "cost": self.cost,
        }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


class _Column:
    """The renderer of one contender's turn: its deltas go into its pane."""

    def __init__(
        self, view: CompareView | None, index: int, outcome: Outcome, began: float, clock: Clock
    ) -> None:
        self._view, self._index, self._outcome = view, index, outcome
        self._began, self._clock = began, clock
        self._shown = ""
        self.cancelled = threading.Event()

    def _arrived(self, status: str) -> None:
        if self.cancelled.is_set():
            raise KeyboardInterrupt  # in this contender's thread: its turn ends, kept
        if self._outcome.first_token is None:
            self._outcome.first_token = self._clock() - self._began
        if self._shown != status:
            self._shown = status
            self._status(status)

    def _status(self, status: str) -> None:
        if self._view is not None:
            self._view.set_status(self._index, status)

    def start(self) -> None:
        self._status("waiting")

    def feed(self, text: str) -> None:
        self._arrived("answering")
        if self._view is not None:
            self._view.feed(self._index, text)

    def feed_reasoning(self, text: str) -> None:
        self._arrived("thinking")

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        self._status("done")

    def abort(self) -> None:
        self._status("stopped")


def compare(
    contenders: Sequence[Contender],
    *,
    view: CompareView | None = None,
    clock: Clock = time.monotonic,
    wait: Callable[[threading.Thread, float], None] | None = None,
) -> list[Outcome]:
    """Run every contender at once; their outcomes in the order given."""
    outcomes = [Outcome(c.label, c.request.model, c.request) for c in contenders]
    began = clock()
    columns = [_Column(view, i, o, began, clock) for i, o in enumerate(outcomes)]
    threads = [
        threading.Thread(
            target=_run_one, args=(c, o, col, began, clock), name=f"atdak-compare-{i}", daemon=True
        )
        for i, (c, o, col) in enumerate(zip(contenders, outcomes, columns, strict=True))
    ]
    for thread in threads:
        thread.start()
    try:
        _wait_all(threads, view, wait or _join)
    except BaseException:
        for column in columns:
            column.cancelled.set()
        for thread in threads:  # a stalled server cannot hold the way out for long
            thread.join(CANCEL_GRACE)
        raise
    return outcomes


def _join(thread: threading.Thread, seconds: float) -> None:
    thread.join(seconds)


def _wait_all(
    threads: list[threading.Thread],
    view: CompareView | None,
    wait: Callable[[threading.Thread, float], None],
) -> None:
    for thread in threads:
        while thread.is_alive():
            wait(thread, REDRAW_INTERVAL)
            if view is not None:
                view.draw()


class _Capture:
    """A turn recorder that keeps the result, however the turn ended."""

    def __init__(self, outcome: Outcome) -> None:
        self._outcome = outcome

    def question(self, request: TurnRequest) -> None:
        pass

    def answer(self, request: TurnRequest, result: TurnResult) -> None:
        self._outcome.result = result


def _run_one(
    contender: Contender, outcome: Outcome, column: _Column, began: float, clock: Clock
) -> None:
    capture = _Capture(outcome)
    try:
        run_turn(contender.client, contender.request, renderer=column, recorder=capture)
    except BaseException as exc:  # kept in the outcome: one model failing stops no other
        outcome.error = exc
    finally:
        outcome.total = clock() - began
    _count(contender, outcome)


def _count(contender: Contender, outcome: Outcome) -> None:
    from atdak_cli.usage import tokens_of

    usage = outcome.result.usage
    if usage is not None:
        outcome.tokens = TokenCounts.from_usage(usage.to_dict())
    else:
        estimate = tokens_of(contender.request, outcome.result)
        outcome.tokens, outcome.estimated = TokenCounts(estimate.prompt, estimate.completion), True
    if contender.price is not None:
        outcome.cost = contender.price.of(outcome.tokens)


def write_json_lines(outcomes: Sequence[Outcome], out: IO[str]) -> None:
    """``--json``: one object per model, one per line, in the order given."""
    for outcome in outcomes:
        out.write(json.dumps(outcome.to_json(), ensure_ascii=False) + "\n")


@dataclass(frozen=True)
class Target:
    """One ``-m`` of a comparison, resolved: what the user wrote, the settings it means."""

    label: str
    settings: Settings


def run_comparison(
    targets: Sequence[Target],
    messages: list[dict[str, str]],
    terminal: Terminal,
    *,
    open_client: Callable[[Settings], AbstractContextManager[AtdakClient]],
    as_json: bool = False,
    numbered: bool = False,
) -> tuple[list[Outcome], ExitStatus]:
    """Ask every target, show the answers (columns, blocks or JSON lines); the outcomes and
    the exit status: 0 when every model answered, else the first failure's. ``numbered``
    titles each answer with its number (the chat's ``/keep N``)."""
    from atdak_cli.errors import ExitStatus, report
    from atdak_cli.render.side_by_side import CompareView
    from atdak_cli.usage import prices_of

    titles = [f"{i}. {t.label}" if numbered else t.label for i, t in enumerate(targets, 1)]
    view = None if as_json else _view(terminal, titles, CompareView)
    with ExitStack() as stack:
        contenders = [
            Contender(
                target.label,
                stack.enter_context(open_client(target.settings)),
                _request(target.settings, messages),
                price_of(prices_of(target.settings), target.settings.model),
            )
            for target in targets
        ]
        with terminal.typed_keys_unechoed():
            outcomes = compare(contenders, view=view)
    if view is not None:
        view.finish([o.figures() for o in outcomes])
    else:
        write_json_lines(outcomes, terminal.stdout)
    terminal.stdout.flush()
    reports = [report(o.error) for o in outcomes if o.error is not None]
    for _, line in reports:
        terminal.notice(line)
    return outcomes, reports[0][0] if reports else ExitStatus.OK


def _view(terminal: Terminal, labels: list[str], make: type[CompareView]) -> CompareView:
    def size() -> tuple[int, int]:
        if not terminal.stdout_isatty:
            return terminal.width, 24
        columns, rows = shutil.get_terminal_size((terminal.width, 24))
        return columns, rows

    tty = terminal.stdout_isatty
    return make(terminal.stdout, labels, live=tty, bold=tty, size=size)


def _request(settings: Settings, messages: list[dict[str, str]]) -> TurnRequest:
    request = TurnRequest(
        model=settings.model, messages=messages, params=settings.sampling(), stream=True
    )
    request.extra_body["stream_options"] = {"include_usage": True}  # the figures need it
    from atdak_cli.budget import apply_request_options

    apply_request_options(request, settings)  # each model's effort and budget, before any send
    return request


def last_question(messages: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """The conversation up to its last question: what ``/compare`` asks again."""
    ends = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    return [dict(m) for m in messages[: ends[-1] + 1]] if ends else []
