"""One request of the call loop on :class:`AtdakClient`: streamed, the tool-call deltas
joined by the library's ``Stream.tool_calls``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from atdak_cli.tools.loop import Message, ModelReply, Send

if TYPE_CHECKING:
    from atdak_cli.client import AtdakClient


def api_sender(
    client: AtdakClient,
    *,
    model: str,
    tools: list[dict[str, Any]],
    on_text: Callable[[str], None] = lambda text: None,
    on_response: Callable[[], None] = lambda: None,
    params: dict[str, Any] | None = None,
) -> Send:
    """``send(messages)`` for :func:`run_chain`. ``on_response`` runs once the response has
    begun (the moment to start servers in the background); ``on_text`` hears each delta."""

    def send(messages: list[Message]) -> ModelReply:
        stream = client.chat.completions.create(
            model=model,
            messages=messages,
            stream=True,
            tools=tools or None,
            **(params or {}),
        )
        on_response()
        with stream:
            for chunk in stream:
                text = chunk.choices[0].delta.content if chunk.choices[0].index == 0 else ""
                if text:
                    on_text(text)
        calls = [call.to_dict() for call in stream.tool_calls]
        return ModelReply(stream.text, calls, stream.finish_reason)

    return send
