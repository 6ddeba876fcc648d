"""Pricing with cached and reasoning tokens, and the budget that refuses or stops a request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from atdak_cli.client import AtdakClient
from atdak_cli.cost import Budget, BudgetError, Price, TokenCounts, price_of
from atdak_cli.errors import ExitStatus
from atdak_cli.turn import TurnRequest, run_turn
from tests.utils.api_server import FakeAPIServer, stream

PRICES = {"m": {"input": 2.5, "cached_input": 1.25, "output": 10.0}}
USAGE = {
    "prompt_tokens": 1000,
    "completion_tokens": 300,
    "total_tokens": 1300,
    "prompt_tokens_details": {"cached_tokens": 800},
    "completion_tokens_details": {"reasoning_tokens": 200},
}


def test_usage_details_are_read() -> None:
    assert TokenCounts.from_usage(USAGE) == TokenCounts(1000, 300, cached=800, reasoning=200)


def test_cached_tokens_are_priced_at_the_cached_price() -> None:
    price = price_of(PRICES, "m")
    assert price is not None
    # 200 fresh x 2.5 + 800 cached x 1.25 + 300 out (200 of them reasoning) x 10, per million.
    assert price.of(TokenCounts.from_usage(USAGE)) == pytest.approx(0.0045, abs=1e-12)
    # The old reckoning (every prompt token at the input price) was 0.0055.


def test_cached_price_defaults_to_the_input_price() -> None:
    assert price_of({"m": {"input": 3, "output": 6}}, "m") == Price(3.0, 6.0, 3.0)


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 99}},  # more than all
        {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": "5"}},
        {"prompt_tokens": 10, "prompt_tokens_details": None},
        {"prompt_tokens": 10, "completion_tokens": 10**40},
    ],
)
def test_odd_details_never_over_count(usage: dict[str, object]) -> None:
    counts = TokenCounts.from_usage(usage)
    assert counts.prompt == 10 and counts.cached in (0, 10) and counts.completion == 0


def test_prices_that_are_not_numbers_are_no_price() -> None:
    assert price_of({"m": {"input": "1", "output": 2}}, "m") is None
    assert price_of({"m": {"input": True, "output": 2}}, "m") is None
    assert price_of({}, "m") is None


def test_budget_refuses_a_request_whose_worst_case_exceeds_it() -> None:
    budget = Budget(0.01, Price(2.5, 10.0, 1.25))
    # 1000 prompt tokens (0.0025) + 1000 output (0.01) = 0.0125 > 0.01
    with pytest.raises(BudgetError, match=r"up to \$0.0125, over --max-cost \$0.0100") as caught:
        budget.check_request(1000, 1000)
    assert caught.value.status == ExitStatus.RATE_LIMITED
    assert budget.check_request(1000, 750) == 750  # exactly the budget is allowed


def test_budget_without_max_tokens_sends_what_it_affords() -> None:
    budget = Budget(0.01, Price(2.5, 10.0, 1.25))
    assert budget.check_request(1000, None) == 750
    with pytest.raises(BudgetError):
        budget.check_request(4000, None)  # the prompt alone costs the budget


@pytest.fixture
def client(api: FakeAPIServer) -> Iterator[AtdakClient]:
    with AtdakClient(api_key="sk-test", base_url=api.base_url) as made:
        yield made


def test_budget_stops_a_stream_that_crosses_it(api: FakeAPIServer, client: AtdakClient) -> None:
    # 1 $ per token of output: a budget of 5.5 $ pays for five tokens, not six.
    api.enqueue(stream([f"w{n} " for n in range(50)]))
    budget = Budget(5.5, Price(0.0, 1_000_000.0, 0.0))
    request = TurnRequest(model="m", messages=[{"role": "user", "content": "q"}], params={})
    request.budget = budget
    with pytest.raises(BudgetError, match=r"stopped the answer at \$6.0000"):
        run_turn(client, request, renderer=None)
    assert budget.spent_tokens == 6
