"""The call loop: send the tools; when the model asks for calls, run them (concurrently),
send the results as ``tool`` messages, and go on until it answers, at most ``chain_limit``
rounds of calls.

Every assistant message that asks for calls is followed by one ``tool`` message per call,
whatever happens (declined, refused, interrupted, the chain limit): the conversation stays
one the API accepts when it is continued.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from atdak_cli.errors import AppError, ExitStatus
from atdak_cli.tools.approval import DECLINED, Approver
from atdak_cli.tools.display import ToolDisplay
from atdak_cli.tools.spec import ToolCall, ToolResult
from atdak_cli.tools.toolbox import Prepared, Toolbox, result_for_model

DEFAULT_CHAIN_LIMIT = 5
Message = dict[str, Any]


@dataclass
class ModelReply:
    """One answer of the model: text, and the tool calls it asked for (joined deltas)."""

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None


Send = Callable[[list[Message]], ModelReply]


class ChainLimitError(AppError):
    """The model kept asking for tools: no answer within the chain limit (exit 9)."""

    status = ExitStatus.UNUSABLE

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the model asked for tools again after {limit} rounds of calls, without answering",
            hint="raise --chain-limit, or ask for less at once (the calls so far are kept)",
        )


@dataclass
class ToolSession:
    """What one conversation's tool use needs besides the messages."""

    toolbox: Toolbox
    approver: Approver
    display: ToolDisplay
    chain_limit: int = DEFAULT_CHAIN_LIMIT
    # Hears every message the loop adds, as it is added (history saves them).
    on_message: Callable[[Message], None] = lambda message: None
    # Hears each call with its result, as sent (--json reports them, with their times).
    on_result: Callable[[ToolCall, ToolResult], None] = lambda call, result: None


def run_chain(send: Send, messages: list[Message], session: ToolSession) -> ModelReply:
    """Ask until the model answers without a tool call; ``messages`` grows in place."""
    rounds = 0
    while True:
        reply = send(messages)
        if not reply.tool_calls:
            return reply
        session.toolbox.start_background()  # if the sender did not already
        calls = [ToolCall.from_api(call, i) for i, call in enumerate(reply.tool_calls)]
        _add(messages, session, assistant_message(reply.text, calls))
        if rounds >= session.chain_limit:
            note = f"error: not run: atdak's chain limit ({session.chain_limit}) was reached"
            _add_results(messages, session, calls, [ToolResult(note, "error")] * len(calls))
            raise ChainLimitError(session.chain_limit)
        rounds += 1
        run_calls(calls, messages, session)


def assistant_message(text: str, calls: list[ToolCall]) -> Message:
    return {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [call.to_api() for call in calls],
    }


def tool_message(call: ToolCall, result: ToolResult) -> Message:
    return {"role": "tool", "tool_call_id": call.id, "content": result.text}


def run_calls(calls: list[ToolCall], messages: list[Message], session: ToolSession) -> None:
    """Check, approve (one at a time) and run (all at once) the calls of one reply, then add
    their results, filled in for calls that never ran if something stopped the round."""
    prepared = [session.toolbox.prepare(call) for call in calls]
    results: list[ToolResult | None] = [p.error for p in prepared]
    try:
        futures = {}
        for i, item in enumerate(prepared):
            if item.error is not None:
                session.display.call(_label(item), item.call.arguments)
                session.display.result(_label(item), item.error)
                continue
            decision = session.approver.decide(item)
            if not decision.run:
                results[i] = ToolResult(DECLINED, "declined")
                session.display.result(_label(item), results[i])  # type: ignore[arg-type]
                continue
            item.arguments = decision.arguments
            session.display.call(_label(item), decision.arguments)
            futures[i] = session.toolbox.submit(item)
        for i, future in futures.items():
            results[i] = result_for_model(future.result())
            session.display.result(_label(prepared[i]), results[i])  # type: ignore[arg-type]
    except BaseException as exc:
        why = "interrupted" if isinstance(exc, KeyboardInterrupt) else _why(exc)
        results = [r or ToolResult(f"error: not run ({why})", "interrupted") for r in results]
        raise
    finally:
        filled = [r or ToolResult("error: not run", "interrupted") for r in results]
        _add_results(messages, session, calls, filled)


def _label(item: Prepared) -> str:
    return item.offered.spec.qualified if item.offered else item.call.name


def _why(exc: BaseException) -> str:
    return getattr(exc, "message", None) or type(exc).__name__


def _add(messages: list[Message], session: ToolSession, message: Message) -> None:
    messages.append(message)
    session.on_message(message)


def _add_results(
    messages: list[Message],
    session: ToolSession,
    calls: list[ToolCall],
    results: list[ToolResult],
) -> None:
    for call, result in zip(calls, results, strict=True):
        session.on_result(call, result)
        _add(messages, session, tool_message(call, result))
