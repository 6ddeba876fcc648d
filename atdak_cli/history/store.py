"""The history database: opening it safely, and every query.

One file, ``history.db``, is shared by every atdak process at once. WAL lets readers carry on
beside the one writer, the busy timeout makes writers queue, and every write is one short
``BEGIN IMMEDIATE`` transaction: taking the write lock up front means no transaction ever has to
upgrade a read lock, which is the SQLITE_BUSY case a busy handler cannot resolve
(https://sqlite.org/lang_transaction.html).

Any failure to open, read or write raises :class:`HistoryError` (exit 10): the caller still
delivers the answer and prints one line. A file that is not a database is never rewritten.

The schema and its migrations are in :mod:`~atdak_cli.history.schema`, how text is indexed
and searched in :mod:`~atdak_cli.history.search`, the rows that reads return in
:mod:`~atdak_cli.history.rows`.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from atdak_cli.errors import ConversationNotFound, HistoryError
from atdak_cli.history.db import transaction, translating
from atdak_cli.history.schema import check_version, migrate, schema_version
from atdak_cli.history.search import fts_query, index_text
from atdak_cli.turn import AnswerStatus

if TYPE_CHECKING:  # the row dataclasses are imported by the first read
    from atdak_cli.history.rows import ConversationSummary, SearchHit, StoredConversation, UsageRow

STATUSES: frozenset[str] = frozenset(get_args(AnswerStatus))
SQLITE_HEADER = b"SQLite format 3\x00"
# Defence in depth: a request's parameters are stored, its credentials never are.
SECRET_PARAMS = frozenset(
    {"api_key", "apikey", "authorization", "headers", "extra_headers", "default_headers"}
)
USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")
# Parts of the counts above, from usage.*_tokens_details: (table, field = column).
DETAIL_FIELDS = (
    ("prompt_tokens_details", "cached_tokens"),
    ("completion_tokens_details", "reasoning_tokens"),
)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def make_title(text: str, *, words: int = 8, limit: int = 60) -> str:
    """The first words of a message on one line, at most ``limit`` characters."""
    title = " ".join(text.split()[:words])
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _safe_params(params: Mapping[str, Any] | None) -> str:
    kept = {k: v for k, v in (params or {}).items() if k.lower() not in SECRET_PARAMS}
    return json.dumps(kept, ensure_ascii=False, sort_keys=True, default=str)


def _calls_json(calls: list[dict[str, Any]] | None) -> str | None:
    return json.dumps(calls, ensure_ascii=False) if calls else None


def _usage_values(usage: Mapping[str, Any] | None) -> tuple[int | None, ...]:
    usage = usage or {}
    return tuple(
        int(usage[name]) if isinstance(usage.get(name), int) else None for name in USAGE_FIELDS
    )


def _detail_values(usage: Mapping[str, Any]) -> dict[str, int]:
    """``cached_tokens`` and ``reasoning_tokens`` from the usage details, when sent."""
    values = {}
    for table, name in DETAIL_FIELDS:
        details = usage.get(table)
        value = details.get(name) if isinstance(details, Mapping) else None
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**12:
            values[name] = value
    return values


def _check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {sorted(STATUSES)}, not {status!r}")


# --- connection plumbing ----------------------------------------------------------------------


def _create_private(path: Path) -> None:
    """Create the data dir 0700 and an empty database file 0600 before SQLite touches it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _check_writable_dir(directory: Path) -> None:
    # SQLite would only say "unable to open database file" when it cannot create -wal/-shm.
    if os.access(directory, os.W_OK):
        return
    code = errno.EROFS if os.statvfs(directory).f_flag & os.ST_RDONLY else errno.EACCES
    raise OSError(code, os.strerror(code), str(directory))


def _check_header(path: Path) -> None:
    with path.open("rb") as file:
        head = file.read(len(SQLITE_HEADER))
    if head and head != SQLITE_HEADER:
        raise HistoryError(
            f"cannot open {path} (not a SQLite database; left untouched)",
            hint="move it aside to start a new history",
        )


def _private_sidecars(path: Path) -> None:
    # SQLite gives -wal/-shm the database file's mode; this only tightens leftovers.
    for suffix in ("-wal", "-shm"):
        with suppress(OSError):
            os.chmod(path.with_name(path.name + suffix), 0o600)


def _connect_writable(path: Path, timeout: float) -> sqlite3.Connection:
    _create_private(path)
    _check_writable_dir(path.parent)
    _check_header(path)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL survives any crash or kill of atdak; only power loss can drop
        # the last commits (https://sqlite.org/pragma.html#pragma_synchronous).
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn, path)
        _private_sidecars(path)
    except BaseException:
        conn.close()
        raise
    return conn


def _connect_readonly(path: Path, timeout: float) -> sqlite3.Connection:
    if not path.exists():
        # Nothing saved yet: an empty in-memory history answers every query.
        conn = sqlite3.connect(":memory:", isolation_level=None)
        migrate(conn, path)
        return conn
    _check_header(path)
    # A WAL database needs its -shm file; where none can be created (read-only media) nobody
    # can be writing either, so the file is read as immutable (https://sqlite.org/wal.html).
    query = "?mode=ro" if os.access(path.parent, os.W_OK) else "?immutable=1"
    conn = sqlite3.connect(
        path.resolve().as_uri() + query, uri=True, timeout=timeout, isolation_level=None
    )
    try:
        check_version(path, schema_version(conn), readonly=True)
    except BaseException:
        conn.close()
        raise
    return conn


# --- reading rows (made into dataclasses by atdak_cli.history_rows) ------------------------

_MESSAGE_COLUMNS = (
    "id, conversation_id, position, role, content, status, finish_reason, prompt_tokens,"
    " completion_tokens, total_tokens, model, params, error, created_at, updated_at, reasoning,"
    " tool_calls, tool_call_id"
)
_CONVERSATION_COLUMNS = "id, created_at, updated_at, model, title, profile, host"


class HistoryStore:
    """The history database; a context manager that closes its connection on exit.

    Every method raises :class:`HistoryError` when SQLite or the OS fails.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        path: Path,
        timeout: float,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._conn = conn
        self.path = path
        self._timeout = timeout
        self._clock = clock

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        readonly: bool = False,
        timeout: float = 5.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> HistoryStore:
        """Open (creating and migrating unless ``readonly``) the database at ``path``.

        ``readonly`` never creates, migrates or writes: a missing file reads as empty, and a
        newer schema may still be read. Writable opening refuses a newer schema.
        """
        connect = _connect_readonly if readonly else _connect_writable
        with translating(path, "open", timeout):
            conn = connect(path, timeout)
        return cls(conn, path=path, timeout=timeout, clock=clock)

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        self._conn.close()

    @contextmanager
    def _saving(self) -> Iterator[None]:
        with translating(self.path, "save history to", self._timeout), transaction(self._conn):
            yield

    def batch(self) -> AbstractContextManager[None]:
        """Group writes into one transaction: all of them are saved, or none; one commit."""
        return self._saving()

    def _reading(self) -> AbstractContextManager[None]:
        return translating(self.path, "read", self._timeout)

    def _now(self) -> str:
        return _stamp(self._clock())

    # --- writes ---------------------------------------------------------------------------

    def start_conversation(
        self, *, model: str, profile: str | None = None, host: str | None = None
    ) -> int:
        """A new, empty conversation; its title comes from the first user message."""
        now = self._now()
        with self._saving():
            cursor = self._conn.execute(
                "INSERT INTO conversations (created_at, updated_at, model, profile, host)"
                " VALUES (?, ?, ?, ?, ?)",
                (now, now, model, profile, host),
            )
        return _rowid(cursor)

    def add_message(
        self,
        conversation_id: int,
        *,
        role: str,
        content: str,
        status: AnswerStatus = "complete",
        model: str | None = None,
        params: Mapping[str, Any] | None = None,
        finish_reason: str | None = None,
        usage: Mapping[str, Any] | None = None,
        error: str | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        tool_call_id: str | None = None,
    ) -> int:
        """Append a message at the conversation's next position; returns its ID."""
        _check_status(status)
        now = self._now()
        with self._saving():
            self._touch(conversation_id, now, title=make_title(content) if role == "user" else "")
            cursor = self._conn.execute(
                "INSERT INTO messages (conversation_id, position, role, content, status,"
                " finish_reason, prompt_tokens, completion_tokens, total_tokens, model, params,"
                " error, created_at, updated_at, tool_calls, tool_call_id) VALUES (?, (SELECT"
                " coalesce(max(position) + 1, 0) FROM messages WHERE conversation_id = ?),"
                " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, conversation_id, role, content, status, finish_reason)
                + _usage_values(usage)
                + (model, _safe_params(params), error, now, now)
                + (_calls_json(tool_calls), tool_call_id),
            )
            message_id = _rowid(cursor)
            self._index(message_id, content, replace=False)
        return message_id

    def update_message(
        self,
        message_id: int,
        *,
        content: str | None = None,
        status: AnswerStatus | None = None,
        finish_reason: str | None = None,
        usage: Mapping[str, Any] | None = None,
        error: str | None = None,
        reasoning: str | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
    ) -> None:
        """Change the given fields of a message (a streamed answer as it grows, then at exit)."""
        _check_status(status)
        now = self._now()
        changes: dict[str, Any] = {"content": content, "status": status}
        changes["tool_calls"] = _calls_json(tool_calls)
        changes |= {"finish_reason": finish_reason, "error": error, "reasoning": reasoning}
        if usage is not None:
            changes |= dict(zip(USAGE_FIELDS, _usage_values(usage), strict=True))
            changes |= _detail_values(usage)
        changes = {k: v for k, v in changes.items() if v is not None}
        changes["updated_at"] = now
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._saving():
            row = self._conn.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                raise HistoryError(
                    f"cannot save history to {self.path} (message {message_id} was deleted)"
                )
            self._conn.execute(
                f"UPDATE messages SET {assignments} WHERE id = ?", (*changes.values(), message_id)
            )
            self._touch(row[0], now, title="")
            if content is not None:
                self._index(message_id, content, replace=True)

    def drop_after_last_question(self, conversation_id: int, *, with_question: bool) -> int:
        """Delete the answers after the conversation's last user message (``/retry``), and
        that message too when ``with_question`` (``/undo``); returns how many were deleted."""
        with self._saving():
            row = self._conn.execute(
                "SELECT max(position) FROM messages WHERE conversation_id = ? AND role = 'user'",
                (conversation_id,),
            ).fetchone()
            if row[0] is None:
                return 0
            first = row[0] if with_question else row[0] + 1
            where = "conversation_id = ? AND position >= ?"
            self._conn.execute(
                f"DELETE FROM messages_fts WHERE rowid IN (SELECT id FROM messages WHERE {where})",
                (conversation_id, first),
            )
            cursor = self._conn.execute(
                f"DELETE FROM messages WHERE {where}", (conversation_id, first)
            )
        return cursor.rowcount

    def set_system_prompt(self, conversation_id: int, content: str | None) -> None:
        """Make ``content`` the conversation's system message, first in it (None: remove it),
        so that ``--continue`` sends the prompt the conversation has now."""
        now = self._now()
        with self._saving():
            row = self._conn.execute(
                "SELECT id FROM messages WHERE conversation_id = ? AND role = 'system'"
                " ORDER BY position LIMIT 1",
                (conversation_id,),
            ).fetchone()
            if row is not None and content:
                self._conn.execute(
                    "UPDATE messages SET content = ?, updated_at = ? WHERE id = ?",
                    (content, now, row[0]),
                )
                self._index(row[0], content, replace=True)
            elif row is not None:
                self._conn.execute("DELETE FROM messages_fts WHERE rowid = ?", (row[0],))
                self._conn.execute("DELETE FROM messages WHERE id = ?", (row[0],))
            elif content:
                cursor = self._conn.execute(
                    "INSERT INTO messages (conversation_id, position, role, content, created_at,"
                    " updated_at) VALUES (?, (SELECT coalesce(min(position) - 1, 0) FROM messages"
                    " WHERE conversation_id = ?), 'system', ?, ?, ?)",
                    (conversation_id, conversation_id, content, now, now),
                )
                self._index(_rowid(cursor), content, replace=False)
            self._touch(conversation_id, now, title="")

    def delete_conversation(self, conversation_id: int) -> bool:
        """Delete a conversation and its messages; False if there was none with that ID."""
        with self._saving():
            self._conn.execute(
                "DELETE FROM messages_fts WHERE rowid IN"
                " (SELECT id FROM messages WHERE conversation_id = ?)",
                (conversation_id,),
            )
            self._conn.execute("DELETE FROM messages WHERE conversation_id = ?", (conversation_id,))
            cursor = self._conn.execute(
                "DELETE FROM conversations WHERE id = ?", (conversation_id,)
            )
        return cursor.rowcount > 0

    def _touch(self, conversation_id: int, now: str, *, title: str) -> None:
        cursor = self._conn.execute(
            "UPDATE conversations SET updated_at = ?,"
            " title = CASE WHEN title = '' THEN ? ELSE title END WHERE id = ?",
            (now, title, conversation_id),
        )
        if cursor.rowcount == 0:
            raise HistoryError(
                f"cannot save history to {self.path} (conversation {conversation_id} was deleted)"
            )

    def _index(self, message_id: int, content: str, *, replace: bool) -> None:
        if replace:
            self._conn.execute("DELETE FROM messages_fts WHERE rowid = ?", (message_id,))
        self._conn.execute(
            "INSERT INTO messages_fts (rowid, content) VALUES (?, ?)",
            (message_id, index_text(content)),
        )

    # --- reads ----------------------------------------------------------------------------

    def latest_conversation_id(self) -> int | None:
        """The most recently updated conversation, the one ``--continue`` resumes."""
        with self._reading():
            row = self._conn.execute(
                "SELECT id FROM conversations ORDER BY updated_at DESC, id DESC LIMIT 1"
            ).fetchone()
        return None if row is None else int(row[0])

    def list_conversations(self, limit: int | None = 20) -> list[ConversationSummary]:
        """Conversations, most recently updated first, with their message counts."""
        with self._reading():
            rows = self._conn.execute(
                f"SELECT {_CONVERSATION_COLUMNS}, (SELECT count(*) FROM messages m"
                " WHERE m.conversation_id = c.id) FROM conversations c"
                " ORDER BY updated_at DESC, id DESC LIMIT ?",
                (-1 if limit is None else limit,),
            ).fetchall()
        from atdak_cli.history.rows import summary  # the row types: readers only

        return [summary(row) for row in rows]

    def get_conversation(self, conversation_id: int) -> StoredConversation:
        """The conversation with its messages; :class:`ConversationNotFound` if none."""
        with self._reading():
            head = self._conn.execute(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = ?",
                (conversation_id,),
            ).fetchone()
            if head is None:
                raise ConversationNotFound(f"no conversation with ID {conversation_id}")
            rows = self._conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?"
                " ORDER BY position",
                (conversation_id,),
            ).fetchall()
        from atdak_cli.history.rows import conversation

        return conversation(head, rows)

    def iter_conversations(self) -> Iterator[StoredConversation]:
        """Every conversation, oldest first (``history export`` without an ID)."""
        with self._reading():
            ids = [row[0] for row in self._conn.execute("SELECT id FROM conversations ORDER BY id")]
        for conversation_id in ids:
            with suppress(ConversationNotFound):  # deleted meanwhile by another process
                yield self.get_conversation(conversation_id)

    def search(
        self, query: str, *, limit: int = 20, start: str = "«", end: str = "»"
    ) -> list[SearchHit]:
        """Messages containing every word of ``query``, best match first, with snippets.

        Any text is a valid query: FTS5 operators and quotes are searched for as words.
        """
        match = fts_query(query)
        if match is None:
            return []
        with self._reading():
            rows = self._conn.execute(
                "WITH hits AS (SELECT rowid,"
                " snippet(messages_fts, 0, ?, ?, '…', 16) AS snippet"
                " FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT ?)"
                " SELECT m.id, m.conversation_id, m.position, m.role, c.title,"
                " coalesce(m.model, c.model), m.created_at, hits.snippet"
                " FROM hits JOIN messages m ON m.id = hits.rowid"
                " JOIN conversations c ON c.id = m.conversation_id ORDER BY m.id DESC",
                (start, end, match, limit),
            ).fetchall()
        from atdak_cli.history.rows import search_hit

        return [search_hit(row) for row in rows]

    def usage_by_day_and_model(
        self, *, day: str | None = None, profile: str | None = None
    ) -> list[UsageRow]:
        """Tokens reported by the API, summed per local day and model, oldest first; only
        ``day`` (``YYYY-MM-DD``) and conversations of ``profile`` when given."""
        where, args = _usage_filter(day, profile)
        with self._reading():
            rows = self._conn.execute(
                "SELECT date(m.created_at, 'localtime') AS day, coalesce(m.model, c.model) AS mdl,"
                " sum(coalesce(prompt_tokens, 0)), sum(coalesce(completion_tokens, 0)),"
                " sum(coalesce(total_tokens,"
                " coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))), count(*),"
                " sum(coalesce(cached_tokens, 0)), sum(coalesce(reasoning_tokens, 0))"
                " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                " WHERE coalesce(prompt_tokens, completion_tokens, total_tokens) IS NOT NULL"
                f"{where} GROUP BY day, mdl ORDER BY day, mdl",
                args,
            ).fetchall()
        from atdak_cli.history.rows import UsageRow

        return [UsageRow(*row) for row in rows]


def _usage_filter(day: str | None, profile: str | None) -> tuple[str, tuple[str, ...]]:
    clauses, args = [], []
    if day is not None:
        clauses.append(" AND date(m.created_at, 'localtime') = ?")
        args.append(day)
    if profile is not None:
        clauses.append(" AND c.profile = ?")
        args.append(profile)
    return "".join(clauses), tuple(args)


def _rowid(cursor: sqlite3.Cursor) -> int:
    assert cursor.lastrowid is not None  # an INSERT into a rowid table always sets it
    return cursor.lastrowid
