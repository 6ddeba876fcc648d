"""A conversation as a Markdown document (the REPL's ``/save``, ``history show|export``) or as
JSON-ready data (``history export --format json``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from atdak_cli.history.rows import StoredConversation


def conversation_markdown(
    title: str,
    messages: Iterable[tuple[str, str, str]],
    *,
    byline: str = "",
    footer: str = "",
) -> str:
    """``# title``, an optional italic byline, a ``## Role`` section per (role, content,
    status) message (the status shown when the message did not complete), an optional italic
    footer."""
    parts = [f"# {title}"]
    if byline:
        parts.append(f"_{byline}_")
    for role, content, status in messages:
        note = "" if status == "complete" else f" ({status})"
        parts.append(f"## {role.capitalize()}{note}\n\n{content.strip()}")
    if footer:
        parts.append(f"_{footer}_")
    return "\n\n".join(parts) + "\n"


def stored_markdown(conversation: StoredConversation) -> str:
    """The conversation as a Markdown document: a heading per message."""
    byline = (
        f"#{conversation.id} · {conversation.model} · "
        f"{conversation.created.astimezone():%Y-%m-%d %H:%M}"
    )
    prompt, completion = _usage_sum(conversation)
    footer = f"tokens: {prompt} prompt + {completion} completion" if prompt or completion else ""
    messages = [(m.role, m.content, m.status) for m in conversation.messages]
    return conversation_markdown(
        conversation.title or "(untitled)", messages, byline=byline, footer=footer
    )


def _usage_sum(conversation: StoredConversation) -> tuple[int, int]:
    prompt = sum(m.prompt_tokens or 0 for m in conversation.messages)
    completion = sum(m.completion_tokens or 0 for m in conversation.messages)
    return prompt, completion
