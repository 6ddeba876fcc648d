"""Saving exchanges in the history as they happen: nothing is lost, whatever the way out."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from atdak_cli.errors import ConversationNotFound, HistoryError, UsageError
from atdak_cli.history.store import HistoryStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from atdak_cli.history.rows import StoredMessage
    from atdak_cli.turn import AnswerStatus, TurnRequest, TurnResult


class HistoryRecorder:
    """A :class:`~atdak_cli.turn.TurnRecorder` that writes to ``history.db``.

    The question, and an empty answer marked ``incomplete``, are saved before the request is
    sent; the answer is filled in on every way out. A history that cannot be written never
    stops the answer: the first failure is kept in ``failure`` for the command's exit status.
    """

    def __init__(
        self,
        path: Path,
        *,
        conversation_id: int | None = None,
        profile: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self.path = path
        self.conversation_id = conversation_id
        self.failure: HistoryError | None = None
        self._profile = profile
        self._host = urlsplit(base_url).hostname if base_url else None
        self._store: HistoryStore | None = None
        self._answer_id: int | None = None

    def __enter__(self) -> HistoryRecorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def question(self, request: TurnRequest, *, resend: bool = False) -> None:
        """Save the question (``resend``: it is stored already; only a new answer is coming,
        as for the REPL's ``/retry``)."""
        self._guarded(lambda store: self._save_question(store, request, resend=resend))

    def answer(self, request: TurnRequest, result: TurnResult) -> None:
        self._guarded(lambda store: self._save_answer(store, request, result))

    def _save_question(self, store: HistoryStore, request: TurnRequest, *, resend: bool) -> None:
        # One transaction: a conversation is never left without its question.
        with store.batch():
            conversation_id = self.conversation_id
            if conversation_id is None:
                conversation_id = store.start_conversation(
                    model=request.model, profile=self._profile, host=self._host
                )
                unsaved = list(request.messages)
            elif resend:
                # The question is stored already; the answers it replaces go.
                store.drop_after_last_question(conversation_id, with_question=False)
                unsaved = []
            else:
                unsaved = list(request.messages)[-1:]  # the earlier ones are stored already
            for message in unsaved:
                store.add_message(conversation_id, role=message["role"], content=message["content"])
            answer_id = store.add_message(
                conversation_id,
                role="assistant",
                content="",
                status="incomplete",
                model=request.model,
                params=request.params,
            )
        self.conversation_id, self._answer_id = conversation_id, answer_id

    def next_answer(self, request: TurnRequest) -> None:
        """Another answer to the same question is coming (the next round of tool calls):
        its messages so far are stored, only the answer's row is new."""

        def add(store: HistoryStore) -> None:
            if self.conversation_id is not None:
                self._answer_id = store.add_message(
                    self.conversation_id,
                    role="assistant",
                    content="",
                    status="incomplete",
                    model=request.model,
                    params=request.params,
                )

        self._guarded(add)

    def tool_message(self, message: Mapping[str, Any], *, status: AnswerStatus) -> None:
        """A tool's result as it was sent to the model."""
        conversation_id = self.conversation_id
        if conversation_id is not None:
            self._guarded(
                lambda store: store.add_message(
                    conversation_id,
                    role="tool",
                    content=str(message.get("content") or ""),
                    status=status,
                    tool_call_id=str(message.get("tool_call_id") or ""),
                )
            )

    def undo(self) -> None:
        """Forget the last exchange, as the REPL's ``/undo`` did: ``--continue`` must not
        send it again."""
        conversation_id = self.conversation_id
        if conversation_id is not None:
            self._guarded(
                lambda store: store.drop_after_last_question(conversation_id, with_question=True)
            )

    def system(self, content: str | None) -> None:
        """The system prompt changed (``/system``, ``/role``): the stored conversation follows."""
        conversation_id = self.conversation_id
        if conversation_id is not None:
            self._guarded(lambda store: store.set_system_prompt(conversation_id, content))

    def _save_answer(self, store: HistoryStore, request: TurnRequest, result: TurnResult) -> None:
        if self._answer_id is None:
            return
        usage = result.usage.to_dict() if result.usage is not None else None
        store.update_message(
            self._answer_id,
            content=result.text,
            status=result.status,
            finish_reason=result.finish_reason,
            usage=usage,
            error=result.error,
            reasoning=result.reasoning or None,
            tool_calls=result.calls or None,
        )
        self._answer_id = None

    def _guarded(self, action: Callable[[HistoryStore], object]) -> None:
        if self.failure is not None:
            return
        try:
            if self._store is None:
                self._store = HistoryStore.open(self.path)
            action(self._store)
        except HistoryError as exc:
            self.failure = exc


def load_context(path: Path, conversation_id: int | None) -> tuple[int, list[dict[str, str]]]:
    """The messages of a stored conversation (the latest when ``conversation_id`` is None),
    as context for the next request: answers that never came are left out."""
    with HistoryStore.open(path, readonly=True) as store:
        wanted = store.latest_conversation_id() if conversation_id is None else conversation_id
        if wanted is None:
            raise UsageError("there is no conversation to continue yet")
        try:
            conversation = store.get_conversation(wanted)
        except ConversationNotFound:
            raise UsageError(
                f"no conversation #{wanted}", hint="see `atdak history list`"
            ) from None
    return wanted, [
        api_message(m)
        for m in conversation.messages
        if m.content or m.role in ("user", "tool") or m.tool_calls
    ]


def api_message(message: StoredMessage) -> dict[str, Any]:
    """A stored message as the API takes it: tool calls and tool results with their ids."""
    sent: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        sent["tool_calls"] = message.tool_calls
        sent["content"] = message.content or None
    if message.role == "tool":
        sent["tool_call_id"] = message.tool_call_id or ""
    return sent
