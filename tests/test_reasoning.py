"""The thinking splitter: every shape of reasoning, a <think> tag split anywhere."""

from __future__ import annotations

import pytest

from atdak_cli.reasoning import ThinkSplitter, check_effort, reasoning_tokens, split_text

THOUGHT, ANSWER = "Let me count: 2 + 2 is 4, no < or > tricks.", "The answer is **4**."
INLINE = f"<think>\n{THOUGHT}\n</think>\n\n{ANSWER}"


def run(deltas: list[str], reasoning: list[str] | None = None) -> tuple[str, str]:
    splitter = ThinkSplitter()
    thought, answer = [], []
    for i, content in enumerate(deltas):
        extra = reasoning[i] if reasoning and i < len(reasoning) else ""
        r, a = splitter.feed(content, extra)
        thought.append(r)
        answer.append(a)
    r, a = splitter.finish()
    return "".join(thought) + r, "".join(answer) + a


@pytest.mark.parametrize("cut", range(1, len(INLINE)))
def test_inline_think_split_in_two_at_every_position(cut: int) -> None:
    thought, answer = run([INLINE[:cut], INLINE[cut:]])
    assert (thought.strip(), answer) == (THOUGHT, ANSWER)


def test_inline_think_one_character_per_delta() -> None:
    thought, answer = run(list(INLINE))
    assert (thought.strip(), answer) == (THOUGHT, ANSWER)


@pytest.mark.parametrize("first", range(1, 12))
def test_inline_think_split_in_three_around_both_tags(first: int) -> None:
    close = INLINE.index("</think>")
    for second in range(close - 2, close + 10):
        if first < second:
            thought, answer = run([INLINE[:first], INLINE[first:second], INLINE[second:]])
            assert (thought.strip(), answer) == (THOUGHT, ANSWER), (first, second)


def test_answer_without_thinking_passes_through_delta_by_delta() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("Hello") == ("", "Hello")
    assert splitter.feed(" <think>x</think>") == ("", " <think>x</think>")  # not at the start
    assert splitter.finish() == ("", "")
    assert not splitter.saw_inline


def test_a_think_tag_after_the_start_is_answer_text() -> None:
    text = "Models write <think>…</think> before answering."
    assert split_text(text) == ("", text)


def test_leading_blank_space_before_the_tag_is_allowed() -> None:
    assert run(["\n ", " <thi", "nk>idea</th", "ink>ok"]) == ("idea", "ok")


def test_content_that_only_looks_like_the_tag_start_is_released() -> None:
    assert run(["<th", "is is not a tag"]) == ("", "<this is not a tag")
    assert run(["<thi"]) == ("", "<thi")  # the stream ended undecided


def test_unclosed_think_is_all_reasoning() -> None:
    assert run(["<think>still going", " and </thi"]) == ("still going and </thi", "")


def test_reasoning_fields_pass_through_beside_content() -> None:
    assert run(["", "", "Four."], reasoning=["Two and ", "two.", ""]) == ("Two and two.", "Four.")


def test_reasoning_field_and_inline_tag_together_are_both_reasoning() -> None:
    thought, answer = run(["<think>b</think>A"], reasoning=["a"])
    assert (thought, answer) == ("ab", "A")


def test_nothing_is_lost_whatever_the_split() -> None:
    text = "<think>a</think>"
    for cut in range(len(text) + 1):
        assert run([text[:cut], text[cut:]]) == ("a", "")


def test_reasoning_tokens_from_usage_details() -> None:
    usage = {"completion_tokens": 90, "completion_tokens_details": {"reasoning_tokens": 64}}
    assert reasoning_tokens(usage) == 64
    assert reasoning_tokens({"completion_tokens_details": {"reasoning_tokens": True}}) == 0
    assert reasoning_tokens({"completion_tokens_details": None}) == 0
    assert reasoning_tokens(None) == 0


def test_effort_values() -> None:
    assert check_effort(" High ") == "high"
    with pytest.raises(ValueError, match="low, medium, high"):
        check_effort("max")
