"""The call loop on the app's turns: each request of a chain is one :func:`run_turn`
(shown as it streams, recorded on every way out), the calls and results between them saved
as messages of the same conversation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from atdak_cli.tools.loop import Message, ModelReply, ToolSession, run_chain
from atdak_cli.turn import AnswerStatus, ApiMessage, TurnRecorder, TurnRequest, TurnResult, run_turn

if TYPE_CHECKING:
    from atdak_cli.client import AtdakClient
    from atdak_cli.history.recorder import HistoryRecorder
    from atdak_cli.render import Renderer


class _ChainRecorder:
    """The question once, then one answer row per request of the chain."""

    def __init__(self, inner: TurnRecorder | None, added: list[Message]) -> None:
        self.inner = inner
        self.rounds = 0
        self.added = added

    def question(self, request: TurnRequest) -> None:
        if self.inner is None:
            return
        next_answer = getattr(self.inner, "next_answer", None)
        if self.rounds and next_answer is not None:
            next_answer(request)
        elif not self.rounds:
            self.inner.question(request)
        self.rounds += 1

    def answer(self, request: TurnRequest, result: TurnResult) -> None:
        if self.inner is not None:
            self.inner.answer(request, result)

    def message(self, message: Message) -> None:
        self.added.append(message)
        recorder = cast("HistoryRecorder | None", self.inner)
        if message.get("role") == "tool" and hasattr(recorder, "tool_message"):
            content = str(message.get("content") or "")
            status: AnswerStatus = "complete"
            if content.startswith("error: not run"):
                status = "interrupted"
            recorder.tool_message(message, status=status)  # type: ignore[union-attr]


def run_tool_turns(
    client: AtdakClient,
    request: TurnRequest,
    session: ToolSession,
    *,
    renderer: Callable[[], Renderer | None],
    recorder: TurnRecorder | None = None,
    added: list[Message] | None = None,
) -> tuple[TurnResult, list[Message]]:
    """Ask, run the calls the model asks for, ask again, until it answers; the last turn's
    result and every message the chain added (assistant calls, tool results, the answer).
    ``added`` hears the calls and results as they come, however the chain ends."""
    chain_recorder = _ChainRecorder(recorder, added if added is not None else [])
    session.on_message = chain_recorder.message
    messages: list[Message] = list(request.messages)
    asked = len(messages)
    last: list[TurnResult] = []

    def send(current: list[Message]) -> ModelReply:
        turn = replace(
            request,
            messages=cast("list[ApiMessage]", list(current)),
            tools=session.toolbox.api_tools() or None,
            on_tool_call=session.toolbox.start_background,
        )
        result = run_turn(client, turn, renderer=renderer(), recorder=chain_recorder)
        last[:] = [result]
        return ModelReply(result.text, result.calls, result.finish_reason)

    reply = run_chain(send, messages, session)
    messages.append({"role": "assistant", "content": reply.text})
    return last[0], messages[asked:]


def tool_runs(session: ToolSession) -> Callable[[], list[dict[str, Any]]]:
    """Collects each call and its result for ``--json``; call the returned function after."""
    runs: list[dict[str, Any]] = []

    def heard(call: Any, result: Any) -> None:
        runs.append(
            {
                "id": call.id,
                "name": call.name,
                "arguments": call.arguments,
                "outcome": result.outcome,
                "result": result.text,
                "seconds": round(result.seconds, 3),
            }
        )

    session.on_result = heard
    return lambda: runs
