"""What a request is allowed to cost: ``--max-cost`` and a profile's ``daily_budget``
(:class:`atdak_cli.cost.Budget`), applied to a request before it is sent, with the reasoning
effort the settings ask for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from atdak_cli.cost import Budget, budget_for
from atdak_cli.usage import PER_MESSAGE, PER_REPLY, prices_of, spent_today, typical_tokens

if TYPE_CHECKING:
    from atdak_cli.config import Settings
    from atdak_cli.turn import TurnRequest


def estimate_prompt_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """The prompt's size as the budget counts it (see :func:`atdak_cli.usage.tokens_of`)."""
    text = (m.get("content") for m in messages)
    return sum(typical_tokens(t) + PER_MESSAGE for t in text if isinstance(t, str)) + PER_REPLY


def apply_budget(request: TurnRequest, budget: Budget | None) -> None:
    """Refuse the request if it could exceed ``budget``; else bound its ``max_tokens`` and
    let the turn stop its stream once it crosses it."""
    if budget is None:
        return
    wanted = request.params.get("max_tokens")
    prompt = estimate_prompt_tokens(request.messages)
    request.params["max_tokens"] = budget.check_request(prompt, wanted)
    request.budget = budget


def apply_request_options(request: TurnRequest, settings: Settings) -> None:
    """The reasoning effort and the budget (refused here, before sending, if over it)."""
    if settings.reasoning_effort:
        # Sent as is: the servers that know it use it, the others ignore it.
        request.params["reasoning_effort"] = settings.reasoning_effort
    budget = budget_for(
        model=request.model,
        prices=prices_of(settings),
        max_cost=settings.max_cost,
        daily_budget=settings.daily_budget,
        spent_today=_spent_today(settings) if settings.daily_budget is not None else 0.0,
        profile=settings.profile,
    )
    apply_budget(request, budget)


def _spent_today(settings: Settings) -> float:
    from atdak_cli import paths

    return spent_today(paths.history_file(), settings)
