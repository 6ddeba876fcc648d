"""What tools cost. ``python benchmarks/tools.py [--runs N]``.

1. Time to first token, ``atdak complete`` as a whole process into a pipe (spawn until the
   first byte of the answer on stdout), against the loopback API server of the tests
   (tests/utils/api_server.py, which answers at once): without tools, and with ``-T fx`` (our own
   MCP server, tests/utils/mcp_fixture_server.py) and its tool list cached. Goal: with tools at
   most 1.2x without. Interleaved rounds after one warm-up round that fills the cache; medians.
2. One tool round trip's overhead, in-process, the server already started: run_chain with
   one call (request, run the tool, request again) minus two plain requests minus the tool's
   own time (its MCP round trip as the manager measured it). Medians.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from atdak_cli.client import AtdakClient  # noqa: E402
from atdak_cli.tools.approval import Decision  # noqa: E402
from atdak_cli.tools.cache import ToolListCache  # noqa: E402
from atdak_cli.tools.config import add_servers  # noqa: E402
from atdak_cli.tools.display import ToolDisplay  # noqa: E402
from atdak_cli.tools.loop import Message, ToolSession, run_chain  # noqa: E402
from atdak_cli.tools.sender import api_sender  # noqa: E402
from atdak_cli.tools.toolbox import Prepared, Toolbox  # noqa: E402
from tests.utils.api_server import FakeAPIServer, RecordedRequest, Reply, respond_with, stream  # noqa: E402
from tests.utils.mcp_servers import fixture_stdio  # noqa: E402

KEY = "sk-bench-tools"
GOAL_RATIO = 1.2


def first_byte(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from spawn to the first byte on stdout (then the rest is drained)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdout is not None
    select.select([process.stdout], [], [])
    elapsed = time.perf_counter() - started
    out, err = process.communicate(timeout=60)
    if process.returncode != 0:
        raise SystemExit(f"{argv} failed ({process.returncode}): {err.decode()}")
    return elapsed


def ttft(runs: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as home, FakeAPIServer() as api:
        config_dir = Path(home) / "config"
        add_servers(config_dir / "config.toml", [fixture_stdio()])
        env = {k: v for k, v in os.environ.items() if not k.startswith("ATDAK_")}
        env |= {"ATDAK_CONFIG_DIR": str(config_dir), "ATDAK_DATA_DIR": f"{home}/data"}
        env |= {"ATDAK_API_KEY": KEY, "ATDAK_BASE_URL": api.base_url, "PYTHONPATH": str(ROOT)}
        plain = [sys.executable, "-m", "atdak_cli", "complete", "hi"]
        tools = [*plain[:-1], "-T", "fx", "hi"]
        first_byte(tools, env)  # warm-up: fills the tool-list cache
        without, with_tools = [], []
        for _ in range(runs):
            without.append(first_byte(plain, env))
            with_tools.append(first_byte(tools, env))
        return statistics.median(without), statistics.median(with_tools)


class ApproveAll:
    def decide(self, prepared: Prepared) -> Decision:
        assert prepared.arguments is not None
        return Decision(True, prepared.arguments)


def answer_after_tool() -> Reply:
    def choose(request: RecordedRequest) -> Reply:
        if request.json()["messages"][-1]["role"] == "tool":
            return stream(["done"])
        return stream([], tool_calls=[("echo", '{"text": "x"}')])

    return respond_with(choose)


def round_trip(runs: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as home, FakeAPIServer() as api:
        cache = ToolListCache(Path(home) / "cache.json")
        with Toolbox({"fx": fixture_stdio()}, {"fx": None}, cache=cache) as box:
            box.load()
            seconds: list[float] = []
            session = ToolSession(
                box,
                ApproveAll(),
                ToolDisplay(None),
                on_result=lambda c, r: seconds.append(r.seconds),
            )
            with AtdakClient(api_key=KEY, base_url=api.base_url) as client:
                plain = api_sender(client, model="atdak-gpt-4", tools=[])
                send = api_sender(client, model="atdak-gpt-4", tools=box.api_tools())
                api.set_default(answer_after_tool())
                run_chain(send, [{"role": "user", "content": "warm"}], session)
                chains, pairs, tool_times = [], [], []
                for _ in range(runs):
                    api.set_default(None)
                    started = time.perf_counter()
                    plain([{"role": "user", "content": "a"}])
                    plain([{"role": "user", "content": "b"}])
                    pairs.append(time.perf_counter() - started)
                    api.set_default(answer_after_tool())
                    messages: list[Message] = [{"role": "user", "content": "go"}]
                    started = time.perf_counter()
                    run_chain(send, messages, session)
                    chains.append(time.perf_counter() - started)
                    tool_times.append(seconds[-1])
    chain, pair, tool = (statistics.median(x) for x in (chains, pairs, tool_times))
    return chain, pair, tool


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    without, with_tools = ttft(args.runs)
    ratio = with_tools / without
    print(
        f"first token, complete into a pipe: {without * 1000:.0f} ms without tools, "
        f"{with_tools * 1000:.0f} ms with -T fx (cached tool list): {ratio:.2f}x "
        f"(goal <= {GOAL_RATIO}x)"
    )
    chain, pair, tool = round_trip(args.runs)
    overhead = chain - pair - tool
    print(
        f"one tool round trip: {chain * 1000:.1f} ms; two plain requests {pair * 1000:.1f} ms; "
        f"the tool's own time {tool * 1000:.1f} ms; overhead {overhead * 1000:.1f} ms"
    )
    return 0 if ratio <= GOAL_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
