"""Batch throughput: ``python benchmarks/batch.py [--seconds S] [--latency L]``.

Runs ``atdak_cli.commands.batch.run_batch`` in this process against the loopback test server
(tests/utils/api_server.py) with a fixed latency per reply (50 ms by default), at concurrency 1, 4
and 16, over one connection pool, and prints requests per second and the speed-up over
concurrency 1. Each run has about ``S`` seconds of work (requests = S / latency * concurrency),
after one small warm-up run. Exits 1 if concurrency 16 is under ``GOAL`` x concurrency 1.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from atdak_cli.client import AtdakClient  # noqa: E402
from atdak_cli.commands.batch import BatchOptions, run_batch  # noqa: E402
from atdak_cli.config import Settings  # noqa: E402
from atdak_cli.terminal import Terminal  # noqa: E402
from tests.utils.api_server import FakeAPIServer  # noqa: E402

LEVELS = (1, 4, 16)
GOAL = 0.8  # concurrency 16 must reach 80 % of 16 x concurrency 1


def run_once(server: FakeAPIServer, root: Path, count: int, concurrency: int) -> float:
    """Seconds to run ``count`` requests at ``concurrency``."""
    path = root / f"in-{concurrency}-{count}.jsonl"
    path.write_text("".join(json.dumps(f"question {i}") + "\n" for i in range(count)))
    terminal = Terminal(stdout=io.StringIO(), stderr=io.StringIO())
    options = BatchOptions(path=str(path), concurrency=concurrency)
    with (
        httpx.Client() as http,
        AtdakClient(api_key="sk-bench", base_url=server.base_url, http_client=http) as client,
    ):
        started = time.perf_counter()
        status = run_batch(client, Settings(base_url=server.base_url), terminal, options)
        elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"batch failed with status {status}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    rates: dict[int, float] = {}
    with FakeAPIServer(latency=args.latency) as server, tempfile.TemporaryDirectory() as tmp:
        run_once(server, Path(tmp), 16, 16)  # warm-up: imports, first connections
        for concurrency in LEVELS:
            count = max(1, round(args.seconds / args.latency)) * concurrency
            elapsed = run_once(server, Path(tmp), count, concurrency)
            rates[concurrency] = count / elapsed
            print(
                f"concurrency {concurrency:>2}: {count:>4} requests in {elapsed:5.2f} s = "
                f"{rates[concurrency]:6.1f} req/s  ({rates[concurrency] / rates[1]:4.1f}x)"
            )
    speedup = rates[16] / rates[1]
    ideal = 1 / args.latency
    print(f"ideal at concurrency 1: {ideal:.1f} req/s; goal: 16 >= {GOAL * 16:.1f}x of 1")
    return 0 if speedup >= GOAL * 16 else 1


if __name__ == "__main__":
    sys.exit(main())
