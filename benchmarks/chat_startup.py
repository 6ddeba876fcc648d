"""How soon can you type? ``python benchmarks/chat_startup.py [--runs N]``.

Spawns ``atdak chat`` in a pseudo-terminal (80x24) and times spawn -> a usable prompt (the
input line and the bottom toolbar drawn, which prompt_toolkit does once it reads keys), median
of N runs, against spawn -> exit of ``python -c "import prompt_toolkit"`` in the same kind of
pty. Nothing is sent: the chat connects to the API only when a question is asked.
Exits 1 if the chat takes more than twice the bare import.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect
import pyte

REPO = Path(__file__).resolve().parent.parent
BUDGET_RATIO = 2.0
TIMEOUT = 20.0


class _Screen(pyte.Screen):
    """Answers prompt_toolkit's cursor position requests as a terminal would."""

    def __init__(self, child: pexpect.spawn) -> None:
        super().__init__(80, 24)
        self._child = child

    def write_process_input(self, data: str) -> None:
        self._child.send(data)


def _spawn(args: list[str], env: dict[str, str]) -> pexpect.spawn:
    return pexpect.spawn(sys.executable, args, env=env, dimensions=(24, 80), cwd=str(REPO))


def time_chat(env: dict[str, str]) -> float:
    """Seconds from spawn to a prompt ready for keys."""
    started = time.perf_counter()
    child = _spawn(["-m", "atdak_cli", "chat", "--base-url", "http://127.0.0.1:9/v1"], env)
    screen = _Screen(child)
    stream = pyte.ByteStream(screen)
    try:
        while not _ready(screen):
            stream.feed(child.read_nonblocking(65536, timeout=TIMEOUT))
        elapsed = time.perf_counter() - started
        child.sendeof()
        child.expect(pexpect.EOF, timeout=TIMEOUT)
    finally:
        child.close(force=True)
    return elapsed


def _ready(screen: pyte.Screen) -> bool:
    row = screen.display[screen.cursor.y].rstrip()
    return row == ">" and " · " in screen.display[-1]


def time_import(env: dict[str, str]) -> float:
    """Seconds from spawn to exit of ``python -c "import prompt_toolkit"``."""
    started = time.perf_counter()
    child = _spawn(["-c", "import prompt_toolkit"], env)
    child.expect(pexpect.EOF, timeout=TIMEOUT)
    elapsed = time.perf_counter() - started
    child.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each (default 15)")
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "ATDAK_CONFIG_DIR": f"{tmp}/config",
            "ATDAK_DATA_DIR": f"{tmp}/data",
            "ATDAK_API_KEY": "sk-benchmark",
        }
        time_chat(env)  # warm the file cache and the bytecode
        time_import(env)
        chat = statistics.median(time_chat(env) for _ in range(runs))
        bare = statistics.median(time_import(env) for _ in range(runs))
    ratio = chat / bare
    print(f"python -c 'import prompt_toolkit': {bare * 1000:6.0f} ms (median of {runs})")
    print(f"atdak chat -> usable prompt:       {chat * 1000:6.0f} ms (median of {runs})")
    print(f"ratio: {ratio:.2f}x (budget {BUDGET_RATIO:.1f}x)")
    return 0 if ratio <= BUDGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
