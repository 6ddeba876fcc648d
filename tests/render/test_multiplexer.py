"""``atdak complete`` streaming into tmux and GNU screen with their default configuration:
the scrollback a person scrolls back through holds every line of the one-shot render exactly
once, in order, also when the pane is resized while a tall code block streams (issue 17)."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from atdak_cli.render.markdown import render_answer
from tests.utils.api_server import Exchange, FakeAPIServer, Reply, stream
from tests.utils.multiplexer import MULTIPLEXERS, GnuScreen, Multiplexer, Tmux, write_script
from tests.utils.process import REPO

CODE_LINES = 62


def long_answer() -> str:
    """A heading, CJK prose, a code block twice as tall as a 30-row pane (spaces inside its
    strings), a table and a list: every line carries a unique mark (``L<n>``)."""
    code = "\n".join(
        f'step_{n:02d} = compute({n}, label="L{n:03d}  two  spaces")  # step {n}'
        for n in range(CODE_LINES)
    )
    return (
        "# 说明 L900\n\n"
        "终端里的长答案 L901：每一行都只出现一次，不重复也不乱码。"
        "这一段足够长，会在窄窗格中换行，标点不能出现在行首。\n\n"
        f"```python\n{code}\n```\n\n"
        "| 步骤 L902 | 说明 |\n|---|---|\n| 输入 L903 | 读取问题并发送到服务器 |\n"
        "| 输出 L904 | 输出到终端，不重复也不乱码 |\n\n"
        + "\n".join(f"- item L{n} with a few words" for n in range(905, 915))
        + "\n"
    )


def deltas(text: str, size: int = 12) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def one_shot(text: str, columns: int) -> list[str]:
    rendered = render_answer(text, width=columns, color_system=None)
    return [line.rstrip() for line in rendered.split("\n")[:-1]]


def marks(lines: list[str]) -> list[int]:
    return [int(m) for line in lines for m in re.findall(r"L(\d{3})\b", line)]


def is_spliced(seen: list[str], before: list[str], after: list[str]) -> bool:
    """``seen`` is the start of ``before`` (the render at the old width) followed by the
    rest of ``after`` (at the new width) from the same point of the answer on."""
    for cut in range(len(seen) + 1):
        head, tail = seen[:cut], seen[cut:]
        rest = len(after) - len(tail)
        if head == before[:cut] and tail == after[rest:] and marks(head) == marks(after[:rest]):
            return True
    return False


def _event(delta: dict[str, str], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    return f"data: {json.dumps({**chunk, 'choices': [choice]})}\n\n".encode()


def paused_stream(first: list[str], rest: list[str], go: threading.Event) -> Reply:
    """Streams ``first``, waits (the connection open, the answer unfinished) until ``go``
    is set, then streams ``rest``: a resize lands between two redraws, not during one
    (a redraw in flight when the terminal re-wraps is a race no program can win)."""

    def send(ex: Exchange) -> None:
        ex.start_chunked(200, "text/event-stream", None)
        ex.write_chunk(_event({"role": "assistant", "content": ""}))
        for n, text in enumerate(first + rest):
            while n == len(first) and not go.wait(0.05):
                if ex.stopping:
                    return
            ex.write_chunk(_event({"content": text}))
            ex.wait(0.004)
        ex.write_chunk(_event({}, "stop") + b"data: [DONE]\n\n")
        ex.end_chunks()

    return Reply(send, "paused stream")


def complete_script(tmp_path: Path, api: FakeAPIServer, key: str) -> str:
    argv = [sys.executable, "-m", "atdak_cli", "complete", "--base-url", api.base_url, "hi"]
    env = {"PYTHONPATH": str(REPO), "ATDAK_API_KEY": key}
    return write_script(tmp_path, "complete", argv, **env)


@pytest.fixture(params=MULTIPLEXERS, ids=lambda kind: kind.program)
def kind(request: pytest.FixtureRequest) -> type[Multiplexer]:
    return request.param  # type: ignore[no-any-return]


def test_tmux_runs_with_its_default_scroll_on_clear(tmp_path: Path) -> None:
    with Tmux(tmp_path, columns=40, rows=10) as mux:
        assert mux.option("scroll-on-clear") == "on"


@pytest.mark.parametrize(("columns", "rows"), [(100, 30), (40, 10)])
def test_long_answer_is_in_the_scrollback_exactly_once(
    kind: type[Multiplexer],
    columns: int,
    rows: int,
    tmp_path: Path,
    api: FakeAPIServer,
    key_env: str,
) -> None:
    text = long_answer()
    api.enqueue(stream(deltas(text), delay=0.002))
    command = complete_script(tmp_path, api, key_env)
    with kind(tmp_path, columns=columns, rows=rows) as mux:
        mux.run(command)
        assert mux.wait_for_file(tmp_path / "complete.status") == "0"
        seen = mux.command_output(command, mux.scrollback(joined=True))
        rows_seen = mux.command_output(command, mux.scrollback())
    expected = one_shot(text, columns)
    assert seen == expected  # every line once, in order: nothing stale, nothing missing
    assert len(rows_seen) == len(expected)  # and none wider than the pane


@pytest.mark.parametrize(
    ("before", "after"),
    [((100, 30), (40, 10)), ((40, 10), (100, 30))],
    ids=["narrowing", "widening"],
)
def test_resizing_while_a_tall_code_block_streams_leaves_every_line_once(
    kind: type[Multiplexer],
    before: tuple[int, int],
    after: tuple[int, int],
    tmp_path: Path,
    api: FakeAPIServer,
    key_env: str,
) -> None:
    text = long_answer()
    pieces = deltas(text, 6)
    cut = next(n for n, piece in enumerate(pieces) if "L021" in "".join(pieces[:n]))
    go = threading.Event()
    api.enqueue(paused_stream(pieces[:cut], pieces[cut:], go))
    command = complete_script(tmp_path, api, key_env)
    with kind(tmp_path, columns=before[0], rows=before[1]) as mux:
        # GNU screen drops the oldest rows of its history when it re-wraps it for a
        # narrower window: short lines above the answer are what it drops.
        mux.run("seq 300")
        mux.wait_for_prompt_after("300")
        mux.run(command)
        mux.wait_for_text("L021")
        time.sleep(0.2)  # the last redraw before the pause is out
        mux.resize(*after)
        time.sleep(0.2)  # the redraw for the new size (SIGWINCH) is out
        go.set()
        assert mux.wait_for_file(tmp_path / "complete.status") == "0"
        seen = mux.command_output(command, mux.scrollback(joined=True))
    assert marks(seen) == marks(one_shot(text, 100))  # all there, once, in order
    if kind is GnuScreen and after[0] < before[0]:
        # screen's own re-wrap drops wide characters at the ends of the rows it cuts and
        # joins a full-width row to the next: only the order of the lines can be checked.
        return
    old, new = one_shot(text, before[0]), one_shot(text, after[0])
    assert is_spliced(seen, old, new), "\n".join(seen)


TABLE_AND_PROSE = (
    "| 步骤 | 说明 | 备注 |\n|---|---|---|\n"
    "| 输入 | 读取问题并发送到服务器，然后等待回答 | 春雷惊醒蛰伏的昆虫 |\n"
    "| 输出 | 输出到终端，不重复也不乱码 | a-very-long-identifier-without-any-space |\n\n"
    "终端里的长答案：每一行都只出现一次，不重复也不乱码。这一段足够长，会在窄窗格中换行，"
    "标点不能出现在行首。「引号」和（括号）也一样！\n"
)


@pytest.mark.parametrize("columns", [100, 60, 40])
def test_tables_and_cjk_paragraphs_keep_every_character(
    kind: type[Multiplexer], columns: int, tmp_path: Path, api: FakeAPIServer, key_env: str
) -> None:
    api.enqueue(stream(deltas(TABLE_AND_PROSE, 5), delay=0.002))
    command = complete_script(tmp_path, api, key_env)
    with kind(tmp_path, columns=columns, rows=10) as mux:
        mux.run(command)
        assert mux.wait_for_file(tmp_path / "complete.status") == "0"
        seen = mux.command_output(command, mux.scrollback(joined=True))
    assert seen == one_shot(TABLE_AND_PROSE, columns)
    source = [line for line in TABLE_AND_PROSE.split("\n") if not line.startswith("|---")]
    wanted = Counter("".join("".join(source).replace("|", "").split()))
    assert Counter("".join("".join(seen).replace("─", "").split())) == wanted
    assert "…" not in "".join(seen)
