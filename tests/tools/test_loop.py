"""The call loop against the loopback API server scripted to call the offered tools, with
real MCP servers behind the tools: one call, parallel calls, a chain, the chain limit, an
unknown tool, arguments that are not JSON or do not fit the schema, declined and refused."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atdak_cli.client import AtdakClient
from atdak_cli.errors import UsageError
from atdak_cli.tools.approval import DECLINED, Decision, ToolApprovalError, Unattended
from atdak_cli.tools.cache import ToolListCache
from atdak_cli.tools.display import ToolDisplay
from atdak_cli.tools.loop import ChainLimitError, Message, ToolSession, run_chain
from atdak_cli.tools.sender import api_sender
from atdak_cli.tools.toolbox import Prepared, Toolbox
from tests.utils.api_server import FakeAPIServer, RecordedRequest, Reply, respond_with, stream
from tests.utils.mcp_servers import fixture_stdio, time_server
from tests.utils.process import CANARY_KEY


class Approve:
    """Approves everything, counting what it was asked."""

    def __init__(self, run: bool = True) -> None:
        self.asked: list[str] = []
        self.run = run

    def decide(self, prepared: Prepared) -> Decision:
        assert prepared.offered is not None and prepared.arguments is not None
        self.asked.append(prepared.offered.spec.qualified)
        return Decision(self.run, prepared.arguments)


def answer_from_tools() -> Reply:
    """The model answers with the tool results it was sent."""

    def choose(request: RecordedRequest) -> Reply:
        results = [m["content"] for m in request.json()["messages"] if m["role"] == "tool"]
        return stream(["from tools: ", " | ".join(results)])

    return respond_with(choose)


@pytest.fixture(scope="module")
def toolbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Toolbox]:
    """One pair of servers for the module: starting them is most of each test's time."""
    configs = {"fx": fixture_stdio(), "time": time_server()}
    cache = ToolListCache(tmp_path_factory.mktemp("tools") / "cache.json")
    with Toolbox(configs, {"fx": None, "time": None}, cache=cache) as box:
        box.load()
        yield box


def chain(
    api: FakeAPIServer, toolbox: Toolbox, approver: Any = None, *, limit: int = 5
) -> tuple[str, list[Message]]:
    messages: list[Message] = [{"role": "user", "content": "go"}]
    session = ToolSession(toolbox, approver or Approve(), ToolDisplay(None), chain_limit=limit)
    with AtdakClient(api_key=CANARY_KEY, base_url=api.base_url) as client:
        send = api_sender(client, model="atdak-gpt-4", tools=toolbox.api_tools())
        reply = run_chain(send, messages, session)
    return reply.text, messages


def test_one_call_runs_the_mcp_tool_and_sends_its_result_as_a_tool_message(
    api: FakeAPIServer, toolbox: Toolbox
) -> None:
    api.enqueue(stream([], tool_calls=[("get_current_time", '{"timezone": "UTC"}')]))
    api.enqueue(answer_from_tools())
    text, messages = chain(api, toolbox)
    first, second = api.requests
    offered = {tool["function"]["name"] for tool in first.json()["tools"]}
    assert {"get_current_time", "convert_time", "echo"} <= offered
    sent = second.json()["messages"]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "get_current_time"
    assert sent[2]["role"] == "tool" and sent[2]["tool_call_id"] == "call_0"
    assert json.loads(sent[2]["content"])["timezone"] == "UTC"
    assert text.startswith("from tools: {")
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]


def test_parallel_calls_run_concurrently_and_answer_in_order(
    api: FakeAPIServer, toolbox: Toolbox
) -> None:
    calls = [("hang", '{"seconds": 1.0}'), ("echo", '{"text": "b"}'), ("hang", '{"seconds": 1.0}')]
    api.enqueue(stream([], tool_calls=calls), answer_from_tools())
    started = time.monotonic()
    text, messages = chain(api, toolbox)
    assert time.monotonic() - started < 1.9  # two 1 s calls at once, not one after the other
    assert text == "from tools: woke up | echo: b | woke up"
    assert [m.get("tool_call_id") for m in messages[2:]] == ["call_0", "call_1", "call_2"]


def test_a_chain_of_calls_goes_on_until_the_model_answers(
    api: FakeAPIServer, toolbox: Toolbox
) -> None:
    api.enqueue(
        stream([], tool_calls=[("add", '{"a": 1, "b": 2}')]),
        stream(["thinking "], tool_calls=[("add", '{"a": 3, "b": 4}')]),
        answer_from_tools(),
    )
    text, messages = chain(api, toolbox)
    assert text == "from tools: 3 | 7"
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "tool"]
    assert messages[3]["content"] == "thinking "


def test_the_chain_limit_stops_with_a_clear_error_and_answers_every_call(
    api: FakeAPIServer, toolbox: Toolbox
) -> None:
    api.set_default(stream([], tool_calls=[("echo", '{"text": "again"}')]))
    messages: list[Message] = []
    with pytest.raises(ChainLimitError, match="after 2 rounds") as caught:
        _, messages = chain(api, toolbox, limit=2)
    assert caught.value.status == 9
    assert len(api.requests) == 3
    # the last request's calls are answered too: the conversation can be continued
    last = api.requests[-1].json()["messages"]
    assert last[-1]["role"] == "tool"


def test_unknown_tool_and_bad_arguments_become_error_results_for_the_model(
    api: FakeAPIServer, toolbox: Toolbox
) -> None:
    calls = [
        ("no_such_tool", "{}"),
        ("add", "{not json"),
        ("add", '{"a": "one", "b": 2}'),
        ("add", '["a", "b"]'),
    ]
    api.enqueue(stream([], tool_calls=calls), answer_from_tools())
    approver = Approve()
    chain(api, toolbox, approver)
    results = [m["content"] for m in api.requests[1].json()["messages"] if m["role"] == "tool"]
    assert results[0].startswith("error: there is no tool named 'no_such_tool'; the tools are:")
    assert "add" in results[0]
    assert results[1].startswith("error: the arguments of add are not valid JSON")
    assert results[2] == "error: bad arguments for add: 'one' is not of type 'integer' (at a)"
    assert results[3].startswith("error: bad arguments for add: they must be a JSON object")
    assert approver.asked == []  # nothing malformed reaches the user to approve


def test_a_declined_call_tells_the_model_the_user_declined(
    api: FakeAPIServer, toolbox: Toolbox
) -> None:
    api.enqueue(stream([], tool_calls=[("echo", '{"text": "x"}')]), answer_from_tools())
    text, _ = chain(api, toolbox, Approve(run=False))
    assert text == f"from tools: {DECLINED}"


def test_without_a_terminal_an_unapproved_call_is_refused_and_answered(
    api: FakeAPIServer, toolbox: Toolbox
) -> None:
    api.enqueue(stream([], tool_calls=[("echo", '{"text": "x"}')]))
    messages: list[Message] = [{"role": "user", "content": "go"}]
    session = ToolSession(toolbox, Unattended(), ToolDisplay(None))
    with AtdakClient(api_key=CANARY_KEY, base_url=api.base_url) as client:
        send = api_sender(client, model="atdak-gpt-4", tools=toolbox.api_tools())
        with pytest.raises(ToolApprovalError) as caught:
            run_chain(send, messages, session)
    assert caught.value.status == 11
    assert "fx.echo" in caught.value.message
    assert messages[-1]["role"] == "tool" and "not run" in messages[-1]["content"]


def test_allow_in_the_config_approves_in_advance(api: FakeAPIServer, tmp_path: Path) -> None:
    configs = {"fx": fixture_stdio(allow=("echo",))}
    with Toolbox(configs, {"fx": None}, cache=ToolListCache(tmp_path / "c.json")) as box:
        box.load()
        api.enqueue(stream([], tool_calls=[("echo", '{"text": "ok"}')]), answer_from_tools())
        text, _ = chain(api, box, Unattended())
        assert text == "from tools: echo: ok"
        api.enqueue(stream([], tool_calls=[("add", '{"a": 1, "b": 1}')]))
        with pytest.raises(ToolApprovalError):
            chain(api, box, Unattended())


def test_huge_results_are_cut_to_the_stated_limit_before_they_are_sent(
    api: FakeAPIServer, toolbox: Toolbox
) -> None:
    api.enqueue(stream([], tool_calls=[("big", '{"size": 200000}')]), answer_from_tools())
    chain(api, toolbox)
    sent = api.requests[1].json()["messages"][-1]["content"]
    assert sent.startswith("x" * 16_000 + "\n")
    assert sent.endswith("[truncated by atdak: 16000 of 200000 characters shown]")


def test_a_cached_tool_list_lets_the_first_request_go_before_the_server_starts(
    api: FakeAPIServer, tmp_path: Path
) -> None:
    configs = {"fx": fixture_stdio()}
    cache = ToolListCache(tmp_path / "cache.json")
    with Toolbox(configs, {"fx": None}, cache=cache) as box:
        box.load()  # no cache yet: started and listed
    cache = ToolListCache(tmp_path / "cache.json")
    with Toolbox(configs, {"fx": None}, cache=cache) as box:
        started = time.monotonic()
        offered = box.load()
        assert time.monotonic() - started < 0.2
        assert box.servers.listed("fx") is None  # not even started yet
        assert "echo" in {tool.api_name for tool in offered}
        api.enqueue(stream([], tool_calls=[("echo", '{"text": "late"}')]), answer_from_tools())
        text, _ = chain(api, box)
        assert text == "from tools: echo: late"


def test_a_changed_server_config_is_not_served_from_the_cache(tmp_path: Path) -> None:
    cache = ToolListCache(tmp_path / "cache.json")
    with Toolbox({"fx": fixture_stdio()}, {"fx": None}, cache=cache) as box:
        box.load()
    changed = fixture_stdio(env={"EXTRA": "1"})
    assert cache.get(changed.cache_key(), "fx") is None
    assert cache.get(fixture_stdio().cache_key(), "fx") is not None


class Interrupting:
    def decide(self, prepared: Prepared) -> Decision:
        raise KeyboardInterrupt


def test_an_interrupted_tool_run_is_kept_as_such(api: FakeAPIServer, toolbox: Toolbox) -> None:
    api.enqueue(stream([], tool_calls=[("echo", '{"text": "a"}'), ("echo", '{"text": "b"}')]))
    messages: list[Message] = [{"role": "user", "content": "go"}]
    heard: list[Message] = []
    session = ToolSession(toolbox, Interrupting(), ToolDisplay(None), on_message=heard.append)
    with AtdakClient(api_key=CANARY_KEY, base_url=api.base_url) as client:
        send = api_sender(client, model="atdak-gpt-4", tools=toolbox.api_tools())
        with pytest.raises(KeyboardInterrupt):
            run_chain(send, messages, session)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert [m["content"] for m in messages[2:]] == ["error: not run (interrupted)"] * 2
    assert heard == messages[1:]  # each was handed over to be saved as it came


def test_tools_switched_off_are_not_offered_and_not_run(
    api: FakeAPIServer, toolbox: Toolbox
) -> None:
    assert toolbox.switch("time", on=False) == ["get_current_time", "convert_time"]
    try:
        names = {tool["function"]["name"] for tool in toolbox.api_tools()}
        assert "get_current_time" not in names and "echo" in names
        api.enqueue(stream([], tool_calls=[("get_current_time", "{}")]), answer_from_tools())
        text, _ = chain(api, toolbox)
        assert "there is no tool named 'get_current_time'" in text
    finally:
        assert toolbox.switch("time.get_current_time", on=True) == ["get_current_time"]
        toolbox.switch("convert_time", on=True)
    with pytest.raises(UsageError, match="no tool or server 'nope'"):
        toolbox.switch("nope", on=False)
