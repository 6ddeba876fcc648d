"""SQLite plumbing shared by the schema and the store: one short transaction, one kind of error."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from atdak_cli.errors import HistoryError


@contextmanager
def translating(path: Path, action: str, timeout: float) -> Iterator[None]:
    """sqlite3 and OS errors become one-line :class:`HistoryError`s naming the file."""
    try:
        yield
    except sqlite3.Error as exc:
        cause = _one_line(str(exc)) or type(exc).__name__
        if "locked" in cause or "busy" in cause:
            cause += f" by another process for over {timeout:g} s"
        raise HistoryError(f"cannot {action} {path} ({cause})") from exc
    except OSError as exc:
        cause = _one_line(exc.strerror or str(exc))
        raise HistoryError(f"cannot {action} {path} ({cause})") from exc


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    if conn.in_transaction:  # a part of a larger one (HistoryStore.batch)
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def _one_line(text: str) -> str:
    return " ".join(text.split())
