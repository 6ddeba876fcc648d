"""The SQLite history, on real files: lose nothing, share the file, refuse what it cannot keep."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import astuple
from datetime import datetime, timezone
from pathlib import Path

import pytest

from atdak_cli.errors import ConversationNotFound, ExitStatus, HistoryError
from atdak_cli.history.schema import MIGRATIONS
from atdak_cli.history.search import fts_query
from atdak_cli.history.store import HistoryStore, make_title
from atdak_cli.paths import history_file as default_history_path
from tests.utils.process import REPO as ROOT
from tests.utils.process import readonly_mount_available


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.db"


@pytest.fixture
def store(db: Path) -> Iterator[HistoryStore]:
    with HistoryStore.open(db) as opened:
        yield opened


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def exchange(store: HistoryStore, question: str, answer: str, model: str = "m") -> int:
    conversation = store.start_conversation(model=model, profile=None, host=None)
    store.add_message(conversation, role="user", content=question)
    store.add_message(conversation, role="assistant", content=answer)
    return conversation


def sqlite_value(path: Path, sql: str) -> object:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchone()[0]


# --- round trip -----------------------------------------------------------------------------


def test_a_batch_is_saved_whole_or_not_at_all(store: HistoryStore, db: Path) -> None:
    with store.batch():
        saved = exchange(store, "kept", "yes")
    with pytest.raises(RuntimeError), store.batch():
        exchange(store, "dropped", "no")
        raise RuntimeError("the process dies before the batch ends")

    assert [c.id for c in store.list_conversations()] == [saved]
    assert sqlite_value(db, "SELECT count(*) FROM messages") == 2
    assert [hit.conversation_id for hit in store.search("dropped")] == []


def test_drop_after_last_question_for_retry_and_undo(store: HistoryStore) -> None:
    cid = exchange(store, "first question", "first answer")
    store.add_message(cid, role="user", content="second question")
    store.add_message(cid, role="assistant", content="stale answer")

    assert store.drop_after_last_question(cid, with_question=False) == 1  # /retry
    contents = [m.content for m in store.get_conversation(cid).messages]
    assert contents == ["first question", "first answer", "second question"]
    assert store.search("stale") == []

    assert store.drop_after_last_question(cid, with_question=True) == 1  # /undo
    contents = [m.content for m in store.get_conversation(cid).messages]
    assert contents == ["first question", "first answer"]
    assert store.search("second") == []
    assert store.drop_after_last_question(cid + 1, with_question=True) == 0


def test_set_system_prompt_adds_replaces_and_removes_it_first(store: HistoryStore) -> None:
    cid = exchange(store, "question", "answer")

    def roles() -> list[tuple[str, str]]:
        return [(m.role, m.content) for m in store.get_conversation(cid).messages]

    store.set_system_prompt(cid, "Be brief.")
    assert roles()[0] == ("system", "Be brief.")
    store.set_system_prompt(cid, "Be kind.")
    assert roles() == [("system", "Be kind."), ("user", "question"), ("assistant", "answer")]
    assert [hit.role for hit in store.search("kind")] == ["system"]
    assert store.search("brief") == []
    store.set_system_prompt(cid, None)
    assert roles() == [("user", "question"), ("assistant", "answer")]


def test_round_trip_keeps_every_field(store: HistoryStore) -> None:
    cid = store.start_conversation(model="gpt-x", profile="work", host="api.example.com")
    store.add_message(cid, role="system", content="Be brief.")
    store.add_message(cid, role="user", content="What is WAL?", params={"temperature": 0.2})
    answer = store.add_message(
        cid,
        role="assistant",
        content="Write-ahead logging.",
        model="gpt-x-2024",
        finish_reason="stop",
        usage={"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14},
    )

    conversation = store.get_conversation(cid)

    assert (conversation.model, conversation.profile, conversation.host) == (
        "gpt-x",
        "work",
        "api.example.com",
    )
    assert conversation.title == "What is WAL?"
    assert [m.position for m in conversation.messages] == [0, 1, 2]
    assert [m.role for m in conversation.messages] == ["system", "user", "assistant"]
    last = conversation.messages[-1]
    assert last.id == answer
    assert (last.content, last.status, last.finish_reason, last.model) == (
        "Write-ahead logging.",
        "complete",
        "stop",
        "gpt-x-2024",
    )
    assert (last.prompt_tokens, last.completion_tokens, last.total_tokens) == (10, 4, 14)
    assert conversation.messages[1].params == {"temperature": 0.2}
    assert last.created.tzinfo is not None


def test_streamed_answer_is_saved_as_it_grows_and_at_the_end(store: HistoryStore) -> None:
    cid = store.start_conversation(model="m", profile=None, host=None)
    store.add_message(cid, role="user", content="count")
    answer = store.add_message(cid, role="assistant", content="", status="incomplete")
    store.update_message(answer, content="one two")
    partial = store.get_conversation(cid).messages[-1]
    store.update_message(answer, content="one two three", status="interrupted")

    final = store.get_conversation(cid).messages[-1]

    assert (partial.content, partial.status) == ("one two", "incomplete")
    assert (final.content, final.status) == ("one two three", "interrupted")
    assert [hit.message_id for hit in store.search("three")] == [answer]
    assert store.search("two")[0].message_id == answer


def test_error_answer_keeps_the_error_message(store: HistoryStore) -> None:
    cid = store.start_conversation(model="m", profile=None, host=None)
    answer = store.add_message(cid, role="assistant", content="par", status="incomplete")

    store.update_message(answer, status="error", error="server error 500: overloaded")

    saved = store.get_conversation(cid).messages[0]
    assert (saved.content, saved.status, saved.error) == (
        "par",
        "error",
        "server error 500: overloaded",
    )


def test_params_never_keep_credentials_or_headers(store: HistoryStore, db: Path) -> None:
    cid = store.start_conversation(model="m", profile=None, host=None)
    params = {
        "temperature": 1,
        "api_key": "sk-canary",
        "headers": {"Authorization": "Bearer sk-canary"},
    }

    store.add_message(cid, role="user", content="hi", params=params)

    assert store.get_conversation(cid).messages[0].params == {"temperature": 1}
    assert b"sk-canary" not in db.read_bytes()


def test_invalid_status_is_a_programming_error(store: HistoryStore) -> None:
    cid = store.start_conversation(model="m", profile=None, host=None)

    with pytest.raises(ValueError, match="status"):
        store.add_message(cid, role="user", content="x", status="done")  # type: ignore[arg-type]


def test_title_is_the_first_words_of_the_first_user_message() -> None:
    assert make_title("one two\nthree  four five six seven eight nine ten") == (
        "one two three four five six seven eight"
    )
    long = make_title("x" * 200)
    assert len(long) == 60 and long.endswith("…")


def test_title_comes_from_the_first_user_message_only(store: HistoryStore) -> None:
    cid = store.start_conversation(model="m", profile=None, host=None)
    store.add_message(cid, role="system", content="You are terse.")
    store.add_message(cid, role="user", content="first\nquestion here")
    store.add_message(cid, role="user", content="second question")

    assert store.get_conversation(cid).title == "first question here"


# --- list, show, delete, export, usage --------------------------------------------------------


def test_list_is_newest_first_with_message_counts(store: HistoryStore) -> None:
    old = exchange(store, "old question", "old answer")
    new = store.start_conversation(model="m2", profile=None, host=None)
    store.add_message(new, role="user", content="new question")

    listed = store.list_conversations()

    assert [(c.id, c.message_count, c.title) for c in listed] == [
        (new, 1, "new question"),
        (old, 2, "old question"),
    ]
    assert store.latest_conversation_id() == new
    assert len(store.list_conversations(limit=1)) == 1


def test_continuing_a_conversation_makes_it_the_latest(store: HistoryStore) -> None:
    first = exchange(store, "a", "b")
    exchange(store, "c", "d")

    store.add_message(first, role="user", content="more")

    assert store.latest_conversation_id() == first
    assert store.get_conversation(first).messages[-1].position == 2


def test_missing_conversation_is_a_usage_error(store: HistoryStore) -> None:
    with pytest.raises(ConversationNotFound) as caught:
        store.get_conversation(404)
    assert caught.value.status == ExitStatus.USAGE
    assert store.latest_conversation_id() is None


def test_delete_removes_messages_and_search_hits(store: HistoryStore) -> None:
    kept = exchange(store, "keep pelican", "ok")
    gone = exchange(store, "drop pelican", "ok")

    assert store.delete_conversation(gone) is True
    assert store.delete_conversation(gone) is False

    assert [c.id for c in store.list_conversations()] == [kept]
    assert [hit.conversation_id for hit in store.search("pelican")] == [kept]
    with pytest.raises(ConversationNotFound):
        store.get_conversation(gone)


def test_saving_into_a_deleted_conversation_is_a_history_error(store: HistoryStore) -> None:
    cid = exchange(store, "q", "a")
    store.delete_conversation(cid)

    with pytest.raises(HistoryError, match="deleted"):
        store.add_message(cid, role="user", content="again")


def test_export_gives_every_conversation_as_json_ready_dicts(store: HistoryStore) -> None:
    first = exchange(store, "q1 数据", "a1")
    second = exchange(store, "q2", "a2")

    exported = [json.loads(json.dumps(c.to_dict())) for c in store.iter_conversations()]

    assert [c["id"] for c in exported] == [first, second]
    assert exported[0]["messages"][0]["content"] == "q1 数据"
    assert datetime.fromisoformat(exported[0]["created"]).tzinfo is not None


def test_usage_sums_tokens_by_day_and_model(db: Path) -> None:
    # Noon UTC is the same calendar day in every time zone from UTC-11 to UTC+11.
    days = iter([1] * 4 + [2] * 6)
    clock = lambda: datetime(2025, 3, next(days), 12, tzinfo=timezone.utc)  # noqa: E731
    full = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    with HistoryStore.open(db, clock=clock) as store:
        cid = store.start_conversation(model="a", profile=None, host=None)
        store.add_message(cid, role="user", content="q")
        store.add_message(cid, role="assistant", content="r", usage=full)
        no_total = {"prompt_tokens": 1, "completion_tokens": 1}
        store.add_message(cid, role="assistant", content="r", model="b", usage=no_total)
        answer = store.add_message(cid, role="assistant", content="r", status="incomplete")
        store.update_message(answer, usage={k: v * 2 for k, v in full.items()})
        store.add_message(cid, role="assistant", content="r", usage=full)

        rows = store.usage_by_day_and_model()

    assert [astuple(row) for row in rows] == [
        ("2025-03-01", "a", 3, 4, 7, 1, 0, 0),
        ("2025-03-01", "b", 1, 1, 2, 1, 0, 0),
        ("2025-03-02", "a", 9, 12, 21, 2, 0, 0),
    ]


def test_usage_details_are_stored_and_summed_by_day_profile_and_model(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    detailed = {
        "prompt_tokens": 100,
        "completion_tokens": 40,
        "prompt_tokens_details": {"cached_tokens": 60},
        "completion_tokens_details": {"reasoning_tokens": 25},
    }
    with HistoryStore.open(db) as store:
        for profile in ("work", "home", "work"):
            cid = store.start_conversation(model="a", profile=profile, host=None)
            answer = store.add_message(cid, role="assistant", content="r")
            store.update_message(answer, usage=detailed)
        (work,) = store.usage_by_day_and_model(profile="work")
        assert (work.prompt_tokens, work.cached_tokens) == (200, 120)
        assert (work.completion_tokens, work.reasoning_tokens) == (80, 50)
        assert store.usage_by_day_and_model(day="1999-01-01") == []
        assert len(store.usage_by_day_and_model()) == 1


# --- search ---------------------------------------------------------------------------------


def test_search_highlights_every_matched_word(store: HistoryStore) -> None:
    exchange(store, "How do I rotate logs?", "Use logrotate to rotate the logs daily.")

    hits = store.search("rotate logs", start="[", end="]")

    assert [h.role for h in hits] == ["assistant", "user"]
    assert hits[0].snippet == "Use logrotate to [rotate] the [logs] daily."
    assert hits[1].snippet == "How do I [rotate] [logs]?"
    assert hits[0].title == "How do I rotate logs?"


def test_search_finds_chinese_and_japanese_inside_longer_runs(store: HistoryStore) -> None:
    exchange(store, "怎么优化数据库的查询性能？", "東京のデータベースを使う")

    chinese = store.search("数据库")
    japanese = store.search("データ")

    assert [h.snippet for h in chinese] == ["怎么优化«数据库»的查询性能？"]
    assert [h.snippet for h in japanese] == ["東京の«データ»ベースを使う"]
    assert store.search("数据 性能")[0].role == "user"
    assert store.search("库数") == []


def test_search_accents_and_prefixes(store: HistoryStore) -> None:
    exchange(store, "Crème brûlée recipe", "concurrency and consistency")

    assert len(store.search("creme brulee")) == 1
    assert len(store.search("con*")) == 1
    assert store.search("con") == []


def test_search_is_newest_first_and_limited(store: HistoryStore) -> None:
    ids = [exchange(store, f"walrus {n}", "ok") for n in range(5)]

    hits = store.search("walrus", limit=3)

    assert [h.conversation_id for h in hits] == ids[::-1][:3]


@pytest.mark.parametrize(
    "query",
    [
        '"foo',
        "AND",
        "OR",
        "NOT",
        "foo AND",
        "(",
        ")",
        "*",
        "NEAR(a b",
        "^x",
        "content:x",
        "messages_fts",
        "'",
        '""',
        "-x",
        "{a b}",
        "a + b",
        "\x00",
        "   ",
        "",
        "🦜",
        "rank:1",
    ],
)
def test_hostile_queries_never_raise(store: HistoryStore, query: str) -> None:
    exchange(store, 'what does "foo" AND bar mean (here)?', "NOT much")

    assert isinstance(store.search(query), list)


def test_operator_words_are_searched_as_words(store: HistoryStore) -> None:
    exchange(store, "this AND that", "neither")

    assert fts_query('AND "x') == '"AND" """x"'
    assert [h.snippet for h in store.search("and")] == ["this «AND» that"]


# --- files, permissions, WAL ------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_is_0600_and_dir_0700_even_with_umask_0(db: Path) -> None:
    previous = os.umask(0)
    try:
        with HistoryStore.open(db) as store:
            exchange(store, "q", "a")
            sidecars = [p for p in db.parent.iterdir() if p != db]
            modes = {p.name: mode(p) for p in [db, *sidecars]}
    finally:
        os.umask(previous)

    assert mode(db.parent) == 0o700
    assert sidecars, "WAL and shared-memory files exist while open"
    assert set(modes.values()) == {0o600}, modes


def test_database_uses_wal(store: HistoryStore, db: Path) -> None:
    assert sqlite_value(db, "PRAGMA journal_mode") == "wal"


def test_default_path_honours_atdak_data_dir(tmp_path: Path) -> None:
    assert default_history_path({"ATDAK_DATA_DIR": str(tmp_path)}) == tmp_path / "history.db"
    assert default_history_path({}).name == "history.db"


def test_readonly_open_of_a_missing_file_reads_empty_and_creates_nothing(db: Path) -> None:
    with HistoryStore.open(db, readonly=True) as store:
        assert store.list_conversations() == []
        assert store.search("anything") == []

    assert not db.parent.exists()


CHILD_EXCHANGES = """
import sys
from pathlib import Path
from atdak_cli.history.store import HistoryStore

path, worker = Path(sys.argv[1]), sys.argv[2]
for n in range(10):
    with HistoryStore.open(path) as store:
        cid = store.start_conversation(model="m", profile=None, host=None)
        store.add_message(cid, role="user", content=f"question {worker} {n}")
        answer = store.add_message(cid, role="assistant", content="", status="incomplete")
        store.update_message(answer, content=f"answer {worker} {n} quokka", status="complete")
"""


def test_sixteen_processes_at_once_all_save(db: Path) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD_EXCHANGES, str(db), str(worker)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(16)
    ]
    outcomes = [(child.communicate(timeout=60), child.returncode) for child in children]

    assert [(err, code) for (_, err), code in outcomes] == [("", 0)] * 16
    with HistoryStore.open(db) as store:
        conversations = list(store.iter_conversations())
        assert len(conversations) == 160
        assert all(len(c.messages) == 2 for c in conversations)
        assert len(store.search("quokka", limit=1000)) == 160
    assert sqlite_value(db, "SELECT count(*) FROM messages") == 320


# --- schema versions --------------------------------------------------------------------------

SCHEMA_1 = [
    """CREATE TABLE conversations (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,
       updated_at TEXT NOT NULL, model TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
       profile TEXT, host TEXT)""",
    "CREATE INDEX conversations_updated ON conversations (updated_at)",
    """CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT,
       conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
       position INTEGER NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL,
       status TEXT NOT NULL DEFAULT 'complete'
           CHECK (status IN ('complete', 'interrupted', 'incomplete', 'error')),
       finish_reason TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER,
       model TEXT, params TEXT NOT NULL DEFAULT '{}', error TEXT, created_at TEXT NOT NULL,
       updated_at TEXT NOT NULL, UNIQUE (conversation_id, position))""",
    "INSERT INTO conversations VALUES (1, '2024-05-01T10:00:00.000000+00:00',"
    " '2024-05-01T10:00:01.000000+00:00', 'old-model', 'old narwhal question', NULL, NULL)",
    "INSERT INTO messages (conversation_id, position, role, content, created_at, updated_at)"
    " VALUES (1, 0, 'user', 'old narwhal question', '2024-05-01T10:00:00.000000+00:00',"
    " '2024-05-01T10:00:00.000000+00:00')",
    "INSERT INTO messages (conversation_id, position, role, content, created_at, updated_at)"
    " VALUES (1, 1, 'assistant', '旧的回答 narwhal', '2024-05-01T10:00:01.000000+00:00',"
    " '2024-05-01T10:00:01.000000+00:00')",
    "PRAGMA user_version = 1",
]


def test_schema_1_database_is_migrated_and_its_messages_indexed(db: Path) -> None:
    db.parent.mkdir()
    with closing(sqlite3.connect(db)) as conn:
        for statement in SCHEMA_1:
            conn.execute(statement)
        conn.commit()

    with HistoryStore.open(db) as store:
        hits = store.search("narwhal")
        chinese = store.search("回答")
        store.add_message(1, role="user", content="follow-up")
        conversation = store.get_conversation(1)

    assert len(hits) == 2
    assert [h.snippet for h in chinese] == ["旧的«回答» narwhal"]
    assert [m.position for m in conversation.messages] == [0, 1, 2]
    assert sqlite_value(db, "PRAGMA user_version") == len(MIGRATIONS)


def test_migrations_are_numbered_in_order_with_usage_details_before_tool_calls() -> None:
    names = [migration.__name__ for migration in MIGRATIONS]
    assert [name[:4] for name in names] == [f"m{n:03d}" for n in range(1, len(names) + 1)]
    # m004 shipped on main (the reasoning branch) first; tool use came after it.
    assert names[3:] == ["m004_usage_details", "m005_tool_calls"]


def test_schema_4_database_keeps_its_usage_details_and_gains_tool_calls(db: Path) -> None:
    db.parent.mkdir()
    with closing(sqlite3.connect(db)) as conn:
        for migration in MIGRATIONS[:4]:  # what a database made before tool use has had
            migration(conn)
        conn.execute(
            "INSERT INTO conversations VALUES (1, '2026-11-30T10:00:00.000000+00:00',"
            " '2026-11-30T10:00:01.000000+00:00', 'm', 'old', NULL, NULL)"
        )
        conn.execute(
            "INSERT INTO messages (conversation_id, position, role, content, prompt_tokens,"
            " cached_tokens, reasoning_tokens, created_at, updated_at) VALUES (1, 0,"
            " 'assistant', 'old answer', 100, 60, 25, '2026-11-30T10:00:01.000000+00:00',"
            " '2026-11-30T10:00:01.000000+00:00')"
        )
        conn.execute("PRAGMA user_version = 4")
        conn.commit()

    call = {"id": "c1", "type": "function", "function": {"name": "now", "arguments": "{}"}}
    with HistoryStore.open(db) as store:
        store.add_message(1, role="assistant", content="", tool_calls=[call])
        store.add_message(1, role="tool", content="10:00", tool_call_id="c1")
        messages = store.get_conversation(1).messages
        (usage,) = store.usage_by_day_and_model()

    assert sqlite_value(db, "PRAGMA user_version") == len(MIGRATIONS) == 5
    assert [m.content for m in messages] == ["old answer", "", "10:00"]
    assert (messages[0].tool_calls, messages[1].tool_calls) == (None, [call])
    assert messages[2].tool_call_id == "c1"
    assert (usage.prompt_tokens, usage.cached_tokens, usage.reasoning_tokens) == (100, 60, 25)


def test_newer_schema_is_refused_for_writes_but_still_readable(db: Path) -> None:
    with HistoryStore.open(db) as store:
        exchange(store, "future ocelot", "ok")
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    before = db.read_bytes()

    with pytest.raises(HistoryError, match="newer atdak") as caught:
        HistoryStore.open(db)
    with HistoryStore.open(db, readonly=True) as store:
        titles = [c.title for c in store.list_conversations()]

    assert caught.value.status == ExitStatus.HISTORY
    assert str(db) in caught.value.message and "\n" not in caught.value.message
    assert titles == ["future ocelot"]
    assert db.read_bytes() == before


# --- failures: the reason in one line, the file untouched ---------------------------------------


def test_corrupt_file_is_refused_and_left_byte_for_byte(db: Path) -> None:
    db.parent.mkdir()
    garbage = bytes(range(256)) * 64
    db.write_bytes(garbage)

    with pytest.raises(HistoryError, match="not a SQLite database") as caught:
        HistoryStore.open(db)

    assert str(db) in caught.value.message
    assert db.read_bytes() == garbage
    assert sorted(p.name for p in db.parent.iterdir()) == ["history.db"]


def test_damaged_pages_give_a_history_error_and_are_not_rewritten(db: Path) -> None:
    with HistoryStore.open(db) as store:
        for n in range(50):
            exchange(store, f"question {n} " * 50, "answer " * 200)
    data = bytearray(db.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)
    db.write_bytes(bytes(data))

    with pytest.raises(HistoryError, match="malformed"), HistoryStore.open(db) as store:
        store.list_conversations()

    assert db.read_bytes() == bytes(data)


def test_data_dir_that_cannot_be_created_gives_a_history_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")

    with pytest.raises(HistoryError) as caught:
        HistoryStore.open(blocker / "atdak" / "history.db")

    assert caught.value.status == ExitStatus.HISTORY
    assert "not-a-dir" in caught.value.message and "\n" not in caught.value.message


def test_lock_held_past_the_timeout_gives_a_history_error(store: HistoryStore, db: Path) -> None:
    with closing(sqlite3.connect(db, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        with HistoryStore.open(db, timeout=0.05) as waiting:
            with pytest.raises(HistoryError, match="locked by another process"):
                waiting.start_conversation(model="m", profile=None, host=None)
            assert waiting.list_conversations() == []  # WAL: readers are never blocked
        other.execute("ROLLBACK")

    assert store.start_conversation(model="m", profile=None, host=None) == 1


CHILD_DISK_FULL = """
import resource, signal, sys
from pathlib import Path
from atdak_cli.errors import HistoryError
from atdak_cli.history.store import HistoryStore

path = Path(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = path.stat().st_size
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    with HistoryStore.open(path) as store:
        store.add_message(1, role="user", content="big " * 500_000)
except HistoryError as exc:
    print(exc.message)
    sys.exit(exc.status)
"""


def test_file_size_limit_gives_a_history_error_and_keeps_the_file(db: Path) -> None:
    # RLIMIT_FSIZE makes writes fail (EFBIG) even for root and needs no mount namespace.
    with HistoryStore.open(db) as store:
        exchange(store, "kept before the disk filled", "yes")
    before = db.read_bytes()

    result = run_python(CHILD_DISK_FULL, str(db))

    assert result.returncode == ExitStatus.HISTORY, result.stderr
    assert result.stdout.startswith(f"cannot save history to {db} (")
    assert result.stdout.count("\n") == 1
    assert db.read_bytes() == before
    with HistoryStore.open(db) as store:
        assert len(store.get_conversation(1).messages) == 2
    assert sqlite_value(db, "PRAGMA integrity_check") == "ok"


CHILD_READONLY = """
import sys
from pathlib import Path
from atdak_cli.errors import HistoryError
from atdak_cli.history.store import HistoryStore

for path in sys.argv[1:]:
    try:
        with HistoryStore.open(Path(path)) as store:
            store.start_conversation(model="m", profile=None, host=None)
        print("saved")
    except HistoryError as exc:
        print(exc.message)
with HistoryStore.open(Path(sys.argv[1]), readonly=True) as store:
    print(store.get_conversation(1).title)
"""


@pytest.mark.skipif(not readonly_mount_available(), reason="needs unshare (mount namespace)")
def test_read_only_data_dir_gives_a_history_error_and_stays_readable(tmp_path: Path) -> None:
    # chmod does not stop root, so the data dir is bind-mounted read-only in a private mount
    # namespace: EROFS, which stops everyone.
    existing = tmp_path / "ro" / "existing" / "history.db"
    with HistoryStore.open(existing) as store:
        exchange(store, "kept on read-only media", "a")
    (tmp_path / "ro" / "empty").mkdir()
    before = existing.read_bytes()
    script = 'mount --bind -o ro "$1" "$1" && shift && exec "$@"'
    fresh = tmp_path / "ro" / "empty" / "history.db"

    result = subprocess.run(
        [
            "unshare",
            "--mount",
            "--map-root-user",
            "sh",
            "-c",
            script,
            "sh",
            str(tmp_path / "ro"),
            sys.executable,
            "-c",
            CHILD_READONLY,
            str(existing),
            str(fresh),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert lines == [
        f"cannot open {existing} (Read-only file system)",
        f"cannot open {fresh} (Read-only file system)",
        "kept on read-only media",
    ]
    assert existing.read_bytes() == before
    assert not fresh.exists()


CHILD_TINY_DISK = """
import sys
from pathlib import Path
from atdak_cli.errors import HistoryError
from atdak_cli.history.store import HistoryStore

path = Path(sys.argv[1]) / "history.db"
with HistoryStore.open(path) as store:
    cid = store.start_conversation(model="m", profile=None, host=None)
    store.add_message(cid, role="user", content="saved before the disk filled")
before = path.read_bytes()
try:
    with HistoryStore.open(path) as store:
        store.add_message(cid, role="assistant", content="too long " * 100_000)
except HistoryError as exc:
    print(exc.message)
print(path.read_bytes() == before)
with HistoryStore.open(path, readonly=True) as store:
    print([m.content for m in store.get_conversation(cid).messages])
"""


@pytest.mark.skipif(not readonly_mount_available(), reason="needs unshare (mount namespace)")
def test_full_disk_gives_a_history_error_and_keeps_what_was_saved(tmp_path: Path) -> None:
    # A 256 KiB tmpfs in a private mount namespace really runs out of space (ENOSPC).
    script = 'mount -t tmpfs -o size=256k,mode=0700 tmpfs "$1" && exec "$2" -c "$3" "$1"'
    tiny = tmp_path / "tiny"
    tiny.mkdir()

    result = subprocess.run(
        [
            "unshare",
            "--mount",
            "--map-root-user",
            "sh",
            "-c",
            script,
            "sh",
            str(tiny),
            sys.executable,
            CHILD_TINY_DISK,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"cannot save history to {tiny / 'history.db'} (database or disk is full)",
        "True",
        "['saved before the disk filled']",
    ]
