"""Streaming render cost: plain vs our append-only Markdown renderer vs naive rich ``Live``.

One command: ``python benchmarks/render.py``. Streams synthetic Markdown answers of 2 000,
20 000 and 100 000 tokens (a token is a 4-character delta, about an English BPE token) into a
100x40 terminal whose output goes to a null sink, and prints CPU seconds per 1 000 tokens.

The stream is paced by a simulated clock at 100 tokens per second, a fast real model, so the
throttle redraws the live region about every third delta: the cost of a real stream, not of
a stream so fast that the throttle skips almost every redraw. Timers fire on the same clock.

The naive baseline re-renders ``Markdown(whole text)`` in ``rich.live.Live`` on every delta,
the pattern design.md §6 rejects; it is quadratic, so it only runs at 2 000 tokens.

Exits 1 if a goal is missed: our cost per 1 000 tokens at 100 000 tokens within 1.5x of the
cost at 2 000 tokens (flat), and at 2 000 tokens at least 50x cheaper than the naive baseline.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.live import Live  # noqa: E402
from rich.markdown import Markdown  # noqa: E402

from atdak_cli.render.markdown import MarkdownRenderer  # noqa: E402
from atdak_cli.render.plain import PlainRenderer  # noqa: E402
from atdak_cli.terminal import Terminal  # noqa: E402

WIDTH, HEIGHT = 100, 40
CHARS_PER_TOKEN = 4
SECONDS_PER_TOKEN = 0.01
SIZES = (2_000, 20_000, 100_000)
FLAT_GOAL, NAIVE_GOAL = 1.5, 50.0

_SECTION = """## Step {n}: configure the 服务 {n}

The *configuration* for step {n} lives in `config/{n}.toml`; read it with **care**, because the
loader merges defaults first and then applies [overrides](https://example.com/docs/{n}).
Wide text wraps too: 配置文件会在启动时加载，然后合并默认值。 🚀 Emoji are two cells wide 🎉.

- Check the `PATH` variable
- Run the migration:
  1. back up the database
  2. apply `migrate --to {n}`
- Restart the service

```python
def step_{n}(config: dict[str, int]) -> int:
    total = 0
    for key, value in sorted(config.items()):
        if key.startswith("opt_"):
            total += value * {n}
    return total
```

| Option | Default | Meaning |
|--------|---------|---------|
| `retries` | {n} | how often to retry |
| `timeout` | 30 s | per request |

> Note: step {n} is idempotent, so running it twice is safe.

```bash
atdak complete --model small "step {n}" | tee out-{n}.txt
```

"""


def answer(tokens: int) -> str:
    """A realistic Markdown answer of about ``tokens`` tokens."""
    wanted = tokens * CHARS_PER_TOKEN
    sections = wanted // len(_SECTION) + 2
    return "".join(_SECTION.format(n=n) for n in range(1, sections + 1))[:wanted]


def deltas(text: str) -> Iterator[str]:
    return (text[i : i + CHARS_PER_TOKEN] for i in range(0, len(text), CHARS_PER_TOKEN))


class SimulatedTime:
    """A clock and a scheduler: timers fire when the stream's time passes them."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._ids = itertools.count()

    def clock(self) -> float:
        return self.now

    def schedule(self, delay: float, callback: Callable[[], None]) -> Callable[[], None]:
        entry = (self.now + delay, next(self._ids), callback)
        heapq.heappush(self._timers, entry)
        return lambda: self._timers.remove(entry) if entry in self._timers else None

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while self._timers and self._timers[0][0] <= self.now:
            heapq.heappop(self._timers)[2]()


def run_plain(text: str, sink: IO[str]) -> None:
    renderer = PlainRenderer(Terminal(stdout=sink, width=WIDTH))
    renderer.start()
    for delta in deltas(text):
        renderer.feed(delta)
    renderer.finish()


def run_markdown(text: str, sink: IO[str]) -> None:
    sim = SimulatedTime()
    terminal = Terminal(stdout=sink, stdout_isatty=True, color=True, width=WIDTH)
    renderer = MarkdownRenderer(
        terminal, clock=sim.clock, schedule=sim.schedule, size=lambda: (WIDTH, HEIGHT),
        color_system="256",
    )
    renderer.start()
    for delta in deltas(text):
        renderer.feed(delta)
        sim.advance(SECONDS_PER_TOKEN)
    renderer.finish()


def run_naive(text: str, sink: IO[str]) -> None:
    console = Console(
        file=sink, width=WIDTH, height=HEIGHT, force_terminal=True, color_system="256"
    )
    shown = ""
    with Live(Markdown(""), console=console, auto_refresh=False) as live:
        for delta in deltas(text):
            shown += delta
            live.update(Markdown(shown), refresh=True)


def cpu_per_1k(run: Callable[[str, IO[str]], None], tokens: int, sink: IO[str]) -> float:
    text = answer(tokens)
    start = time.process_time()
    run(text, sink)
    return (time.process_time() - start) / (tokens / 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    sizes = parser.parse_args(argv).sizes
    with open(os.devnull, "w", encoding="utf-8") as sink:
        cpu_per_1k(run_markdown, 200, sink)  # warm up imports, lexers and caches
        results = {size: _measure(size, sink, naive=size == sizes[0]) for size in sizes}
    return _report(results, sizes)


def _measure(size: int, sink: IO[str], *, naive: bool) -> dict[str, float]:
    row = {"plain": cpu_per_1k(run_plain, size, sink), "ours": cpu_per_1k(run_markdown, size, sink)}
    if naive:
        row["naive"] = cpu_per_1k(run_naive, size, sink)
    print(
        f"{size:>7} tokens  plain {row['plain']:.4f}  markdown {row['ours']:.4f}"
        + (f"  naive Live {row['naive']:.3f}" if naive else "")
        + "  CPU s / 1 000 tokens",
        flush=True,
    )
    return row


def _report(results: dict[int, dict[str, float]], sizes: list[int]) -> int:
    small, large = results[sizes[0]], results[sizes[-1]]
    flat = large["ours"] / small["ours"]
    speedup = small["naive"] / small["ours"]
    print(f"markdown vs plain at {sizes[0]}: {small['ours'] / small['plain']:.0f}x the cost")
    print(f"flatness: cost/1k at {sizes[-1]} / at {sizes[0]} = {flat:.2f} (goal <= {FLAT_GOAL})")
    print(f"naive Live / markdown at {sizes[0]} = {speedup:.0f}x (goal >= {NAIVE_GOAL:.0f}x)")
    ok = flat <= FLAT_GOAL and speedup >= NAIVE_GOAL
    print("PASS" if ok else "FAIL: a goal was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
