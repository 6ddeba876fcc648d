"""The history's schema: the migrations, append only, and the checks of a database's version.

A database's ``PRAGMA user_version`` is how many of :data:`MIGRATIONS` it has had.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from atdak_cli.errors import HistoryError
from atdak_cli.history.db import transaction
from atdak_cli.history.search import index_text


def m001_initial(conn: sqlite3.Connection) -> None:
    """Conversations and their messages."""
    conn.execute(
        """CREATE TABLE conversations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            model TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            profile TEXT,
            host TEXT)"""
    )
    conn.execute("CREATE INDEX conversations_updated ON conversations (updated_at)")
    conn.execute(
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'complete'
                CHECK (status IN ('complete', 'interrupted', 'incomplete', 'error')),
            finish_reason TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            total_tokens INTEGER,
            model TEXT,
            params TEXT NOT NULL DEFAULT '{}',
            error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (conversation_id, position))"""
    )


def m002_fts(conn: sqlite3.Connection) -> None:
    """Full-text index of message content, kept by this module (see the module docstring)."""
    conn.execute(
        "CREATE VIRTUAL TABLE messages_fts USING fts5"
        "(content, tokenize = 'unicode61 remove_diacritics 2')"
    )
    rows = conn.execute("SELECT id, content FROM messages").fetchall()
    conn.executemany(
        "INSERT INTO messages_fts (rowid, content) VALUES (?, ?)",
        ((message_id, index_text(content)) for message_id, content in rows),
    )


def m003_reasoning(conn: sqlite3.Connection) -> None:
    """The model's reasoning (``reasoning_content``), kept beside the answer it led to."""
    conn.execute("ALTER TABLE messages ADD COLUMN reasoning TEXT")


def m004_usage_details(conn: sqlite3.Connection) -> None:
    """The prompt tokens the server had cached and the completion tokens spent thinking
    (``usage.*_tokens_details``): priced and shown apart."""
    conn.execute("ALTER TABLE messages ADD COLUMN cached_tokens INTEGER")
    conn.execute("ALTER TABLE messages ADD COLUMN reasoning_tokens INTEGER")


def m005_tool_calls(conn: sqlite3.Connection) -> None:
    """Tool use (-T): the calls an assistant message asked for (the API's JSON), and which
    call a ``tool`` message answers."""
    conn.execute("ALTER TABLE messages ADD COLUMN tool_calls TEXT")
    conn.execute("ALTER TABLE messages ADD COLUMN tool_call_id TEXT")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    m001_initial,
    m002_fts,
    m003_reasoning,
    m004_usage_details,
    m005_tool_calls,
]


def schema_version(conn: sqlite3.Connection) -> int:
    """How many of :data:`MIGRATIONS` the database has had."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    if check_version(path, schema_version(conn), readonly=False):
        return
    with transaction(conn):
        # Another process may have migrated while we waited for the write lock.
        version = schema_version(conn)
        for migration in MIGRATIONS[version:]:
            migration(conn)
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")


def check_version(path: Path, version: int, *, readonly: bool) -> bool:
    """True when the schema is usable as it is; raise when it can never be."""
    known = len(MIGRATIONS)
    if version > known and not readonly:
        raise HistoryError(
            f"{path} was written by a newer atdak (schema {version}, this one knows {known});"
            " not saving",
            hint="upgrade atdak",
        )
    if version < known and readonly:
        raise HistoryError(
            f"cannot read {path} (schema {version} predates this atdak's {known})",
            hint="any atdak command that saves history upgrades it",
        )
    return version >= known
