"""``atdak usage``: tokens used (and their cost) by day and model, from the history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from atdak_cli import paths
from atdak_cli.config import Flags
from atdak_cli.history.store import HistoryStore
from atdak_cli.terminal import open_terminal
from atdak_cli.text import format_columns
from atdak_cli.usage import cost, prices_of, row_tokens

if TYPE_CHECKING:
    from atdak_cli.config import Settings
    from atdak_cli.terminal import Terminal


def print_usage_report(*, as_json: bool) -> None:
    settings = Flags().settings()
    report(paths.history_file(), settings, open_terminal(None), as_json=as_json)


def report(path: Path, settings: Settings, terminal: Terminal, *, as_json: bool) -> None:
    with HistoryStore.open(path, readonly=True) as store:
        rows = store.usage_by_day_and_model()
    prices = prices_of(settings)
    data = [
        {
            "day": r.day, "model": r.model, "answers": r.responses,
            "prompt_tokens": r.prompt_tokens, "cached_tokens": r.cached_tokens,
            "completion_tokens": r.completion_tokens, "reasoning_tokens": r.reasoning_tokens,
            "total_tokens": r.total_tokens, "cost": cost(prices, r.model, row_tokens(r)),
        }
        for r in rows
    ]  # fmt: skip
    if as_json:
        terminal.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    if not data:
        terminal.notice("atdak: no token usage recorded yet")
        return
    table = [
        ["DAY", "MODEL", "ANSWERS", "PROMPT", "CACHED", "COMPLETION", "REASONING", "TOTAL", "COST"]
    ]
    for d in data:
        spent = "" if d["cost"] is None else f"${d['cost']:.4f}"
        table.append([str(d[k]) for k in list(d)[:8]] + [spent])
    terminal.stdout.write("\n".join(format_columns(table)) + "\n")
