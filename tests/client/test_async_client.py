"""``AsyncAtdakClient`` against the loopback server: the sync client's retries, deadlines,
decoder and errors, awaited (the openai-style round trip is in test_library_openai_compat)."""

from __future__ import annotations

import asyncio
from typing import Any

from atdak import (
    APITimeoutError,
    AsyncAtdakClient,
    IncompleteStreamError,
    RateLimitError,
    StreamTimeoutError,
    Timeout,
)
from atdak_cli.client import RetryPolicy
from tests.utils.api_server import (
    FakeAPIServer,
    error,
    keepalive_forever,
    openai_error,
    stall,
    stream,
)

MESSAGES = [{"role": "user", "content": "hi"}]


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def client_for(api: FakeAPIServer, waits: list[float], **options: Any) -> AsyncAtdakClient:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    policy = RetryPolicy(max_retries=2, async_sleep=sleep, jitter=lambda: 0.0)
    return AsyncAtdakClient(api_key="k", base_url=api.base_url, retry_policy=policy, **options)


def test_retries_honour_retry_after_then_succeed(api: FakeAPIServer) -> None:
    api.enqueue(error(429, openai_error("slow"), headers={"Retry-After": "1"}), error(503))
    waits: list[float] = []

    async def ask() -> str | None:
        async with client_for(api, waits) as client:
            completion = await client.chat.completions.create(model="m", messages=MESSAGES)
            return completion.choices[0].message.content

    assert run(ask()) == "echo: hi"
    assert waits == [1.0, 1.0] and len(api.requests) == 3


def test_retries_give_up_with_the_sync_clients_error(api: FakeAPIServer) -> None:
    api.set_default(error(429, openai_error("slow")))
    waits: list[float] = []

    async def ask() -> BaseException:
        async with client_for(api, waits) as client:
            try:
                await client.chat.completions.create(model="m", messages=MESSAGES)
            except RateLimitError as exc:
                return exc
        raise AssertionError("no error")

    exc = run(ask())
    assert exc.status_code == 429 and waits == [0.5, 1.0]


def test_first_content_deadline_cuts_a_keepalive_only_stream(api: FakeAPIServer) -> None:
    # Comments keep arriving, so only the watchdog (the event loop's timer) can end it.
    api.enqueue(keepalive_forever(0.05))
    timeout = Timeout(total=10, first_content=0.4)

    async def ask() -> BaseException:
        async with client_for(api, [], timeout=timeout) as client:
            s = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            try:
                async for _ in s:
                    pass
            except StreamTimeoutError as exc:
                return exc
        raise AssertionError("no error")

    started = asyncio.run(_timed(ask()))
    exc, seconds = started
    assert isinstance(exc, APITimeoutError) and "no answer within 0.4 s" in str(exc)
    assert seconds < 3


async def _timed(coroutine: Any) -> tuple[Any, float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await coroutine
    return result, loop.time() - started


def test_a_stall_mid_answer_keeps_the_partial_text(api: FakeAPIServer) -> None:
    api.enqueue(stall(5, after_events=["Hel", "lo"]))

    async def ask() -> BaseException:
        async with client_for(api, []) as client:
            s = await client.chat.completions.create(
                model="m", messages=MESSAGES, stream=True, timeout=0.5
            )
            try:
                async with s:
                    async for _ in s:
                        pass
            except APITimeoutError as exc:
                return exc
        raise AssertionError("no error")

    exc = run(ask())
    assert isinstance(exc, IncompleteStreamError) and exc.partial == "Hello"


def test_a_cut_stream_raises_with_the_partial_text(api: FakeAPIServer) -> None:
    api.enqueue(stream(["a", "b", "c"], cut_after_events=3))

    async def ask() -> tuple[list[str], BaseException]:
        seen: list[str] = []
        async with client_for(api, []) as client:
            s = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            try:
                async for chunk in s:
                    seen.append(chunk.choices[0].delta.content)
            except IncompleteStreamError as exc:
                return seen, exc
        raise AssertionError("no error")

    seen, exc = run(ask())
    assert "".join(seen) == "ab" and exc.partial == "ab"  # type: ignore[attr-defined]


def test_leaving_async_with_early_closes_the_response(api: FakeAPIServer) -> None:
    api.enqueue(keepalive_forever(0.05, deltas_before=["x"]))

    async def ask() -> bool:
        async with client_for(api, []) as client:
            s = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            async with s:
                async for chunk in s:
                    if chunk.choices[0].delta.content == "x":
                        break
            return s.response.is_closed

    assert run(ask()) is True
