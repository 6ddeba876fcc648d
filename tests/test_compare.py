"""The fan-out of one conversation to several models, and the side-by-side layout."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from atdak_cli.client import AtdakClient
from atdak_cli.compare import Contender, compare, split_target, write_json_lines
from atdak_cli.cost import Price
from atdak_cli.render.side_by_side import CompareView, Pane, layout, live_layout, wrap_words
from atdak_cli.text import cell_width
from atdak_cli.turn import TurnRequest
from tests.utils.api_server import (
    FakeAPIServer,
    RecordedRequest,
    Reply,
    error,
    respond_with,
    stream,
)

QUESTION = [{"role": "user", "content": "Name a colour."}]
ANSWERS = {
    "fast": "Red is the colour of fire and of the word 春天 in red ink.",
    "medium": "Green, like grass in spring, and like the light that says go.",
    "slow": "Blue: the sky, the sea, and a great many songs about both of them.",
}


def by_model(request: RecordedRequest) -> Reply:
    model = request.json()["model"]
    if model == "broken":
        return error(500, "overloaded")
    words = [w + " " for w in ANSWERS[model].split(" ")]
    delay = {"fast": 0.0, "medium": 0.01, "slow": 0.03}[model]
    usage = {
        "prompt_tokens": 12,
        "completion_tokens": len(words),
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    return stream(words, delay=delay, usage=usage, model=model)


@pytest.fixture
def client(api: FakeAPIServer) -> Iterator[AtdakClient]:
    api.set_default(respond_with(by_model))
    with AtdakClient(api_key="sk-test", base_url=api.base_url, max_retries=0) as made:
        yield made


def contender(client: AtdakClient, model: str) -> Contender:
    request = TurnRequest(model=model, messages=QUESTION, params={})
    return Contender(model, client, request, Price(1.0, 2.0, 0.5))


def test_every_model_answers_with_its_own_figures(client: AtdakClient, api: FakeAPIServer) -> None:
    outcomes = compare([contender(client, m) for m in ("slow", "fast", "medium")])
    assert [o.label for o in outcomes] == ["slow", "fast", "medium"]  # the order given
    for outcome in outcomes:
        assert outcome.result.text.strip() == ANSWERS[outcome.label]
        words = len(ANSWERS[outcome.label].split(" "))
        assert (outcome.tokens.prompt, outcome.tokens.completion) == (12, words)
        assert (outcome.tokens.cached, outcome.tokens.reasoning) == (4, 2)
        # 8 fresh x 1 + 4 cached x 0.5 + completion x 2, per million
        assert outcome.cost == pytest.approx((8 + 2 + 2 * words) / 1e6)
        assert outcome.first_token is not None and 0 < outcome.first_token <= outcome.total
    slow, fast, _ = outcomes
    assert fast.total < slow.total
    assert {r.json()["messages"][0]["content"] for r in api.requests} == {"Name a colour."}


def test_one_model_failing_stops_no_other(client: AtdakClient) -> None:
    broken, fast = compare([contender(client, "broken"), contender(client, "fast")])
    assert broken.result.status == "error" and broken.error is not None
    assert "overloaded" in (broken.result.error or "")
    assert fast.result.status == "complete" and fast.result.text.strip() == ANSWERS["fast"]


def test_json_is_one_valid_object_per_model(client: AtdakClient) -> None:
    out = io.StringIO()
    write_json_lines(compare([contender(client, m) for m in ("fast", "slow")]), out)
    objects = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [o["model"] for o in objects] == ["fast", "slow"]
    assert objects[0]["answer"].strip() == ANSWERS["fast"]
    assert objects[0]["cached_tokens"] == 4 and objects[0]["reasoning_tokens"] == 2
    assert objects[0]["first_token_seconds"] <= objects[0]["total_seconds"]


def test_view_streams_then_prints_every_answer_whole(client: AtdakClient) -> None:
    out = io.StringIO()
    models = ["fast", "medium", "slow"]
    view = CompareView(out, models, live=True, size=lambda: (160, 24))
    outcomes = compare([contender(client, m) for m in models], view=view)
    view.finish([o.figures() for o in outcomes])
    final = out.getvalue().rsplit("\x1b[J", 1)[-1]
    for model in models:
        assert model in final
    flat = " ".join(final.split())
    for answer in ANSWERS.values():
        for word in answer.split(" "):
            assert word in flat


def test_split_target() -> None:
    profiles = {"work"}
    assert split_target("work:atdak-gpt-4", profiles) == ("work", "atdak-gpt-4")
    assert split_target("local", profiles) == (None, "local")
    assert split_target("work:", profiles) == ("work", None)
    assert split_target("llama3:8b", profiles) == (None, "llama3:8b")


def test_wrap_words_keeps_every_character_within_the_width() -> None:
    text = "a 春天的诗歌很长很长 supercalifragilisticexpialidocious word\nnext"
    lines = wrap_words(text, 8)
    assert all(cell_width(line) <= 8 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "").replace("\n", "")


def test_layout_is_columns_when_wide_and_blocks_when_narrow() -> None:
    panes = [Pane(m, ANSWERS[m], figures=[f"total {i} s"]) for i, m in enumerate(ANSWERS)]
    wide = layout(panes, 160, bold=False)
    assert wide[0].split(" │ ") == ["fast" + " " * 47, "medium" + " " * 45, "slow"]  # 51 cells each
    assert all(cell_width(line) < 160 for line in wide)
    narrow = layout(panes, 80, bold=False)
    assert [narrow.index(m) for m in ANSWERS] == sorted(narrow.index(m) for m in ANSWERS)
    assert "│" not in "".join(narrow)
    assert all(cell_width(line) < 80 for line in narrow)


@pytest.mark.parametrize("size", [(160, 24), (80, 24), (40, 10)])
def test_live_layout_never_fills_the_screen(size: tuple[int, int]) -> None:
    panes = [Pane(m, ANSWERS[m] * 20, status="answering") for m in ANSWERS]
    lines = live_layout(panes, *size)
    assert len(lines) <= size[1] - 2
    assert all(cell_width(line) < size[0] for line in lines)
