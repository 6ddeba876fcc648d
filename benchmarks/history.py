"""How fast is the history? ``python benchmarks/history.py [--messages N]``.

Fills a temporary history.db with N stored messages (default 100 000: mixed English prose and
code words, Chinese, some Japanese), then reports the median time of ``HistoryStore.search`` for
several queries and the cost of logging one exchange (start a conversation, save the question,
save an empty answer, update it with the final text and usage), as ``atdak complete`` does.
Exits 1 if the search median reaches 100 ms or logging averages 5 ms per exchange.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from atdak_cli.history.schema import MIGRATIONS  # noqa: E402
from atdak_cli.history.store import HistoryStore  # noqa: E402

SEARCH_BUDGET_MS = 100.0
LOGGING_BUDGET_MS = 5.0
MESSAGES_PER_CONVERSATION = 10


def words(text: str) -> list[str]:
    return text.split()


QUERIES = [
    "python",
    "database index",
    "数据库",
    "conc*",
    "error handling retry",
    "zebra",
    '"unbalanced AND (',
    "東京",
]
ENGLISH = words(
    "the a an of to in and is it that for on with as this be are you can use we not but your"
    " python function class method return value error exception retry handling stream token"
    " request response server client database index query table column row transaction commit"
    " rollback lock timeout network socket buffer cache memory thread process async await"
    " concurrency concurrent consistency configuration container kubernetes docker deploy"
    " build test pytest fixture mock assert benchmark latency throughput performance profile"
    " string bytes unicode encoding decoding json yaml toml parse serialize schema migration"
    " model prompt completion context window temperature embedding vector search ranking"
    " terminal shell command flag option argument environment variable path file directory"
)
CHINESE = words(
    "数据库 索引 查询 事务 提交 回滚 并发 性能 测试 函数 变量 错误 异常 重试 网络 服务器 客户端"
    " 配置 部署 容器 模型 提示 上下文 搜索 排序 终端 命令 参数 环境 文件 目录 编码 解码 缓存"
)
JAPANESE = words("東京 大阪 データベース インデックス 検索 設定 テスト エラー")


def sentence(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.15:
        return "".join(rng.choices(CHINESE, k=rng.randint(4, 12))) + "。"
    if roll < 0.18:
        return "".join(rng.choices(JAPANESE, k=rng.randint(3, 8))) + "。"
    words = rng.choices(ENGLISH, k=rng.randint(6, 20))
    return " ".join(words).capitalize() + "."


def text(rng: random.Random, sentences: tuple[int, int]) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(*sentences)))


def fill(path: Path, messages: int, seed: int = 1) -> None:
    """Write ``messages`` rows as a schema-1 database; opening it migrates and indexes them."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        MIGRATIONS[0](conn)
        for conversation in range(1, messages // MESSAGES_PER_CONVERSATION + 1):
            when = (start + timedelta(minutes=conversation)).isoformat(timespec="milliseconds")
            conn.execute(
                "INSERT INTO conversations (id, created_at, updated_at, model, title)"
                " VALUES (?, ?, ?, 'bench-model', 'benchmark')",
                (conversation, when, when),
            )
            conn.executemany(
                "INSERT INTO messages (conversation_id, position, role, content, created_at,"
                " updated_at, total_tokens) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows(rng, conversation, when),
            )
        conn.execute("PRAGMA user_version = 1")
        conn.execute("COMMIT")
    finally:
        conn.close()


def rows(rng: random.Random, conversation: int, when: str) -> Iterator[tuple[object, ...]]:
    for position in range(MESSAGES_PER_CONVERSATION):
        user = position % 2 == 0
        content = text(rng, (1, 2) if user else (2, 8))
        tokens = None if user else len(content) // 4
        role = "user" if user else "assistant"
        yield (conversation, position, role, content, when, when, tokens)


def timed_ms(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return (time.perf_counter() - began) * 1000


def search_medians(store: HistoryStore, repeats: int) -> dict[str, tuple[float, int]]:
    results = {}
    for query in QUERIES:
        hits = len(store.search(query))  # warm the page cache, as a second search would be
        times = [timed_ms(partial(store.search, query)) for _ in range(repeats)]
        results[query] = (statistics.median(times), hits)
    return results


def log_exchange(store: HistoryStore, rng: random.Random) -> None:
    conversation = store.start_conversation(model="bench-model", profile=None, host="localhost")
    store.add_message(conversation, role="user", content=text(rng, (1, 2)))
    answer = store.add_message(conversation, role="assistant", content="", status="incomplete")
    store.update_message(
        answer,
        content=text(rng, (3, 10)),
        status="complete",
        finish_reason="stop",
        usage={"prompt_tokens": 20, "completion_tokens": 200, "total_tokens": 220},
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--exchanges", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.db"
        fill_ms = timed_ms(lambda: fill(path, args.messages))
        migrate_ms = timed_ms(lambda: HistoryStore.open(path).close())
        with HistoryStore.open(path) as store:
            searches = search_medians(store, args.repeats)
            rng = random.Random(2)
            logging = [timed_ms(lambda: log_exchange(store, rng)) for _ in range(args.exchanges)]
        size_mb = path.stat().st_size / 1e6
    return report(args.messages, fill_ms, migrate_ms, size_mb, searches, sorted(logging))


def report(
    messages: int,
    fill_ms: float,
    migrate_ms: float,
    size_mb: float,
    searches: dict[str, tuple[float, int]],
    logging: list[float],
) -> int:
    print(f"history.db: {messages:,} messages, {size_mb:.1f} MB")
    print(f"  fill (schema 1, raw SQL)      {fill_ms:9.0f} ms")
    print(f"  open + migrate + FTS index    {migrate_ms:9.0f} ms")
    print(f"{'search query':30} {'median ms':>9} {'hits':>5}")
    for query, (median, hits) in searches.items():
        print(f"  {query:28} {median:9.2f} {hits:5}")
    overall = statistics.median(median for median, _ in searches.values())
    worst = max(median for median, _ in searches.values())
    print(f"{'search median (all queries)':30} {overall:9.2f}   (worst {worst:.2f}; budget 100)")
    # The mean is the budget: FTS5 merges its segments now and then, so a rare exchange pays
    # tens of milliseconds that the others do not.
    mean = statistics.fmean(logging)
    p99 = logging[int(len(logging) * 0.99) - 1]
    print(f"{'logging per exchange, mean':30} {mean:9.2f}   (budget 5)")
    print(f"  median {statistics.median(logging):.2f}, p99 {p99:.1f}, max {logging[-1]:.1f} ms")
    return 0 if overall < SEARCH_BUDGET_MS and mean < LOGGING_BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
