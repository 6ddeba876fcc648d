"""The history's rows as frozen dataclasses: what the commands that read it get.

Only reads need them; writing an exchange never imports this module (creating the classes
costs ~4 ms, which ``tests/test_imports.py`` keeps off ``atdak complete``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from atdak_cli.history.search import ZWSP
from atdak_cli.turn import AnswerStatus


@dataclass(frozen=True)
class StoredMessage:
    """One stored message, user or assistant, with how its request ended."""

    id: int
    conversation_id: int
    position: int
    role: str
    content: str
    status: AnswerStatus
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    model: str | None
    params: dict[str, Any]
    error: str | None
    created: datetime
    updated: datetime
    reasoning: str | None = None
    # Tool use: the calls an assistant message asked for; the call a tool message answers.
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


@dataclass(frozen=True)
class ConversationSummary:
    """A row of ``history list``."""

    id: int
    created: datetime
    updated: datetime
    model: str
    title: str
    profile: str | None
    host: str | None
    message_count: int


@dataclass(frozen=True)
class StoredConversation:
    """A conversation with its messages in position order."""

    id: int
    created: datetime
    updated: datetime
    model: str
    title: str
    profile: str | None
    host: str | None
    messages: tuple[StoredMessage, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601) for ``history export --format json``."""
        data: dict[str, Any] = _jsonable(asdict(self))
        return data


@dataclass(frozen=True)
class SearchHit:
    """A message matching a search, with a snippet whose matches are wrapped in markers."""

    message_id: int
    conversation_id: int
    position: int
    role: str
    title: str
    model: str
    created: datetime
    snippet: str


@dataclass(frozen=True)
class UsageRow:
    """Tokens spent on one local day with one model."""

    day: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    responses: int
    cached_tokens: int = 0
    reasoning_tokens: int = 0


def message(row: tuple[Any, ...]) -> StoredMessage:
    id_, conversation_id, position, role, content, status, finish_reason = row[:7]
    prompt_tokens, completion_tokens, total_tokens, model, params, error = row[7:13]
    return StoredMessage(
        id=id_,
        conversation_id=conversation_id,
        position=position,
        role=role,
        content=content,
        status=status,
        finish_reason=finish_reason,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=total_tokens,
        model=model,
        params=json.loads(params),
        error=error,
        created=datetime.fromisoformat(row[13]),
        updated=datetime.fromisoformat(row[14]),
        reasoning=row[15],
        tool_calls=json.loads(row[16]) if row[16] else None,
        tool_call_id=row[17],
    )


def _conversation_fields(row: tuple[Any, ...]) -> dict[str, Any]:
    id_, created, updated, model, title, profile, host = row
    return {
        "id": id_,
        "created": datetime.fromisoformat(created),
        "updated": datetime.fromisoformat(updated),
        "model": model,
        "title": title,
        "profile": profile,
        "host": host,
    }


def summary(row: tuple[Any, ...]) -> ConversationSummary:
    """A ``history list`` row: the conversation's columns, then its message count."""
    return ConversationSummary(**_conversation_fields(row[:-1]), message_count=row[-1])


def conversation(head: tuple[Any, ...], rows: list[tuple[Any, ...]]) -> StoredConversation:
    return StoredConversation(
        **_conversation_fields(head), messages=tuple(message(r) for r in rows)
    )


def search_hit(row: tuple[Any, ...]) -> SearchHit:
    message_id, conversation_id, position, role, title, model, created, snippet = row
    return SearchHit(
        message_id=message_id,
        conversation_id=conversation_id,
        position=position,
        role=role,
        title=title,
        model=model,
        created=datetime.fromisoformat(created),
        snippet=snippet.replace(ZWSP, ""),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
