"""A conversation as a Markdown document: the REPL's ``/save`` and ``history show|export``."""

from __future__ import annotations

from collections.abc import Iterable


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
