"""``atdak complete`` rendering a long Markdown answer in a real pseudo-terminal: what a person
sees, screen plus scrollback, holds every line exactly once (rich #3263 duplicates them)."""

from __future__ import annotations

import json
import os
import re
import sys
import termios

import pexpect
import pyte

from tests.utils.api_server import Exchange, FakeAPIServer, Reply, stream
from tests.utils.process import REPO, run_atdak

ROWS, COLUMNS = 24, 80


def long_answer(paragraphs: int) -> str:
    """Headings, lists, code and a table, 10x taller than the screen; each numbered once."""
    parts = []
    for n in range(paragraphs):
        if n % 7 == 3:
            parts.append(f"```python\nprint('code {n}')  # 中文\n```")
        elif n % 7 == 5:
            parts.append(f"- item {n} 👋\n- item {n}b")
        elif n % 11 == 0:
            parts.append(f"## heading {n}")
        else:
            parts.append(f"Paragraph {n} says something *useful* about `code` and 春天.")
    return "\n\n".join(parts) + "\n"


def spawn_complete(api: FakeAPIServer, **env: str) -> pexpect.spawn:
    """``atdak complete hi`` on a 24x80 pseudo-terminal (an xterm unless ``env`` says)."""
    return pexpect.spawn(
        sys.executable,
        ["-m", "atdak_cli", "complete", "--base-url", api.base_url, "hi"],
        env={**os.environ, "TERM": "xterm-256color", **env},
        dimensions=(ROWS, COLUMNS),
        cwd=str(REPO),
    )


def screen_lines(data: bytes) -> list[str]:
    screen = pyte.HistoryScreen(COLUMNS, ROWS, history=10_000, ratio=0.5)
    pyte.ByteStream(screen).feed(data)
    top = ["".join(line[x].data for x in range(COLUMNS)) for line in screen.history.top]
    return [line.rstrip() for line in top + screen.display]


def test_long_markdown_answer_shows_every_line_once_in_order(
    api: FakeAPIServer, key_env: str
) -> None:
    text = long_answer(120)
    deltas = [text[i : i + 5] for i in range(0, len(text), 5)]
    api.enqueue(stream(deltas, delay=0.001))
    child = spawn_complete(api)
    output = child.read()  # until the process closes the terminal
    child.close()
    assert child.exitstatus == 0, output[-500:]
    lines = screen_lines(output)
    numbers = [
        int(m.group(1))
        for line in lines
        for m in re.finditer(r"(?:Paragraph|item|code|heading) (\d+)\b", line)
    ]
    expected = [
        int(m.group(1)) for m in re.finditer(r"(?:Paragraph|item|code|heading) (\d+)\b", text)
    ]
    assert numbers == expected  # nothing missing, nothing twice, nothing out of order
    assert "```" not in "\n".join(lines)  # fences were rendered, not printed raw
    # The cursor is shown again, on a fresh line.
    assert output.endswith(b"\r\n\x1b[?25h")


def test_dumb_terminal_without_colour_gets_plain_text(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(stream(["# Title\n\n", "some *text*\n"]))
    child = spawn_complete(api, TERM="dumb", NO_COLOR="1")
    output = child.read()
    child.close()
    assert child.exitstatus == 0
    assert output == b"# Title\r\n\r\nsome *text*\r\n"


def test_keys_typed_during_the_answer_are_not_echoed_into_it(
    api: FakeAPIServer, key_env: str
) -> None:
    api.enqueue(stream([f"word{n} " for n in range(12)], delay=0.05))
    child = spawn_complete(api)
    child.expect("word1 ")
    child.send("zzz")  # a person typing while the answer streams
    output = child.before + child.after + child.read()
    echo_after = termios.tcgetattr(child.child_fd)[3] & termios.ECHO
    child.close()
    assert child.exitstatus == 0
    assert "word11" in "\n".join(screen_lines(output))
    # Not even for a moment (a redraw of the live region may erase it from the final screen).
    assert b"zzz" not in output
    assert echo_after  # the terminal echoes again once atdak is done


def late_answer(text: str, *, after: float) -> Reply:
    """The stream opens at once, and its first word comes ``after`` seconds later."""

    def event(delta: dict[str, str], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"}
        return f"data: {json.dumps({**chunk, 'choices': [choice]})}\n\n".encode()

    def send(ex: Exchange) -> None:
        ex.start_chunked(200, "text/event-stream", None)
        ex.write_chunk(event({"role": "assistant", "content": ""}))
        if ex.wait(after):
            return
        ex.write_chunk(event({"content": text}) + event({}, "stop") + b"data: [DONE]\n\n")
        ex.end_chunks()

    return Reply(send, "late answer")


def test_waiting_shows_the_seconds_then_leaves_no_trace(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(late_answer("Hello **there**", after=1.6))
    child = spawn_complete(api)
    output = child.read()
    child.close()
    assert child.exitstatus == 0
    assert b"waiting 1s" in output  # shown while the model was silent
    assert [line for line in screen_lines(output) if line] == ["Hello there"]  # then gone


def test_waiting_is_never_written_into_a_pipe(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(late_answer("Hello", after=1.3))
    done = run_atdak("complete", "--base-url", api.base_url, "hi")
    assert (done.returncode, done.stdout) == (0, b"Hello\n")
    assert b"waiting" not in done.stderr
