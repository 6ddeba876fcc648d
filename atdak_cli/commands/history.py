"""``atdak history``: list, show, search, delete and export stored conversations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from atdak_cli.errors import UsageError
from atdak_cli.history.export import stored_markdown
from atdak_cli.history.store import HistoryStore
from atdak_cli.text import format_columns

if TYPE_CHECKING:
    from atdak_cli.history.rows import StoredConversation
    from atdak_cli.terminal import Terminal

HIGHLIGHT = ("\x1b[1;33m", "\x1b[0m")
PLAIN_MARKS = ("«", "»")


def where() -> tuple[Path, Terminal]:
    """The history file and the terminal, as every ``atdak history`` command uses them."""
    from atdak_cli import paths
    from atdak_cli.terminal import open_terminal

    return paths.history_file(), open_terminal(None)


def list_conversations(path: Path, terminal: Terminal, *, limit: int, as_json: bool) -> None:
    with HistoryStore.open(path, readonly=True) as store:
        rows = store.list_conversations(limit)
    if as_json:
        data = [
            {
                "id": c.id,
                "updated": c.updated.isoformat(),
                "model": c.model,
                "title": c.title,
                "messages": c.message_count,
            }
            for c in rows
        ]
        _write(terminal, json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not rows:
        terminal.notice("atdak: no conversations yet")
        return
    table = [["ID", "UPDATED", "MODEL", "MSGS", "TITLE"]]
    table += [
        [f"#{c.id}", c.updated.astimezone().strftime("%Y-%m-%d %H:%M"), c.model,
         str(c.message_count), c.title]
        for c in rows
    ]  # fmt: skip
    _write(terminal, "\n".join(format_columns(table)))


def show_conversation(
    path: Path, terminal: Terminal, conversation_id: int | None, *, as_json: bool
) -> None:
    conversation = _load(path, conversation_id)
    if as_json:
        _write(terminal, json.dumps(conversation.to_dict(), ensure_ascii=False, indent=2))
        return
    text = stored_markdown(conversation)
    if terminal.stdout_isatty:
        from atdak_cli.render import make_renderer

        renderer = make_renderer(terminal, "markdown")
        renderer.start()
        renderer.feed(text)
        renderer.finish()
    else:
        _write(terminal, text.rstrip("\n"))


def search(path: Path, terminal: Terminal, query: str, *, limit: int, as_json: bool) -> None:
    marks = HIGHLIGHT if terminal.color and not as_json else PLAIN_MARKS
    with HistoryStore.open(path, readonly=True) as store:
        hits = store.search(query, limit=limit, start=marks[0], end=marks[1])
    if as_json:
        data = [
            {"conversation": h.conversation_id, "message": h.message_id, "role": h.role,
             "title": h.title, "snippet": h.snippet}
            for h in hits
        ]  # fmt: skip
        _write(terminal, json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not hits:
        terminal.notice(f"atdak: nothing matches {query!r}")
        return
    lines = [f"#{h.conversation_id} {h.role}: {' '.join(h.snippet.split())}" for h in hits]
    _write(terminal, "\n".join(lines))


def delete(path: Path, terminal: Terminal, conversation_id: int) -> None:
    with HistoryStore.open(path) as store:
        if not store.delete_conversation(conversation_id):
            raise UsageError(f"no conversation #{conversation_id}", hint="see `atdak history list`")
    terminal.notice(f"atdak: deleted conversation #{conversation_id}")


def export(path: Path, terminal: Terminal, conversation_id: int | None, *, fmt: str) -> None:
    """One conversation, or all of them (JSON Lines, or Markdown one after another)."""
    if fmt not in ("markdown", "json"):
        raise UsageError(f"--format must be markdown or json, not {fmt!r}")
    if conversation_id is not None:
        conversation = _load(path, conversation_id)
        text = (
            stored_markdown(conversation)
            if fmt == "markdown"
            else json.dumps(conversation.to_dict(), ensure_ascii=False, indent=2)
        )
        _write(terminal, text.rstrip("\n"))
        return
    with HistoryStore.open(path, readonly=True) as store:
        for conversation in store.iter_conversations():
            if fmt == "json":
                _write(terminal, json.dumps(conversation.to_dict(), ensure_ascii=False))
            else:
                _write(terminal, stored_markdown(conversation))


def _load(path: Path, conversation_id: int | None) -> StoredConversation:
    with HistoryStore.open(path, readonly=True) as store:
        wanted = store.latest_conversation_id() if conversation_id is None else conversation_id
        if wanted is None:
            raise UsageError("there are no conversations yet")
        return store.get_conversation(wanted)


def _write(terminal: Terminal, text: str) -> None:
    terminal.stdout.write(text + "\n")
    terminal.stdout.flush()
