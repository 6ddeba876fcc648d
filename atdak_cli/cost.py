"""What an answer costs, priced from ``[prices."MODEL"]`` (US dollars per million tokens)::

    [prices."atdak-gpt-4"]
    input = 2.50          # a prompt token
    cached_input = 1.25   # a prompt token the server had cached (default: input)
    output = 10.00        # a completion token, reasoning included

A cached prompt token is priced at ``cached_input``, not at the full input price: servers
report them in ``usage.prompt_tokens_details.cached_tokens`` (a part of ``prompt_tokens``).
Reasoning tokens (``usage.completion_tokens_details.reasoning_tokens``) are a part of
``completion_tokens`` and are billed as output; they are counted apart to be shown.

:class:`Budget` is ``--max-cost`` (and a profile's ``daily_budget``): a request whose worst
case (the prompt's estimate plus ``max_tokens`` of output) would exceed it is refused before
it is sent, and a stream whose running cost crosses it is stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from atdak_cli.errors import AppError, ExitStatus

PER_MILLION = 1_000_000


@dataclass(frozen=True)
class TokenCounts:
    """One answer's tokens: ``cached`` is a part of ``prompt``, ``reasoning`` of ``completion``."""

    prompt: int = 0
    completion: int = 0
    cached: int = 0
    reasoning: int = 0

    @classmethod
    def from_usage(cls, usage: Mapping[str, Any] | None) -> TokenCounts:
        """From a ``usage`` object as the server sent it (absent details count 0)."""
        if not usage:
            return cls()
        prompt, completion = (
            _count(usage.get("prompt_tokens")),
            _count(usage.get("completion_tokens")),
        )
        cached = _count(_detail(usage, "prompt_tokens_details", "cached_tokens"))
        reasoning = _count(_detail(usage, "completion_tokens_details", "reasoning_tokens"))
        return cls(prompt, completion, min(cached, prompt), min(reasoning, completion))


def _detail(usage: Mapping[str, Any], table: str, name: str) -> object:
    details = usage.get(table)
    return details.get(name) if isinstance(details, Mapping) else None


def _count(value: object) -> int:
    # Bounded: a count read from the network must not be absurd (int() of 5000 digits fails).
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**12:
        return 0
    return value


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens."""

    input: float
    output: float
    cached_input: float

    def of(self, tokens: TokenCounts) -> float:
        fresh = tokens.prompt - tokens.cached
        spent = fresh * self.input + tokens.cached * self.cached_input
        return (spent + tokens.completion * self.output) / PER_MILLION

    def worst_case(self, prompt_tokens: int, max_tokens: int) -> float:
        """Nothing cached, every allowed token of output spent."""
        return (prompt_tokens * self.input + max_tokens * self.output) / PER_MILLION

    def affordable_output(self, budget: float, prompt_tokens: int) -> int:
        """How many output tokens ``budget`` pays for after the prompt (at full price)."""
        left = budget * PER_MILLION - prompt_tokens * self.input
        if self.output <= 0:
            return 2**31 - 1
        return max(int(left // self.output), 0)


def price_of(prices: Mapping[str, Any], model: str) -> Price | None:
    """The model's price, or None when ``[prices."MODEL"]`` is missing or not numbers."""
    table = prices.get(model)
    if not isinstance(table, Mapping):
        return None
    values = {key: table.get(key, 0) for key in ("input", "output")}
    values["cached_input"] = table.get("cached_input", values["input"])
    if not all(_is_price(v) for v in values.values()):
        return None
    return Price(float(values["input"]), float(values["output"]), float(values["cached_input"]))


def _is_price(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def format_dollars(amount: float) -> str:
    return f"${amount:.6f}" if amount < 0.01 else f"${amount:.4f}"


class BudgetError(AppError):
    """A request that would cost, or did cost, more than the budget allows (exit 5)."""

    status = ExitStatus.RATE_LIMITED


@dataclass
class Budget:
    """At most ``limit`` dollars for one request (``--max-cost``), or what is left of a day's
    budget. ``what`` names it in messages."""

    limit: float
    price: Price
    what: str = "--max-cost"
    prompt_tokens: int = 0
    spent_tokens: int = 0

    @property
    def label(self) -> str:
        """The budget named with its amount: ``--max-cost $0.0100``."""
        return self.what if "$" in self.what else f"{self.what} {format_dollars(self.limit)}"

    def check_request(self, prompt_tokens: int, max_tokens: int | None) -> int:
        """Refuse before sending a request that could exceed the budget; returns the
        ``max_tokens`` to send (the budget's own bound when none was given)."""
        self.prompt_tokens = prompt_tokens
        affordable = self.price.affordable_output(self.limit, prompt_tokens)
        if max_tokens is None:
            if affordable < 1:
                raise self._refusal(self.price.worst_case(prompt_tokens, 1))
            return affordable
        worst = self.price.worst_case(prompt_tokens, max_tokens)
        if worst > self.limit:
            raise self._refusal(worst)
        return max_tokens

    def add_output(self, tokens: int) -> None:
        """Count streamed output; raise once the running cost is over the budget."""
        self.spent_tokens += tokens
        running = self.price.worst_case(self.prompt_tokens, self.spent_tokens)
        if running > self.limit:
            raise BudgetError(
                f"stopped the answer at {format_dollars(running)}: over {self.label}",
                hint="the partial answer is kept; raise the budget to let it finish",
            )

    def _refusal(self, worst: float) -> BudgetError:
        return BudgetError(
            f"not sent: the request could cost up to {format_dollars(worst)}, over {self.label}",
            hint="raise the budget, lower --max-tokens, or send less",
        )


def budget_for(
    *,
    model: str,
    prices: Mapping[str, Any],
    max_cost: float | None,
    daily_budget: float | None = None,
    spent_today: float = 0.0,
    profile: str | None = None,
) -> Budget | None:
    """The tighter of ``--max-cost`` and what is left of the day's budget (None: neither)."""
    limits: list[tuple[float, str]] = []
    if max_cost is not None:
        limits.append((max_cost, "--max-cost"))
    if daily_budget is not None:
        left = max(daily_budget - spent_today, 0.0)
        owner = f"profile {profile}'s" if profile else "the"
        what = (
            f"{owner} daily budget ({format_dollars(left)} left of {format_dollars(daily_budget)})"
        )
        limits.append((left, what))
    if not limits:
        return None
    price = price_of(prices, model)
    if price is None:
        from atdak_cli.errors import UsageError

        raise UsageError(
            f"a budget needs the price of {model}",
            hint=f'add [prices."{model}"] input = ..., output = ... (dollars per million tokens)',
        )
    limit, what = min(limits)
    return Budget(limit, price, what)
