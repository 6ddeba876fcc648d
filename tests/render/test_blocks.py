"""The incremental Markdown block splitter: where blocks end, and independence from deltas."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from atdak_cli.render.blocks import BlockSplitter, split_blocks


def stream(pieces: list[str]) -> list[str]:
    splitter = BlockSplitter()
    blocks: list[str] = []
    for piece in pieces:
        blocks += splitter.feed(piece)
    return blocks + splitter.finish()


def test_paragraphs_end_at_blank_lines() -> None:
    assert split_blocks("one\ntwo\n\n\nthree\n") == ["one\ntwo", "three"]


def test_atx_heading_and_thematic_break_are_one_line_blocks() -> None:
    assert split_blocks("# Title\ntext\n***\n## Sub") == ["# Title", "text", "***", "## Sub"]


def test_setext_underline_ends_the_heading() -> None:
    assert split_blocks("Title\n=====\nBody\nmore\n---\nnext") == [
        "Title\n=====",
        "Body\nmore\n---",
        "next",
    ]


def test_fenced_code_keeps_blank_lines_and_markdown_inside() -> None:
    text = "```python\ndef f():\n\n    # not a heading\n    return 1\n```\nafter"
    assert split_blocks(text) == [text.removesuffix("\nafter"), "after"]


def test_tilde_fence_and_longer_fence_need_a_matching_closer() -> None:
    text = "````markdown\n```python\nx = 1\n```\n````\n~~~\n```\n~~~"
    assert split_blocks(text) == ["````markdown\n```python\nx = 1\n```\n````", "~~~\n```\n~~~"]


def test_fence_interrupts_a_paragraph() -> None:
    assert split_blocks("Run this:\n```sh\nls\n```") == ["Run this:", "```sh\nls\n```"]


def test_unclosed_fence_is_completed_by_finish() -> None:
    assert split_blocks("```js\nlet a = 1;") == ["```js\nlet a = 1;"]


def test_list_with_continuation_lines_nested_items_and_fences_is_one_block() -> None:
    text = (
        "- first item\n  continued\nlazy continuation\n\n"
        "  second paragraph of the item\n"
        "  - nested\n"
        "- with code:\n\n  ```python\n  x = 1\n\n  y = 2\n  ```\n"
        "1. ordered too"
    )
    assert split_blocks(text + "\n\nAfter the list.") == [text, "After the list."]


def test_list_ends_at_a_line_that_starts_another_block() -> None:
    assert split_blocks("- a\n- b\n# Head\n- c\n```\ncode\n```") == [
        "- a\n- b",
        "# Head",
        "- c",
        "```\ncode\n```",
    ]


def test_list_item_interrupts_paragraph_only_when_commonmark_allows() -> None:
    assert split_blocks("Steps:\n1. one\n2. two") == ["Steps:", "1. one\n2. two"]
    assert split_blocks("It was in\n1986. A year") == ["It was in\n1986. A year"]


def test_table_is_one_block_until_a_blank_line() -> None:
    table = "| a | b |\n|---|:-:|\n| 1 | 2 |\n| 中文 | 🚀 |"
    assert split_blocks(f"{table}\n\ntext") == [table, "text"]


def test_block_quote_with_lazy_continuation() -> None:
    assert split_blocks("> one\n> two\nlazy\n\n> other") == ["> one\n> two\nlazy", "> other"]


def test_crlf_line_endings_split_across_deltas() -> None:
    assert stream(["one\r", "\ntwo\r\n\r", "\n# H\r\n"]) == ["one\ntwo", "# H"]


def test_tail_is_the_unfinished_block_including_the_partial_line() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("Para one.\n\n```py\nx = ") == ["Para one."]
    assert splitter.tail() == "```py\nx = "
    assert splitter.feed("1\n``") == []
    assert splitter.tail() == "```py\nx = 1\n``"
    assert splitter.feed("`\n") == ["```py\nx = 1\n```"]
    assert splitter.tail() == ""


def test_a_completed_block_is_reported_as_soon_as_its_last_line_ends() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("# Heading") == []
    assert splitter.feed("\n") == ["# Heading"]


MARKDOWN_PIECES = [
    "# Title\n", "## Sub\n", "Text with *em* and `code`.\n", "中文字符，🚀 emoji 🎉\n", "\n",
    "- item\n", "  - nested\n", "  continued\n", "1. first\n", "10) tenth\n", "> quote\n",
    "lazy line\n", "```python\n", "````\n", "```\n", "~~~\n", "~~~rust\n", "    indented\n",
    "| a | b |\n", "|---|---|\n", "| 1 | 2 |\n", "---\n", "===\n", "***\n", "\r\n", "x\r\n",
]


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.sampled_from(MARKDOWN_PIECES), max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=30),
)
def test_blocks_do_not_depend_on_where_the_deltas_are_cut(
    parts: list[str], cuts: list[int]
) -> None:
    text = "".join(parts)
    bounds = sorted({0, len(text), *(c for c in cuts if c < len(text))})
    pieces = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    assert stream(pieces) == split_blocks(text)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.sampled_from(MARKDOWN_PIECES), max_size=40))
def test_every_non_blank_line_lands_in_exactly_one_block_in_order(parts: list[str]) -> None:
    text = "".join(parts)
    lines_in = [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()]
    lines_out = [ln for block in split_blocks(text) for ln in block.split("\n") if ln.strip()]
    assert lines_out == lines_in


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.sampled_from(MARKDOWN_PIECES), max_size=30),
    cut=st.integers(min_value=0, max_value=1000),
)
def test_completed_blocks_plus_tail_are_everything_fed_so_far(parts: list[str], cut: int) -> None:
    text = "".join(parts)[:cut]
    splitter = BlockSplitter()
    done = splitter.feed(text)
    seen = [ln for block in [*done, splitter.tail()] for ln in block.split("\n") if ln.strip()]
    assert seen == [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()]


def test_the_tail_never_ends_in_half_a_crlf() -> None:
    # A CR alone moves the cursor to column 0: it must not reach the live region raw.
    splitter = BlockSplitter()
    assert splitter.feed("```\nx\r") == []
    assert splitter.tail() == "```\nx"
    assert splitter.feed("\ny\tz\n```\n") == ["```\nx\ny   z\n```"]
