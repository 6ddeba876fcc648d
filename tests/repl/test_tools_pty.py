"""``atdak chat -T`` in a real pty: the approval prompt answered with each choice, calls
shown dimmed in the transcript, /tools, and the conversation resent with its tool messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from atdak_cli.tools.config import add_servers
from tests.repl.test_pty import Chat
from tests.utils.api_server import FakeAPIServer, RecordedRequest, Reply, respond_with, stream
from tests.utils.mcp_servers import fixture_stdio


def answer_from_tools() -> Reply:
    def choose(request: RecordedRequest) -> Reply:
        results = [m["content"] for m in request.json()["messages"] if m["role"] == "tool"]
        return stream(["tools said: ", results[-1] if results else "nothing"])

    return respond_with(choose)


@pytest.fixture
def chat(api: FakeAPIServer, key_env: str, tmp_path: Path) -> Iterator[Chat]:
    add_servers(tmp_path / "config" / "config.toml", [fixture_stdio()])
    session = Chat(api, "-T", "fx")
    yield session
    if session.child.isalive():
        session.child.terminate(force=True)


def call_echo(api: FakeAPIServer, text: str) -> None:
    api.enqueue(stream([], tool_calls=[("echo", f'{{"text": "{text}"}}')]), answer_from_tools())


def test_each_approval_choice_in_a_real_terminal(
    chat: Chat, api: FakeAPIServer, tmp_path: Path
) -> None:
    call_echo(api, "first")
    chat.wait_prompt()
    chat.child.send("run it\r")
    chat.wait_for("Tool call: echo (MCP server 'fx')")
    chat.wait_for("Run it? [y] run")
    chat.child.send("y")
    chat.wait_for("tools said: echo: first")
    assert "→ fx.echo" in chat.transcript and "← fx.echo: 11 chars · echo: first" in chat.transcript
    assert b"\x1b[2m  \xe2\x86\x92 fx.echo" in chat.raw  # dimmed

    call_echo(api, "second")
    chat.wait_prompt()
    chat.child.send("skip it\r")
    chat.wait_for("Run it?", seen=1)
    chat.child.send("n")
    chat.wait_for("tools said: the user declined to run this tool call")
    assert "← fx.echo: declined" in chat.transcript

    call_echo(api, "third")
    chat.wait_prompt()
    chat.child.send("always\r")
    chat.wait_for("Run it?", seen=2)
    chat.child.send("a")
    chat.wait_for("tools said: echo: third")
    call_echo(api, "fourth")
    chat.ask("again", "tools said: echo: fourth")  # not asked again
    assert chat.transcript.count("Run it?") == 3

    chat.wait_prompt()
    chat.child.send("/tools\r")
    chat.wait_for("on  fx.echo  Repeat the text.")
    assert chat.finish() == 0


def test_edit_arguments_then_run_and_continue_resends_the_calls(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    add_servers(tmp_path / "config" / "config.toml", [fixture_stdio()])
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf \'{"text": "edited"}\' > "$1"\n')
    editor.chmod(0o755)
    chat = Chat(api, "-T", "fx", env={"EDITOR": str(editor)})
    try:
        call_echo(api, "original")
        chat.wait_prompt()
        chat.child.send("edit it\r")
        chat.wait_for("Run it?")
        chat.child.send("e")
        chat.wait_for("Run it?", seen=1)
        chat.child.send("y")
        chat.wait_for("tools said: echo: edited")
        chat.ask("and now", "echo: and now")
        sent = api.requests[-1].json()["messages"]
        assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "user"]
        assert sent[2]["content"] == "echo: edited"
        assert chat.finish() == 0
    finally:
        if chat.child.isalive():
            chat.child.terminate(force=True)
