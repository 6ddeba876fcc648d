"""Token usage and its cost: counted or estimated per answer (``--usage``), priced from the
config (``atdak usage`` prints the sums: :mod:`atdak_cli.commands.usage`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from atdak_cli.config import Settings
    from atdak_cli.history.rows import UsageRow
    from atdak_cli.turn import TurnRequest, TurnResult


@dataclass(frozen=True)
class Tokens:
    prompt: int
    completion: int
    estimated: bool = False
    # Parts of the two above (usage details): priced at the cached price, shown apart.
    cached: int = 0
    reasoning: int = 0

    @property
    def total(self) -> int:
        return self.prompt + self.completion


# OpenAI's chat format adds about this many tokens per message, and to prime the reply.
PER_MESSAGE, PER_REPLY = 4, 3


def tokens_of(request: TurnRequest, result: TurnResult) -> Tokens:
    """The server's counts, or an estimate (no tokenizer is loaded for this): the prompt's
    text plus the chat format's overhead; for the answer, its streamed chunks (most servers
    send one token each), unless they are far fewer than its text makes (llama.cpp sends
    several tokens a chunk)."""
    if result.usage is not None:
        from atdak_cli.cost import TokenCounts

        counts = TokenCounts.from_usage(result.usage.to_dict())
        return Tokens(
            counts.prompt, counts.completion, cached=counts.cached, reasoning=counts.reasoning
        )
    prompt = sum(typical_tokens(m["content"]) + PER_MESSAGE for m in request.messages)
    from_text = typical_tokens(result.text)
    completion = result.chunks if result.chunks * 2 > from_text else from_text
    return Tokens(prompt + PER_REPLY, completion, estimated=True)


def typical_tokens(text: str) -> int:
    """About how many tokens ``text`` makes: ~4 characters a token for ASCII (English, code),
    one a token for other characters (a CJK character is one or two tokens)."""
    ascii_chars = len(text.encode("ascii", "ignore"))
    return -(-ascii_chars // 4) + len(text) - ascii_chars


def cost(prices: Mapping[str, Any], model: str, tokens: Tokens) -> float | None:
    """Cost from ``[prices."MODEL"]`` (see :mod:`atdak_cli.cost`); None without a price."""
    from atdak_cli.cost import TokenCounts, price_of

    price = price_of(prices, model)
    if price is None:
        return None
    return price.of(TokenCounts(tokens.prompt, tokens.completion, tokens.cached, tokens.reasoning))


def prices_of(settings: Settings) -> Mapping[str, Any]:
    prices = settings.raw_config.get("prices", {})
    return prices if isinstance(prices, Mapping) else {}


def usage_line(request: TurnRequest, result: TurnResult, settings: Settings) -> str:
    tokens = tokens_of(request, result)
    label = "usage (estimated)" if tokens.estimated else "usage"
    cached = f" ({tokens.cached} cached)" if tokens.cached else ""
    reasoning = f" ({tokens.reasoning} reasoning)" if tokens.reasoning else ""
    line = (
        f"{label}: {tokens.prompt} prompt{cached} + {tokens.completion} completion{reasoning}"
        f" = {tokens.total} tokens"
    )
    spent = cost(prices_of(settings), request.model, tokens)
    return line + (f" · ${spent:.6f}" if spent is not None else "")


def row_tokens(row: UsageRow) -> Tokens:
    return Tokens(
        row.prompt_tokens,
        row.completion_tokens,
        cached=row.cached_tokens,
        reasoning=row.reasoning_tokens,
    )


def spent_today(path: Path, settings: Settings) -> float:
    """What the settings' profile spent today (local time), priced; 0 without a history."""
    import datetime

    from atdak_cli.history.store import HistoryStore

    if not path.exists():
        return 0.0
    today = datetime.date.today().isoformat()
    with HistoryStore.open(path, readonly=True) as store:
        rows = store.usage_by_day_and_model(day=today, profile=settings.profile)
    prices = prices_of(settings)
    return sum(cost(prices, r.model, row_tokens(r)) or 0.0 for r in rows)
