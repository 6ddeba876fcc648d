"""Token usage and its cost: counted or estimated per answer (``--usage``), priced from the
config (``atdak usage`` prints the sums: :mod:`atdak_cli.commands.usage`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from atdak_cli.config import Settings
    from atdak_cli.turn import TurnRequest, TurnResult


@dataclass(frozen=True)
class Tokens:
    prompt: int
    completion: int
    estimated: bool = False

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
        return Tokens(result.usage.prompt_tokens, result.usage.completion_tokens)
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
    """Cost from ``[prices."MODEL"] input = ..., output = ...`` (per million tokens)."""
    price = prices.get(model)
    if not isinstance(price, Mapping):
        return None
    per_input, per_output = price.get("input", 0), price.get("output", 0)
    if not isinstance(per_input, (int, float)) or not isinstance(per_output, (int, float)):
        return None
    return (tokens.prompt * per_input + tokens.completion * per_output) / 1_000_000


def prices_of(settings: Settings) -> Mapping[str, Any]:
    prices = settings.raw_config.get("prices", {})
    return prices if isinstance(prices, Mapping) else {}


def usage_line(request: TurnRequest, result: TurnResult, settings: Settings) -> str:
    tokens = tokens_of(request, result)
    label = "usage (estimated)" if tokens.estimated else "usage"
    line = (
        f"{label}: {tokens.prompt} prompt + {tokens.completion} completion = {tokens.total} tokens"
    )
    spent = cost(prices_of(settings), request.model, tokens)
    return line + (f" · ${spent:.6f}" if spent is not None else "")
