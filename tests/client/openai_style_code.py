# ruff: noqa: I001  (the import line comes first, as in the openai-python code it stands for)
"""User code written for openai-python, run by tests/test_library_openai_compat.py.

Nothing here knows of atdak but the import line (the first statement): with
``from openai import OpenAI, AsyncOpenAI, ...`` it is openai-python code as its README and
cookbook write it. The test scripts the loopback server and checks what each function returns.
"""

from atdak import (  # the import line
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from atdak import AsyncAtdakClient as AsyncOpenAI
from atdak import AtdakClient as OpenAI

import asyncio
import json

MODEL = "atdak-gpt-4"
ERROR_CLASSES = (
    BadRequestError,
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    ConflictError,
    UnprocessableEntityError,
    RateLimitError,
    InternalServerError,
    APIStatusError,
    APITimeoutError,
    APIConnectionError,
    APIResponseValidationError,
    APIError,
)


def make_client(base_url, **options):
    return OpenAI(api_key="sk-test", base_url=base_url, **options)


def ask(client, text):
    completion = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": text}]
    )
    return completion.choices[0].message.content


def ask_streaming(client, text):
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": text}], stream=True
    )
    parts = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content is not None:
            parts.append(chunk.choices[0].delta.content)
    return "".join(parts)


def ask_streaming_with_usage(client, text):
    """The openai cookbook's idiom: the usage comes in a last chunk without choices."""
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": text}],
        stream=True,
        stream_options={"include_usage": True},
    )
    parts, usage = [], None
    for chunk in stream:
        if not chunk.choices:
            usage = chunk.usage
            continue
        parts.append(chunk.choices[0].delta.content or "")
    return "".join(parts), usage.total_tokens if usage else None


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def get_weather(city):
    return {"city": city, "sky": "sunny"}


def tool_round_trip(client, question):
    """The model asks for a tool, the code answers with a `tool` message, the model ends."""
    messages = [{"role": "user", "content": question}]
    completion = client.chat.completions.create(
        model=MODEL, messages=messages, tools=[WEATHER_TOOL], tool_choice="auto"
    )
    message = completion.choices[0].message
    messages.append(message)
    for call in message.tool_calls or []:
        arguments = json.loads(call.function.arguments)
        result = get_weather(**arguments)
        messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
    final = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    return completion.choices[0].finish_reason, final.choices[0].message.content


def streamed_tool_calls(client, question):
    """Tool-call fragments joined by index, as openai's docs show."""
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": question}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    calls = {}
    for chunk in stream:
        if not chunk.choices:
            continue
        for delta in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            if delta.id:
                call["id"] = delta.id
            if delta.function and delta.function.name:
                call["name"] = delta.function.name
            if delta.function and delta.function.arguments:
                call["arguments"] += delta.function.arguments
    return [(c["name"], json.loads(c["arguments"])) for c in calls.values()]


def json_mode(client, question):
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": question}],
        response_format={"type": "json_object"},
        seed=7,
        temperature=0,
        max_completion_tokens=50,
    )
    return json.loads(completion.choices[0].message.content)


def dumps(client, text):
    completion = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": text}]
    )
    return completion.model_dump(), json.loads(completion.model_dump_json()), completion.to_dict()


def raw_response(client, text):
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": text}]
    )
    completion = raw.parse()
    return raw.headers.get("x-request-id"), raw.status_code, completion.choices[0].message.content


def streaming_response(client, text):
    with client.chat.completions.with_streaming_response.create(
        model=MODEL, messages=[{"role": "user", "content": text}]
    ) as response:
        status = response.status_code
        completion = response.parse()
    return status, completion.choices[0].message.content


def per_request_options(client, text):
    quick = client.with_options(max_retries=0, timeout=20.0)
    completion = quick.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": text}],
        extra_headers={"X-Trace": "t-1"},
        extra_query={"api-version": "2024-10-21"},
        extra_body={"top_k": 3},
        timeout=10.0,
    )
    return completion.choices[0].message.content


def models(client):
    listed = [model.id for model in client.models.list()]
    return listed, client.models.retrieve(listed[0]).id


def error_class(client, *, stream=False, timeout=None):
    """The name of the first class of ERROR_CLASSES that catches the failure (None: none)."""
    options = {} if timeout is None else {"timeout": timeout}
    try:
        if stream:
            for _ in client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True, **options
            ):
                pass
        else:
            client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hi"}], **options
            )
    except ERROR_CLASSES as exc:
        for cls in ERROR_CLASSES:
            if isinstance(exc, cls):
                return cls.__name__, getattr(exc, "status_code", None)
    return None


def model_list_error(client):
    try:
        client.models.list()
    except APIResponseValidationError as exc:
        return type(exc).__name__
    return None


async def ask_async(base_url, text):
    async with AsyncOpenAI(api_key="sk-test", base_url=base_url) as client:
        completion = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": text}]
        )
        stream = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": text}], stream=True
        )
        parts = []
        async with stream:
            async for chunk in stream:
                if chunk.choices:
                    parts.append(chunk.choices[0].delta.content or "")
        raw = await client.chat.completions.with_raw_response.create(
            model=MODEL, messages=[{"role": "user", "content": text}]
        )
        async with client.chat.completions.with_streaming_response.create(
            model=MODEL, messages=[{"role": "user", "content": text}]
        ) as response:
            streamed = await response.parse()
        return (
            completion.choices[0].message.content,
            "".join(parts),
            raw.parse().choices[0].message.content,
            streamed.choices[0].message.content,
        )


async def async_gather(base_url, texts):
    client = AsyncOpenAI(api_key="sk-test", base_url=base_url)
    try:
        answers = await asyncio.gather(*(ask_one_async(client, t) for t in texts))
    finally:
        await client.close()
    return answers, client.is_closed()


async def ask_one_async(client, text):
    completion = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": text}]
    )
    return completion.choices[0].message.content


def async_error_class(base_url):
    async def run():
        async with AsyncOpenAI(api_key="sk-test", base_url=base_url, max_retries=0) as client:
            try:
                await client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": "hi"}]
                )
            except RateLimitError as exc:
                return type(exc).__name__, exc.status_code
        return None

    return asyncio.run(run())
