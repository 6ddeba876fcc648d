"""The conversation on screen: the system prompt, the exchanges so far, and what fits in the
context. (An API message is :data:`~atdak_cli.turn.ApiMessage`; a saved one,
:class:`~atdak_cli.history.rows.StoredMessage`.)

Nothing here does I/O; the REPL (:mod:`atdak_cli.repl`) owns the terminal and the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from atdak_cli import catalog
from atdak_cli.turn import AnswerStatus, ApiMessage

Role = Literal["user", "assistant", "tool"]


@dataclass(frozen=True)
class ChatMessage:
    """One user or assistant message (or a tool's result); an answer keeps how it ended.
    ``extra`` holds tool use as the API has it: ``tool_calls``, ``tool_call_id``."""

    role: Role
    content: str
    status: AnswerStatus = "complete"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_api(self) -> ApiMessage:
        message = {"role": self.role, "content": self.content, **self.extra}
        if "tool_calls" in self.extra and not self.content:
            message["content"] = None
        return message

    @classmethod
    def from_api(cls, message: Mapping[str, Any]) -> ChatMessage:
        extra = {k: message[k] for k in ("tool_calls", "tool_call_id") if k in message}
        role = message["role"]
        return cls(role, str(message.get("content") or ""), extra=extra)


@dataclass
class Conversation:
    """A system prompt and the messages after it, oldest first."""

    system: str | None = None
    messages: list[ChatMessage] = field(default_factory=list)
    # Tokens the server counted for the context after the last answer: exact, unlike the
    # estimate, but only while nothing has been removed since.
    measured_tokens: int | None = None

    @classmethod
    def from_api(cls, messages: Sequence[ApiMessage], *, system: str | None = None) -> Conversation:
        """A conversation from API-shaped messages (a stored one's system prompt wins)."""
        conversation = cls(system=system)
        for message in messages:
            role, content = message["role"], message["content"]
            if role == "system":
                conversation.system = content
            elif role in ("user", "assistant", "tool"):
                conversation.messages.append(ChatMessage.from_api(message))
        return conversation

    def api_messages(self) -> list[ApiMessage]:
        """What the next request sends: the system prompt first, then every message."""
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + [m.as_api() for m in self.messages]

    def add_user(self, text: str) -> None:
        self.messages.append(ChatMessage("user", text))

    def add_answer(self, text: str, status: AnswerStatus = "complete") -> None:
        """The answer to the last question; an answer that never began adds nothing."""
        if text or status == "complete":
            self.messages.append(ChatMessage("assistant", text, status))

    def last_answer(self) -> ChatMessage | None:
        for message in reversed(self.messages):
            if message.role == "assistant":
                return message
        return None

    def undo(self) -> bool:
        """Drop the last exchange (the last question and anything after it)."""
        for index in range(len(self.messages) - 1, -1, -1):
            if self.messages[index].role == "user":
                del self.messages[index:]
                self.measured_tokens = None
                return True
        return False

    def prepare_retry(self) -> bool:
        """Drop the answers after the last question, so that it can be sent again."""
        while self.messages and self.messages[-1].role != "user":
            self.messages.pop()
            self.measured_tokens = None
        return bool(self.messages)

    def clear(self) -> None:
        self.messages.clear()
        self.measured_tokens = None

    def estimated_tokens(self) -> int:
        return sum(catalog.estimate_tokens(m.get("content") or "") for m in self.api_messages())

    def context_tokens(self) -> int:
        """The best known size of the next request's context."""
        return max(self.estimated_tokens(), self.measured_tokens or 0)

    def fit(self, limit: int) -> int:
        """Drop the oldest exchanges (never the system prompt, never the last question) until
        the estimate fits in ``limit`` tokens; returns how many messages were dropped."""
        dropped = 0
        while self.estimated_tokens() > limit and self._drop_oldest_exchange():
            dropped += 1
        if dropped:
            self.measured_tokens = None
        return dropped

    def _drop_oldest_exchange(self) -> bool:
        last_question = max(
            (i for i, m in enumerate(self.messages) if m.role == "user"), default=None
        )
        if not last_question:  # none, or the only question is the first message
            return False
        end = 1
        while end < last_question and self.messages[end].role != "user":
            end += 1
        del self.messages[:end]
        return True

    def to_markdown(self, *, model: str | None = None) -> str:
        """The conversation as a Markdown document (``/save``)."""
        from atdak_cli.history.export import conversation_markdown

        messages: list[tuple[str, str, str]] = (
            [("system", self.system, "complete")] if self.system else []
        )
        messages += [(m.role, m.content, m.status) for m in self.messages]
        title = f"Conversation with {model}" if model else "Conversation"
        return conversation_markdown(title, messages)
