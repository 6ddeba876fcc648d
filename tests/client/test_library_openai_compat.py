"""openai-python user code (tests/client/openai_style_code.py, unchanged but for its import line)
against the loopback server: every call an openai user reaches for first works, and gives
what openai-python gives."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from atdak import (
    APITimeoutError,
    AtdakClient,
    ChatCompletionChunk,
    ChoiceDeltaToolCall,
    StreamTimeoutError,
    ToolCallAssembler,
)
from tests.client import openai_style_code as user
from tests.utils.api_server import (
    FakeAPIServer,
    error,
    json_completion,
    json_reply,
    openai_error,
    stall,
    stream,
)

PARIS = ("get_weather", '{"city": "Paris"}')


@pytest.fixture
def client(api: FakeAPIServer) -> Any:
    with user.make_client(api.base_url, max_retries=0) as c:
        yield c


def test_plain_and_streamed_answers(client: AtdakClient) -> None:
    assert user.ask(client, "你好") == "echo: 你好"
    assert user.ask_streaming(client, "spring poem") == "echo: spring poem"


def test_usage_idiom_sees_the_usage_only_chunk_when_it_was_asked_for(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    assert user.ask_streaming_with_usage(client, "a b c") == ("echo: a b c", 7)
    assert api.requests[0].json()["stream_options"] == {"include_usage": True}


def test_seed_example_never_meets_a_usage_only_chunk_it_did_not_ask_for(
    client: AtdakClient, api: FakeAPIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The server sends the usage-only chunk unasked (some do): the API page's loop indexes
    # choices[0] and prints content, so that chunk is not handed to it (stream.usage has it).
    api.enqueue(stream(["你", "好"], usage={"prompt_tokens": 1, "completion_tokens": 2}))
    s = client.chat.completions.create(
        model="atdak-gpt-4", messages=[{"role": "user", "content": "你好"}], stream=True
    )
    for chunk in s:
        print(chunk.choices[0].delta.content, end="")
    assert capsys.readouterr().out == "你好"
    assert s.usage is not None and s.usage.total_tokens == 3


def test_tool_round_trip(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(
        json_completion(None, tool_calls=[PARIS], finish_reason="tool_calls"),
        json_completion("It is sunny in Paris."),
    )
    assert user.tool_round_trip(client, "Weather in Paris?") == (
        "tool_calls",
        "It is sunny in Paris.",
    )
    first, second = (r.json() for r in api.requests)
    assert first["tools"] == [user.WEATHER_TOOL] and first["tool_choice"] == "auto"
    assistant, tool = second["messages"][1:]
    assert assistant == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_0",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    assert tool == {
        "role": "tool",
        "tool_call_id": "call_0",
        "content": json.dumps({"city": "Paris", "sky": "sunny"}),
    }


def test_streamed_tool_calls_split_mid_utf8_on_the_wire(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    calls = [("get_weather", '{"city": "Zürich 😀"}'), ("get_time", '{"zone": "東京"}')]
    api.enqueue(stream([], tool_calls=calls, finish_reason="tool_calls", write_size=1))
    assert user.streamed_tool_calls(client, "hi") == [
        ("get_weather", {"city": "Zürich 😀"}),
        ("get_time", {"zone": "東京"}),
    ]


def tool_fragment(index: int, arguments: str, **first: str) -> str:
    """One chunk's SSE line with a tool-call fragment, JSON-escaped (lone surrogates too)."""
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if first:
        call.update(id=first["id"], type="function")
        call["function"]["name"] = first["name"]
    chunk = {"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}
    return "data: " + json.dumps(chunk)  # ensure_ascii: "\ud83d" goes out as an escape


def test_assembler_joins_fragments_cut_mid_json_and_between_utf16_halves(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    fragments = [
        tool_fragment(0, "", id="call_a", name="get_weather"),
        tool_fragment(0, '{"ci'),
        tool_fragment(1, '{"zone": "UTC"}', id="call_b", name="get_time"),
        tool_fragment(0, 'ty": "\ud83d'),  # the high half of 😀 ...
        tool_fragment(0, '\ude00 \\u00e9"}'),  # ... the low half, and an escape kept as text
    ]
    api.enqueue(stream([], extra_raw_events=fragments, finish_reason="tool_calls"))
    assembler = ToolCallAssembler()
    with client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as s:
        for chunk in s:
            assembler.add_chunk(chunk)
    calls = assembler.calls()
    assert [(c.id, c.function.name) for c in calls] == [
        ("call_a", "get_weather"),
        ("call_b", "get_time"),
    ]
    assert calls[0].function.parse_arguments() == {"city": "😀 é"}
    assert calls[0].function.arguments == '{"city": "😀 \\u00e9"}'
    assert [c.to_dict() for c in s.tool_calls] == [c.to_dict() for c in calls]


def test_delta_tool_calls_are_typed(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(stream([], tool_calls=[PARIS], finish_reason="tool_calls"))
    with client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as s:
        fragments = [f for c in s for f in c.choices[0].delta.tool_calls or []]
    assert all(isinstance(f, ChoiceDeltaToolCall) for f in fragments)
    assert fragments[0].id == "call_0" and fragments[0].function is not None
    assert fragments[0].function.name == "get_weather"


def test_json_mode_sends_its_fields_and_reads_the_object(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(json_completion('{"answer": 42}'))
    assert user.json_mode(client, "answer in JSON") == {"answer": 42}
    sent = api.requests[0].json()
    assert sent["response_format"] == {"type": "json_object"}
    assert (sent["seed"], sent["temperature"], sent["max_completion_tokens"]) == (7, 0, 50)


def test_dumps_keep_known_and_unknown_fields(client: AtdakClient, api: FakeAPIServer) -> None:
    usage = {
        "prompt_tokens": 5,
        "completion_tokens": 2,
        "total_tokens": 7,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 1},
    }
    extra = {"system_fingerprint": "fp_1", "prompt_filter_results": [{"ok": True}]}
    api.enqueue(json_completion("hi", usage=usage, extra=extra))
    dumped, from_json, as_sent = user.dumps(client, "hi")
    assert as_sent["usage"] == usage and as_sent["prompt_filter_results"] == [{"ok": True}]
    assert from_json == dumped
    assert dumped["system_fingerprint"] == "fp_1" and dumped["service_tier"] is None
    assert dumped["choices"][0]["message"]["refusal"] is None
    assert dumped["choices"][0]["logprobs"] is None


def test_known_optional_and_unknown_fields_are_attributes(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 2,
             "prompt_tokens_details": {"cached_tokens": 4},
             "completion_tokens_details": {"reasoning_tokens": 1}}  # fmt: skip
    logprobs = {"content": [{"token": "hi", "logprob": -0.5, "bytes": [104, 105],
                             "top_logprobs": [{"token": "hi", "logprob": -0.5}]}]}  # fmt: skip
    api.enqueue(
        json_completion(
            "hi",
            usage=usage,
            extra={"system_fingerprint": "fp_1", "prompt_filter_results": [], "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "hi", "refusal": None},
                 "finish_reason": "stop", "logprobs": logprobs}]},
        )
    )  # fmt: skip
    completion = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], logprobs=True, top_logprobs=1
    )
    assert completion.system_fingerprint == "fp_1"
    assert completion.prompt_filter_results == []  # type: ignore[attr-defined]  # unknown field
    assert completion.request_id == completion._request_id == "req_fake_0"
    assert completion.usage is not None and completion.usage.total_tokens == 7
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 4
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 1
    choice = completion.choices[0]
    assert choice.message.refusal is None and choice.logprobs is not None
    assert choice.logprobs.content is not None
    assert choice.logprobs.content[0].top_logprobs[0].logprob == -0.5
    with pytest.raises(AttributeError):
        _ = completion.no_such_field  # type: ignore[attr-defined]


def test_chunks_dump_and_expose_unknown_fields(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue(stream(["a"], chunk_extra={"system_fingerprint": "fp_2", "obfuscation": "xy"}))
    with client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as s:
        chunks: list[ChatCompletionChunk] = list(s)
    first = chunks[0]
    assert first.system_fingerprint == "fp_2" and first.obfuscation == "xy"  # type: ignore[attr-defined]
    assert first.to_dict()["obfuscation"] == "xy"
    assert json.loads(first.to_json())["choices"][0]["delta"] == {
        "role": "assistant",
        "content": "",
    }
    assert first.model_dump()["choices"][0]["delta"]["tool_calls"] is None
    assert json.loads(first.model_dump_json()) == first.model_dump()


def test_raw_and_streaming_responses(client: AtdakClient, api: FakeAPIServer) -> None:
    assert user.raw_response(client, "x") == ("req_fake_0", 200, "echo: x")
    assert user.streaming_response(client, "y") == (200, "echo: y")


def test_raw_response_of_a_stream_parses_to_the_stream(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "z"}], stream=True
    )
    assert raw.headers["content-type"] == "text/event-stream"
    with raw.parse() as s:
        assert "".join(c.choices[0].delta.content for c in s) == "echo: z"


def test_streaming_response_reads_only_when_asked(client: AtdakClient, api: FakeAPIServer) -> None:
    with client.chat.completions.with_streaming_response.create(
        model="m", messages=[{"role": "user", "content": "z"}], stream=True
    ) as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]" and response.http_response.is_closed


def test_per_request_options_reach_the_server(client: AtdakClient, api: FakeAPIServer) -> None:
    assert user.per_request_options(client, "opts") == "echo: opts"
    (request,) = api.requests
    assert request.headers["x-trace"] == "t-1"
    assert request.query == "api-version=2024-10-21"
    assert request.json()["top_k"] == 3


def test_default_query_and_headers_are_sent_and_merged(api: FakeAPIServer) -> None:
    with AtdakClient(
        api_key="k", base_url=api.base_url, default_query={"a": 1}, default_headers={"X-A": "1"}
    ) as c:
        c.with_options(default_query={"b": True}).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "q"}], extra_headers={"X-A": None}
        )
        assert not c.is_closed()
    assert c.is_closed()
    (request,) = api.requests
    assert request.query == "a=1&b=true" and "x-a" not in request.headers


def test_models_list_and_retrieve(client: AtdakClient, api: FakeAPIServer) -> None:
    api.enqueue_for("/v1/models/atdak-gpt-4", json_reply({"id": "atdak-gpt-4", "object": "model"}))
    listed, retrieved = user.models(client)
    assert listed[0] == retrieved == "atdak-gpt-4" and len(listed) == 4
    assert api.requests[1].path == "/v1/models/atdak-gpt-4"


def test_a_model_list_that_is_not_one_is_a_validation_error(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue_for("/v1/models", json_reply({"object": "list", "data": "nope"}))
    assert user.model_list_error(client) == "APIResponseValidationError"


STATUS_CASES = [
    (400, "BadRequestError"),
    (401, "AuthenticationError"),
    (403, "PermissionDeniedError"),
    (404, "NotFoundError"),
    (409, "ConflictError"),
    (422, "UnprocessableEntityError"),
    (429, "RateLimitError"),
    (500, "InternalServerError"),
    (418, "APIStatusError"),
]


@pytest.mark.parametrize(("status", "name"), STATUS_CASES)
def test_every_status_error_class(
    client: AtdakClient, api: FakeAPIServer, status: int, name: str
) -> None:
    api.enqueue(error(status, openai_error("no")))
    assert user.error_class(client) == (name, status)


def test_connection_and_timeout_error_classes(client: AtdakClient, api: FakeAPIServer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with user.make_client(f"http://127.0.0.1:{port}/v1", max_retries=0) as refused:
        assert user.error_class(refused) == ("APIConnectionError", None)
    api.enqueue(stall(5))
    assert user.error_class(client, timeout=0.3) == ("APITimeoutError", None)


def test_a_stall_mid_stream_is_an_api_timeout_error(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    api.enqueue(stall(5, after_events=["Hel"]))
    assert user.error_class(client, stream=True, timeout=0.5) == ("APITimeoutError", None)
    api.enqueue(stall(5, after_events=["Hel"]))
    with pytest.raises(StreamTimeoutError) as info:
        for _ in client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True, timeout=0.5
        ):
            pass
    assert isinstance(info.value, APITimeoutError) and info.value.partial == "Hel"


def test_out_of_range_values_are_refused_before_sending(
    client: AtdakClient, api: FakeAPIServer
) -> None:
    messages = [{"role": "user", "content": "hi"}]
    for name, value in [("temperature", 2.5), ("frequency_penalty", -3), ("presence_penalty", 9)]:
        with pytest.raises(ValueError, match=name):
            client.chat.completions.create(model="m", messages=messages, **{name: value})
    with pytest.raises(TypeError, match="temprature"):
        client.chat.completions.create(model="m", messages=messages, temprature=1)  # type: ignore[call-arg]
    assert api.requests == []


def test_every_chat_field_is_sent_as_given(client: AtdakClient, api: FakeAPIServer) -> None:
    fields: dict[str, Any] = {
        "tools": [user.WEATHER_TOOL], "tool_choice": "none", "parallel_tool_calls": False,
        "response_format": {"type": "text"}, "seed": 1, "stop": ["\n"], "n": 1,
        "logprobs": True, "top_logprobs": 2, "user": "u-1", "max_completion_tokens": 9,
        "stream_options": {"include_usage": True}, "reasoning_effort": "low",
        "metadata": {"k": "v"}, "service_tier": "auto", "temperature": 2, "top_p": 0.5,
        "frequency_penalty": -2, "presence_penalty": 2, "max_tokens": 8, "logit_bias": {"1": 2},
        "store": False, "modalities": ["text"], "verbosity": "low", "prompt_cache_key": "c",
        "safety_identifier": "s",
    }  # fmt: skip
    client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True, **fields
    ).close()
    sent = api.requests[0].json()
    assert {k: sent[k] for k in fields} == fields


def test_async_client_runs_the_same_user_code(api: FakeAPIServer) -> None:
    assert asyncio.run(user.ask_async(api.base_url, "as")) == ("echo: as",) * 4
    answers, closed = asyncio.run(user.async_gather(api.base_url, ["1", "2", "3"]))
    assert answers == ["echo: 1", "echo: 2", "echo: 3"] and closed
    api.enqueue(error(429, openai_error("slow")))
    assert user.async_error_class(api.base_url) == ("RateLimitError", 429)


OPENAI_IMPORT = "from openai import (  # the import line"


@pytest.mark.skipif(importlib.util.find_spec("openai") is None, reason="openai not installed")
def test_the_user_code_is_openai_code(api: FakeAPIServer, tmp_path: Path) -> None:
    """Where openai-python is installed, the same body runs with its import line."""
    source = Path(user.__file__).read_text(encoding="utf-8")
    source = source.replace("from atdak import (  # the import line", OPENAI_IMPORT)
    source = source.replace(
        "from atdak import AsyncAtdakClient as AsyncOpenAI", "from openai import AsyncOpenAI"
    )
    source = source.replace("from atdak import AtdakClient as OpenAI", "from openai import OpenAI")
    (tmp_path / "openai_body.py").write_text(source, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        import openai_body  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    with openai_body.make_client(api.base_url, max_retries=0) as c:
        assert openai_body.ask(c, "x") == "echo: x"
        assert openai_body.ask_streaming(c, "y") == "echo: y"
