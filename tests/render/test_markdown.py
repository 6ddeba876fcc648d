"""The streamed Markdown renderer, judged by what a person sees: every byte goes into a pyte
terminal (80x24 with scrollback) and the screen plus scrollback is compared with printing the
complete answer once."""

from __future__ import annotations

import heapq
import io
import itertools
import re
import time
from collections import Counter
from collections.abc import Callable

import pyte
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from wcwidth import wcswidth

from atdak_cli.render import make_renderer
from atdak_cli.render.markdown import (
    CONTINUED,
    SHOW_CURSOR,
    BlockPainter,
    ColorName,
    Kind,
    Line,
    MarkdownPrinter,
    MarkdownRenderer,
    _rows_after_resize,
    render_answer,
)
from atdak_cli.render.plain import PlainRenderer
from atdak_cli.terminal import Terminal

COLS, ROWS = 80, 24
COLORS: ColorName = "256"


class SimulatedTime:
    """An injected clock and scheduler: timers fire when the test moves time past them."""

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

    @property
    def pending(self) -> int:
        return len(self._timers)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while self._timers and self._timers[0][0] <= self.now:
            heapq.heappop(self._timers)[2]()


class Screen:
    """A pyte terminal with scrollback fed with everything the renderer writes."""

    def __init__(self, cols: int = COLS, rows: int = ROWS) -> None:
        self.size = (cols, rows)
        self.screen = pyte.HistoryScreen(cols, rows, history=100_000)
        self.stream = pyte.Stream(self.screen)

    def feed(self, data: str) -> None:
        # The tty's ONLCR turns "\n" into "\r\n" on the way to a real terminal.
        self.stream.feed(data.replace("\n", "\r\n"))

    def resize(self, cols: int) -> None:
        self.size = (cols, self.size[1])
        self.screen.resize(self.size[1], cols)

    def transcript(self) -> list[tuple[pyte.screens.Char, ...]]:
        """Scrollback then screen, each row's cells with their attributes, trailing blanks cut."""
        rows = [*self.screen.history.top, *(self.screen.buffer[y] for y in range(self.size[1]))]
        cut = [_trim(tuple(row[x] for x in range(self.size[0]))) for row in rows]
        while cut and not cut[-1]:
            cut.pop()
        return cut

    def text(self) -> list[str]:
        return ["".join(char.data for char in row) for row in self.transcript()]


def _trim(row: tuple[pyte.screens.Char, ...]) -> tuple[pyte.screens.Char, ...]:
    blank = pyte.screens.Char(" ")
    end = len(row)
    while end and row[end - 1] == blank:
        end -= 1
    return row[:end]


class Sink(io.StringIO):
    """stdout that forwards every write to the pyte terminal."""

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.screen = screen

    def write(self, text: str) -> int:
        self.screen.feed(text)
        return super().write(text)


def make(screen: Screen, sim: SimulatedTime, *, color: bool = True) -> MarkdownRenderer:
    terminal = Terminal(stdout=Sink(screen), stdout_isatty=True, color=color, width=COLS)
    return MarkdownRenderer(
        terminal,
        clock=sim.clock,
        schedule=sim.schedule,
        size=lambda: screen.size,
        color_system=COLORS if color else None,
    )


def reference(text: str, *, reasoning: str = "") -> Screen:
    screen = Screen()
    screen.feed(render_answer(text, width=COLS, color_system=COLORS, reasoning=reasoning))
    return screen


def stream(text: str, cuts: list[int], steps: list[float]) -> tuple[Screen, MarkdownRenderer]:
    screen, sim = Screen(), SimulatedTime()
    renderer = make(screen, sim)
    renderer.start()
    bounds = sorted({0, len(text), *(c for c in cuts if 0 < c < len(text))})
    for n, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        renderer.feed(text[a:b])
        sim.advance(steps[n % len(steps)] if steps else 0.01)
    renderer.finish()
    return screen, renderer


PYTHON_ANSWER = """# Reading a file in Python

Use a **context manager** so the file is *always* closed, even on errors. See the
[docs](https://docs.python.org/3/tutorial/inputoutput.html) for `open()`.

```python
from pathlib import Path

def read_lines(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return [line.rstrip("\\n") for line in handle]
```

Key points:

1. `encoding` should be explicit.
2. `Path.read_text()` is shorter for small files:
   ```python
   text = Path("notes.txt").read_text()
   ```
3. Large files: iterate line by line.

| Method | Memory | Speed |
|--------|--------|-------|
| `read()` | whole file | fast |
| iteration | one line | fast |

> **Tip:** on Windows the default encoding is not UTF-8.
"""

CJK_ANSWER = """## 配置说明 🚀

这是一个很长的中文段落，用于测试宽字符的换行是否正确：终端中的每个汉字占两个单元格，
所以换行必须按照单元格宽度计算，而不是按照字符数量计算。混合 English words 和 emoji 🎉🎉 也要正确。

- 第一项：安装依赖 ✅
- 第二项：运行 `atdak chat`
  - 子项：日本語のテキストも表示できます 😀
- 第三项

| 名称 | 说明 |
|------|------|
| 模型 | 中文模型 🚀 |
| 温度 | 0.7 |

```javascript
// 注释也可以是中文
const greet = (name) => `你好, ${name} 🎉`;
console.log(greet("世界"));
```
"""

NESTED_ANSWER = """Setext Title
============

Intro paragraph with a hard
wrapped second line.

Subtitle
--------

* Outer item with continuation
  text on the next line.

  A second paragraph inside the item.

  ~~~bash
  echo "inside a list"

  echo "after a blank line"
  ~~~
* Another outer item
    * deeply nested item
    * another nested

````markdown
Here is how to write a fence:
```python
print("hi")
```
````

---

> A quote that spans
> two lines, then
lazily continues.

10. starting at ten
11. eleven
"""

RUST_LINES = "\n".join(f"    let v{i} = compute({i}) * {i % 7}; // line {i}" for i in range(130))
TALL_ANSWER = (
    "# A very long answer\n\n"
    + "\n\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 6 for i in range(25))
    + "\n\n```rust\nfn main() {\n"
    + RUST_LINES
    + "\n}\n```\n\n"
    + "\n".join(f"- list item number {i} with some text" for i in range(70))
    + "\n"
)

CORPUS = [PYTHON_ANSWER, CJK_ANSWER, NESTED_ANSWER, TALL_ANSWER]


def test_tall_answer_is_ten_times_the_screen() -> None:
    assert len(reference(TALL_ANSWER).transcript()) > 10 * ROWS


def test_corpus_wide_characters_have_the_same_width_in_rich_and_the_terminal() -> None:
    for text in CORPUS:
        for char in set(text) - set(" \n"):
            assert cell_len(char) == wcswidth(char), char


def _interesting_cuts(text: str) -> list[int]:
    """Offsets inside fence markers, table rows, and next to multi-byte characters."""
    marks = {m.start() + 1 for m in re.finditer(r"```|~~~|\|", text)}
    marks |= {i for i, c in enumerate(text) if ord(c) > 127} | {
        i + 1 for i, c in enumerate(text) if ord(c) > 127
    }
    return sorted(marks)


@st.composite
def cut_points(draw: st.DrawFn, text: str) -> list[int]:
    interesting = _interesting_cuts(text)
    special = draw(st.lists(st.sampled_from(interesting), max_size=40))
    anywhere = draw(st.lists(st.integers(0, len(text)), max_size=80))
    return special + anywhere


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_streaming_in_any_pieces_leaves_the_same_screen_and_scrollback(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(CORPUS))
    cuts = data.draw(cut_points(text))
    steps = data.draw(st.lists(st.floats(0, 0.08), min_size=1, max_size=5))
    screen, _ = stream(text, cuts, steps)
    assert screen.transcript() == reference(text).transcript()
    assert not screen.screen.cursor.hidden
    assert screen.screen.cursor.x == 0


def test_tall_answer_streamed_token_by_token_has_no_duplicated_or_missing_lines() -> None:
    # 4-character tokens at 500 a second: a redraw about every 17 tokens.
    screen, _ = stream(TALL_ANSWER, list(range(0, len(TALL_ANSWER), 4)), [0.002])
    lines = screen.text()
    assert lines == reference(TALL_ANSWER).text()
    code = [int(n) for line in lines for n in re.findall(r"// line (\d+)", line)]
    items = [int(n) for line in lines for n in re.findall(r"number (\d+) with", line)]
    assert (code, items) == (list(range(130)), list(range(70)))


def test_live_region_never_moves_up_further_than_the_screen_allows() -> None:
    screen, sim = Screen(), SimulatedTime()
    out = Sink(screen)
    terminal = Terminal(stdout=out, stdout_isatty=True, color=True, width=COLS)
    renderer = MarkdownRenderer(
        terminal, clock=sim.clock, schedule=sim.schedule, size=lambda: screen.size
    )
    renderer.start()
    for line in TALL_ANSWER.splitlines(keepends=True):
        renderer.feed(line)
        sim.advance(0.05)
    renderer.finish()
    ups = [int(n) for n in re.findall(r"\x1b\[(\d+)F", out.getvalue())]
    assert ups
    assert max(ups) <= ROWS - 1


def test_open_code_fence_is_shown_highlighted_while_it_grows() -> None:
    screen, sim = Screen(), SimulatedTime()
    renderer = make(screen, sim)
    renderer.start()
    renderer.feed("```python\ndef f(x):\n    return x")
    row = next(r for r in screen.transcript() if "def" in "".join(c.data for c in r))
    colours = {char.fg for char in row if char.data.strip()}
    assert len(colours) > 1, "keywords and names are highlighted differently"
    renderer.finish()


def test_first_delta_is_drawn_at_once() -> None:
    screen, sim = Screen(), SimulatedTime()
    renderer = make(screen, sim)
    renderer.start()
    renderer.feed("Hel")
    assert screen.text() == ["Hel"]
    assert screen.screen.cursor.hidden
    renderer.finish()


def test_throttled_deltas_are_drawn_within_one_refresh_interval_latest_state_wins() -> None:
    screen, sim = Screen(), SimulatedTime()
    out = Sink(screen)
    renderer = MarkdownRenderer(
        Terminal(stdout=out, stdout_isatty=True, color=True, width=COLS),
        clock=sim.clock,
        schedule=sim.schedule,
        size=lambda: screen.size,
        color_system=COLORS,
    )
    renderer.start()
    renderer.feed("Hel")
    writes = len(out.getvalue())
    for piece in ["lo", ", ", "wor", "ld"]:
        sim.now += 0.001
        renderer.feed(piece)
    assert len(out.getvalue()) == writes, "no redraw inside the refresh interval"
    assert sim.pending == 1, "one pending redraw, not a queue of stale frames"
    sim.advance(1 / 30)
    assert screen.text() == ["Hello, world"]
    renderer.finish()
    assert screen.text() == ["Hello, world"]


def test_abort_mid_code_block_keeps_what_was_shown_once_and_restores_the_cursor() -> None:
    text = PYTHON_ANSWER[: PYTHON_ANSWER.index("return [line")]
    screen, sim = Screen(), SimulatedTime()
    renderer = make(screen, sim)
    renderer.start()
    try:
        for char in text:
            renderer.feed(char)
            sim.advance(0.01)
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        renderer.abort()
    assert screen.transcript() == reference(text).transcript()
    assert not screen.screen.cursor.hidden
    assert screen.screen.cursor.x == 0
    assert sim.pending == 0


def test_abort_output_ends_with_newline_and_visible_cursor() -> None:
    out = io.StringIO()
    renderer = MarkdownRenderer(
        Terminal(stdout=out, stdout_isatty=True, color=True, width=COLS),
        clock=lambda: 0.0,
        size=lambda: (COLS, ROWS),
        color_system=COLORS,
    )
    renderer.start()
    renderer.feed("partial *answer")
    renderer.abort()
    renderer.abort()
    value = out.getvalue()
    assert value.endswith("\n" + SHOW_CURSOR)
    assert value.count(SHOW_CURSOR) == 1


def test_finish_restores_the_cursor_even_if_rendering_fails() -> None:
    class Broken(io.StringIO):
        fail = False

        def write(self, text: str) -> int:
            if self.fail and text != SHOW_CURSOR:
                raise OSError("boom")
            return super().write(text)

    out = Broken()
    renderer = MarkdownRenderer(
        Terminal(stdout=out, stdout_isatty=True, color=True, width=COLS),
        clock=lambda: 0.0,
        size=lambda: (COLS, ROWS),
        color_system=COLORS,
    )
    renderer.feed("text")
    out.fail = True
    with pytest.raises(OSError):
        renderer.finish()
    assert out.getvalue().endswith(SHOW_CURSOR)


def test_empty_answer_writes_nothing() -> None:
    out = io.StringIO()
    renderer = MarkdownRenderer(Terminal(stdout=out, width=COLS), size=lambda: (COLS, ROWS))
    renderer.start()
    renderer.finish()
    assert out.getvalue() == ""


def test_cjk_and_emoji_wrap_on_cell_width_without_splitting_characters() -> None:
    text = "这是一个很长的中文句子用于测试换行🚀" * 8
    screen, _ = stream(text, list(range(0, len(text), 2)), [0.01])
    rows = screen.text()
    assert "".join(rows) == text
    widths = [cell_len(row) for row in rows]
    assert widths == [COLS, COLS, COLS, cell_len(text) - 3 * COLS]


def test_reasoning_is_shown_dimmed_before_the_answer() -> None:
    reasoning, answer = "The user wants a greeting.\nKeep it short.", "**Hello!**"
    screen, sim = Screen(), SimulatedTime()
    renderer = make(screen, sim)
    renderer.start()
    for piece in ["The user wants", " a greeting.\nKeep it", " short."]:
        renderer.feed_reasoning(piece)
        sim.advance(0.05)
    renderer.feed(answer)
    renderer.finish()
    assert screen.transcript() == reference(answer, reasoning=reasoning).transcript()
    assert screen.text() == ["The user wants a greeting.", "Keep it short.", "", "Hello!"]
    assert screen.transcript()[0][0].italics


def _sgr_parameters(output: str) -> set[int]:
    return {int(p or 0) for m in re.findall(r"\x1b\[([0-9;]*)m", output) for p in m.split(";")}


_COLOUR_PARAMETERS = {*range(30, 50), *range(90, 98), *range(100, 108)}


def test_without_colour_bold_italic_and_underline_stay_but_no_colour_is_written() -> None:
    # NO_COLOR (no-color.org) turns colour off, not emphasis: "## 1. Input" must not read
    # like a list item. (This test used to assert no style code at all.)
    out = io.StringIO()
    renderer = MarkdownRenderer(
        Terminal(stdout=out, stdout_isatty=True, color=False, width=COLS),
        clock=lambda: 0.0,
        size=lambda: (COLS, ROWS),
    )
    renderer.feed("# Title\n\nSome **bold**, *italic* and `code`.\n\n```python\nx = 1\n```\n")
    renderer.finish()
    parameters = _sgr_parameters(out.getvalue())
    assert not parameters & _COLOUR_PARAMETERS
    assert {1, 3, 4} <= parameters  # bold, italic, underline (the heading)
    assert "x = 1" in out.getvalue()


def test_markdown_into_a_pipe_has_no_escape_code_even_with_styles() -> None:
    out = io.StringIO()
    renderer = make_renderer(Terminal(stdout=out, color=False, width=COLS), "markdown")
    renderer.feed("# Title\n\nSome **bold** text.\n")
    renderer.finish()
    assert "\x1b" not in out.getvalue()
    assert "bold" in out.getvalue()


def test_widening_the_terminal_mid_stream_loses_and_duplicates_nothing() -> None:
    screen, sim = Screen(), SimulatedTime()
    renderer = make(screen, sim)
    renderer.start()
    half = len(PYTHON_ANSWER) // 2
    for i in range(0, half, 5):
        renderer.feed(PYTHON_ANSWER[i : min(i + 5, half)])
        sim.advance(0.05)
    screen.resize(100)
    for i in range(half, len(PYTHON_ANSWER), 5):
        renderer.feed(PYTHON_ANSWER[i : i + 5])
        sim.advance(0.05)
    renderer.finish()
    seen = "".join("".join(screen.text()).split())
    assert seen == "".join("".join(reference(PYTHON_ANSWER).text()).split())


def test_narrowing_erases_the_rows_a_reflowing_terminal_makes_of_the_live_region() -> None:
    region = [Line("", 80, "x" * 80), Line("", 70, "x" * 70), Line("", 0)]
    assert _rows_after_resize(region, old=80, new=40) == 2 + 2 + 1
    assert _rows_after_resize(region, old=80, new=100) == 3
    # A wide character that does not fit at the end of a row moves to the next one.
    assert _rows_after_resize([Line("", 6, "a中文")], old=6, new=4) == 2
    assert _rows_after_resize([Line("", 5, "ab中文")], old=5, new=3) == 3
    size = [(80, ROWS)]
    out = io.StringIO()
    sim = SimulatedTime()
    renderer = MarkdownRenderer(
        Terminal(stdout=out, stdout_isatty=True, color=True, width=80),
        clock=sim.clock,
        schedule=sim.schedule,
        size=lambda: size[0],
        color_system=COLORS,
    )
    renderer.feed("word " * 30)  # 150 cells: two rows at 80 columns
    size[0] = (40, ROWS)
    sim.advance(1)
    renderer.feed("more")
    assert "\x1b[4F\x1b[2K" in out.getvalue()
    renderer.finish()


def test_make_renderer_builds_the_markdown_renderer_from_a_terminal() -> None:
    renderer = make_renderer(Terminal(stdout=io.StringIO(), stdout_isatty=True), "markdown")
    assert isinstance(renderer, MarkdownRenderer)


def test_make_renderer_prints_markdown_blocks_once_into_a_pipe() -> None:
    out = io.StringIO()
    renderer = make_renderer(Terminal(stdout=out, width=50), "markdown")
    assert isinstance(renderer, MarkdownPrinter)
    renderer.start()
    renderer.feed("First paragraph.\n\nSecond")
    assert out.getvalue() == "First paragraph.\n"  # a finished block, at once
    renderer.feed(" paragraph.")
    renderer.finish()
    assert out.getvalue() == render_answer(
        "First paragraph.\n\nSecond paragraph.", width=50, color_system=None
    )


@pytest.mark.parametrize(
    ("deltas", "expected"),
    [(["a", "b"], "ab\n"), (["line\n"], "line\n"), ([], ""), (["", "x"], "x\n")],
)
def test_plain_renderer_writes_deltas_and_ends_on_a_fresh_line(
    deltas: list[str], expected: str
) -> None:
    out = io.StringIO()
    renderer = PlainRenderer(Terminal(stdout=out))
    renderer.start()
    for delta in deltas:
        renderer.feed(delta)
    renderer.finish()
    assert out.getvalue() == expected


def test_plain_renderer_sends_reasoning_to_a_terminal_stderr_only() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(Terminal(stdout=out, stderr=err, stderr_isatty=True))
    renderer.feed_reasoning("thinking")
    renderer.feed("answer")
    renderer.abort()
    assert (out.getvalue(), err.getvalue()) == ("answer\n", "thinking\n")


TABLES = [
    "| step | cost | note |\n|------|------|------|\n| start-up | 30 ms | imports |\n"
    "| first token | 1 ms | parse and **write** |",
    "| 名称 | 说明 |\n|:--|--:|\n| 配置 | 在启动时加载 🚀 |\n"
    "| `code` | ~~old~~ [docs](https://e.com) |",
    "| left | center | right |\n|:-----|:------:|------:|\n| 1 | 2 | 3 |\n"
    "| longer text | mid | r |",
    "| only a header |\n|---|",
    "| a | b |\n|---|---|\n| | empty first |",
    "| too wide " + "x" * 50 + " | for the screen " + "y" * 30 + " |\n|---|---|\n| a | b |",
    "- a list holding a table:\n\n  | a | b |\n  |---|---|\n  | 1 | 2 |",
    "> | quoted | table |\n> |---|---|\n> | 1 | 2 |",
]


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("width", [80, 30])
def test_tables_are_laid_out_as_rich_lays_them_out(
    table: str, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Our table skips rich's Table engine when every cell fits; what shows must not change.
    from atdak_cli.render.markdown import _TableElement

    ours = BlockPainter(color_system=None).lines(Kind.ANSWER, table, width)
    monkeypatch.setattr(
        _TableElement, "__rich_console__", lambda self, console, options: [self._wrapped_table()]
    )
    theirs = BlockPainter(color_system=None).lines(Kind.ANSWER, table, width)
    assert [line.ansi for line in ours] == [line.ansi for line in theirs]


def test_wait_indicator_counts_seconds_then_vanishes_without_a_trace() -> None:
    screen, sim = Screen(), SimulatedTime()
    renderer = make(screen, sim)
    renderer.start()
    sim.advance(0.9)
    assert screen.text() == []  # a quick answer never sees it
    sim.advance(0.1)
    assert screen.text() == ["waiting 1s"]
    sim.advance(2.0)
    assert screen.text() == ["waiting 3s"]
    assert screen.transcript()[0][0].italics  # dimmed like reasoning, not part of the answer
    renderer.feed("Hello")
    assert screen.text() == ["Hello"]
    renderer.finish()
    assert screen.transcript() == reference("Hello").transcript()
    assert sim.pending == 0  # no tick left behind


def test_wait_indicator_says_thinking_under_the_reasoning() -> None:
    screen, sim = Screen(), SimulatedTime()
    renderer = make(screen, sim)
    renderer.start()
    renderer.feed_reasoning("Let me see")
    sim.advance(1.0)
    assert screen.text() == ["Let me see", "thinking 1s"]
    renderer.feed("Answer")
    renderer.finish()
    assert screen.transcript() == reference("Answer", reasoning="Let me see").transcript()


def test_wait_indicator_is_never_written_into_a_pipe() -> None:
    out = io.StringIO()
    renderer = make_renderer(Terminal(stdout=out, width=COLS), "markdown")
    renderer.start()
    time.sleep(1.2)
    renderer.feed("Hello")
    renderer.finish()
    assert out.getvalue() == "Hello\n"


CODE_WITH_SPACES = (
    "```python\n"
    'def join(items: list[str], indent: str = "    ", separator: str = ",  ") -> str:\n'
    "    return separator.join(indent + item for item in items)  # 中文注释，也很长很长\n"
    "```"
)


@pytest.mark.parametrize("width", [100, 60, 40, 24])
def test_code_lines_keep_every_character_and_space_and_mark_where_they_continue(
    width: int,
) -> None:
    lines = BlockPainter(color_system=None).lines(Kind.ANSWER, CODE_WITH_SPACES, width)
    assert all(line.cells <= width for line in lines)
    # Each row: one cell of margin, the code, and the mark right after it if it goes on.
    rows = [line.plain[1:] for line in lines]
    joined, current = [], ""
    for row in rows:
        if row.endswith(CONTINUED):
            current += row[:-1]
        else:
            joined.append(current + row)
            current = ""
    assert joined == CODE_WITH_SPACES.split("\n")[1:-1]
    folded = width < cell_len(CODE_WITH_SPACES.split("\n")[1]) + 2
    assert any(row.endswith(CONTINUED) for row in rows) == folded


TABLE_AND_PROSE = (
    "| 步骤 | 说明 | 备注 |\n|---|---|---|\n"
    "| 输入 | 读取问题并发送到服务器，然后等待回答 | 春雷惊醒蛰伏的昆虫 |\n"
    "| 输出 | 输出到终端，不重复也不乱码 | a-very-long-identifier-without-any-space |\n\n"
    "终端里的长答案：每一行都只出现一次，不重复也不乱码。这一段足够长，会在窄窗格中换行，"
    "标点不能出现在行首。「引号」和（括号）也一样！"
)


@pytest.mark.parametrize("width", [100, 60, 40])
def test_tables_and_cjk_paragraphs_keep_every_character(width: int) -> None:
    # At 60 columns a cell showed "输出到终端， …"; at 40 even a 3-column table lost text.
    text = render_answer(TABLE_AND_PROSE, width=width, color_system=None)
    assert all(cell_len(row) <= width for row in text.split("\n"))
    assert "…" not in text
    source = [line for line in TABLE_AND_PROSE.split("\n") if not line.startswith("|---")]
    wanted = Counter("".join("".join(source).replace("|", "").split()))
    assert Counter("".join(text.replace("─", "").split())) == wanted


@pytest.mark.parametrize("width", [100, 60, 40, 30])
def test_no_line_starts_with_closing_or_ends_with_opening_punctuation(width: int) -> None:
    from atdak_cli.render.linebreak import CLOSING, OPENING

    prose = TABLE_AND_PROSE.split("\n\n")[1]
    rows = [r for r in render_answer(prose, width=width, color_system=None).split("\n") if r]
    assert "".join(rows) == prose  # nothing lost, nothing added
    assert not [row for row in rows if row[0] in CLOSING]
    assert not [row for row in rows if row.rstrip()[-1] in OPENING]


def test_a_resize_redraws_the_live_region_at_once_even_between_deltas() -> None:
    watchers: list[Callable[[], None]] = []

    def watch(callback: Callable[[], None]) -> Callable[[], None]:
        watchers.append(callback)
        return lambda: watchers.remove(callback)

    screen, sim = Screen(), SimulatedTime()
    renderer = MarkdownRenderer(
        Terminal(stdout=Sink(screen), stdout_isatty=True, color=True, width=COLS),
        clock=sim.clock,
        schedule=sim.schedule,
        size=lambda: screen.size,
        watch_resize=watch,
        color_system=COLORS,
    )
    renderer.start()
    renderer.feed("word " * 30)  # 150 cells: two rows at 80 columns
    screen.resize(40)  # pyte does not re-wrap: the old rows stay as they were
    watchers[0]()  # SIGWINCH
    sim.advance(0)
    assert screen.text()[:4] == ["word " * 7 + "word"] * 3 + ["word " * 5 + "word"]
    renderer.finish()
    assert watchers == []  # the handler before is back once the answer is done
