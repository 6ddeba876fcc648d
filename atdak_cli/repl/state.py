"""The chat session: what it knows between two prompts, and what it does with a question —
send it, fit the conversation to the model's context, and take the answer in after the turn.

Nothing here imports prompt_toolkit: the session works the same when a script pipes its
questions into ``atdak chat``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atdak_cli import catalog
from atdak_cli.config import Settings
from atdak_cli.conversation import ChatMessage, Conversation
from atdak_cli.errors import AppError, ExitStatus, error_line, report
from atdak_cli.turn import AnswerStatus, TurnRequest, TurnResult, run_turn, with_usage

if TYPE_CHECKING:
    from atdak_cli.client import AtdakClient, CompletionUsage
    from atdak_cli.compare import Outcome
    from atdak_cli.history.recorder import HistoryRecorder
    from atdak_cli.render import Renderer
    from atdak_cli.render.thinking import ThinkingView
    from atdak_cli.terminal import Terminal
    from atdak_cli.tools.loop import ToolSession


@dataclass
class Usage:
    """Tokens the server reported over the session."""

    prompt: int = 0
    completion: int = 0
    answers: int = 0

    def add(self, usage: CompletionUsage | None) -> None:
        if usage is not None:
            self.prompt += usage.prompt_tokens or 0
            self.completion += usage.completion_tokens or 0
            self.answers += 1


@dataclass
class ChatState:
    """Everything the session knows between two prompts."""

    settings: Settings
    terminal: Terminal
    conversation: Conversation
    history_path: Path | None  # None: --no-history
    conversation_id: int | None = None
    attachments: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    history_failure_shown: bool = False
    # --show-reasoning, toggled by /reasoning; the last answer's thinking (/reasoning last).
    show_reasoning: bool = False
    last_reasoning: str = ""
    # The answers of the last /compare, until one is kept (/keep N).
    comparison: list[Outcome] | None = None
    # How /compare opens a client for other settings; the view /reasoning unfolds.
    connect: Callable[[Settings], AbstractContextManager[AtdakClient]] | None = None
    reasoning_view: ThinkingView | None = None
    _recorder: HistoryRecorder | None = None
    # The tools offered in this session (-T, --functions), and who approves their calls.
    tools: ToolSession | None = None

    def say(self, text: str) -> None:
        self.terminal.notice(text)

    def recorder(self) -> HistoryRecorder | None:
        """The recorder of the current conversation, made on first use (sqlite3 is not
        needed to show the prompt)."""
        if self.history_path is None:
            return None
        if self._recorder is None:
            from atdak_cli.history.recorder import HistoryRecorder

            self._recorder = HistoryRecorder(
                self.history_path,
                conversation_id=self.conversation_id,
                profile=self.settings.profile,
                base_url=self.settings.base_url,
            )
        return self._recorder

    def set_system(self, system: str | None) -> None:
        """A new system prompt for the next requests, and in the stored conversation."""
        self.conversation.system = system
        recorder = self.recorder()
        if recorder is not None:
            recorder.system(system)

    def after_turn(self) -> None:
        if self._recorder is not None:
            self.conversation_id = self._recorder.conversation_id

    def switch(self, conversation_id: int | None, conversation: Conversation) -> None:
        """Go on with another conversation (``/clear``, ``/resume``)."""
        self.close()
        self.conversation_id, self.conversation = conversation_id, conversation
        self.attachments.clear()

    def close(self) -> None:
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None

    def context_limit(self) -> int | None:
        return catalog.context_length(self.settings.model)

    def context_use(self) -> str:
        used = catalog.format_tokens(self.conversation.context_tokens())
        return f"{used}/{catalog.format_tokens(self.context_limit())}"

    def toolbar(self) -> str:
        """``atdak-gpt-4 · #12 · 3.1K/128K``"""
        if self.history_path is None:
            where = "not saved"
        else:
            where = f"#{self.conversation_id}" if self.conversation_id else "new"
        return f"{self.settings.model} · {where} · {self.context_use()}"


# -- a question and its answer


def send(
    state: ChatState, client: Callable[[], AtdakClient], renderer: Renderer, text: str | None
) -> int:
    """Ask ``text`` (None: the last question again) and show the answer; the exit status.

    ``client`` gives the API client, waiting for it if it is still being made.
    KeyboardInterrupt propagates once the partial answer is in the conversation.
    """
    if not _add_question(state, text) or not _fit(state):
        return ExitStatus.USAGE
    try:
        request = _request(state)
    except AppError as exc:  # over the budget: nothing sent, the question not kept
        if text is not None:
            state.conversation.undo()
        status, line = report(exc)
        state.say(line)
        return status
    capture = _Capture(state.recorder(), resend=text is None)
    added: list[dict[str, Any]] = []
    try:
        with state.terminal.typed_keys_unechoed():
            if state.tools is None:
                run_turn(client(), request, renderer=renderer, recorder=capture)
            else:
                _with_tools(state, client(), request, renderer, capture, added)
    except Exception as exc:
        status, line = report(exc)
        state.say(line)
        return status
    finally:
        state.conversation.messages.extend(ChatMessage.from_api(m) for m in added)
        result = capture.result
        _after_turn(state, None if result is not None and result.calls else result)
    return _history_status(state)


def _with_tools(
    state: ChatState,
    client: AtdakClient,
    request: TurnRequest,
    renderer: Renderer,
    capture: _Capture,
    added: list[dict[str, Any]],
) -> None:
    from atdak_cli.tools.turns import run_tool_turns

    assert state.tools is not None
    run_tool_turns(client, request, state.tools, renderer=lambda: renderer, recorder=capture,
                   added=added)  # fmt: skip


def _add_question(state: ChatState, text: str | None) -> bool:
    conversation = state.conversation
    if text is None:
        conversation.prepare_retry()
        if not conversation.messages or conversation.messages[-1].role != "user":
            state.say("nothing to retry yet")
            return False
        return True
    conversation.add_user("\n\n".join([*state.attachments, text]))
    state.attachments.clear()
    return True


def _fit(state: ChatState) -> bool:
    """Drop the oldest exchanges if the request would not fit in the model's context."""
    limit = state.context_limit()
    if limit is None:
        return True
    model = state.settings.model
    dropped = state.conversation.fit(limit - (state.settings.max_tokens or 0))
    if dropped:
        noun = "exchange" if dropped == 1 else "exchanges"
        state.say(f"dropped the {dropped} oldest {noun} to fit {model}'s context")
    if state.conversation.estimated_tokens() <= limit:
        return True
    size = catalog.format_tokens(state.conversation.estimated_tokens())
    state.conversation.undo()
    state.say(
        error_line(
            f"the message is too long for {model} (~{size} tokens against "
            f"{catalog.format_tokens(limit)})",
            "nothing sent; Up recalls it",
        )
    )
    return False


def _request(state: ChatState) -> TurnRequest:
    settings = state.settings
    request = TurnRequest(
        model=settings.model,
        messages=state.conversation.api_messages(),
        params=settings.sampling(),
        stream=settings.stream,
    )
    from atdak_cli.budget import apply_request_options

    apply_request_options(request, settings)  # the effort; a budget refuses here
    return with_usage(request)  # token counts for /usage


def _after_turn(state: ChatState, result: TurnResult | None) -> None:
    if result is not None:
        state.conversation.add_answer(result.text, result.status)
        state.last_reasoning = result.reasoning
        state.usage.add(result.usage)
        if result.usage is not None and result.status == "complete":
            state.conversation.measured_tokens = result.usage.total_tokens
        if result.finish_reason == "length":
            state.say("[the answer was cut off at the token limit: /set max_tokens N]")
    state.after_turn()


def _history_status(state: ChatState) -> int:
    recorder = state.recorder()
    if recorder is None or recorder.failure is None:
        return ExitStatus.OK
    if not state.history_failure_shown:
        state.say(report(recorder.failure)[1])
        state.history_failure_shown = True
    return ExitStatus.HISTORY


class _Capture:
    """A turn recorder that keeps the result (however the turn ended) and passes it on."""

    def __init__(self, inner: HistoryRecorder | None, *, resend: bool) -> None:
        self._inner = inner
        self._resend = resend
        self.result: TurnResult | None = None

    def question(self, request: TurnRequest) -> None:
        if self._inner is not None:
            self._inner.question(request, resend=self._resend)

    def answer(self, request: TurnRequest, result: TurnResult) -> None:
        self.result = result
        if self._inner is not None:
            self._inner.answer(request, result)

    def next_answer(self, request: TurnRequest) -> None:
        if self._inner is not None:
            self._inner.next_answer(request)

    def tool_message(self, message: dict[str, Any], *, status: AnswerStatus) -> None:
        if self._inner is not None:
            self._inner.tool_message(message, status=status)
