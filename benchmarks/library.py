"""The library against openai-python, measured in the same run: import time, client creation,
and CPU per chunk over a 20 000-chunk stream, sync and async.

    python benchmarks/library.py [--rounds 5] [--openai-python PATH]

openai-python runs in a virtualenv of this benchmark's own, made on first use at
``$XDG_CACHE_HOME/atdak-bench/openai`` (``python -m venv`` and ``pip install openai``, about
20 s, once), as benchmarks/peers.py does for llm. The lean server of benchmarks/bench_server.py
runs in a thread of this process; each measurement runs in a fresh child process (this file
with ``--child``, standard library only until it imports the client under test), so the
server's CPU is never counted.

- import: ``import atdak`` / ``import openai`` inside the child (interpreter start-up left
  out), and, for atdak, ``from atdak import AtdakClient`` too (it loads httpx);
- client: the first ``AtdakClient(...)`` / ``OpenAI(...)`` of a process, imports done
  (mostly httpx building its SSL context);
- per chunk: process CPU time of a 20 000-chunk stream minus that of a 10-chunk stream, over
  the 19 990 chunks between (every chunk's ``choices[0].delta.content`` is read).

Goals (the library issue): per-chunk CPU at most 0.2x openai's, sync and async; the async
client within 1.3x the sync one; ``import atdak`` at most 0.3x ``import openai``. Exits 1 if
one is missed. Medians over ``--rounds`` children.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LONG, SHORT = 20_000, 10


# ---------------------------------------------------------------- the child (no imports above)


def child(library: str, what: str, base_url: str) -> dict[str, float]:
    if what == "import":
        return _child_import(library)
    _child_import(library)  # what follows is the creation alone
    started = time.perf_counter()
    client = _make_client(library, base_url)
    created_ms = (time.perf_counter() - started) * 1000
    if what == "sync":
        read = _sync_reader(client)
    else:
        import asyncio

        read = _async_reader(library, base_url, asyncio)
    read(SHORT)  # warm: the connection, the code paths
    short, long = read(SHORT), read(LONG)
    return {"client_ms": created_ms, "per_chunk_us": (long - short) / (LONG - SHORT) * 1e6}


def _child_import(library: str) -> dict[str, float]:
    started = time.perf_counter()
    if library == "atdak":
        import atdak  # noqa: F401

        bare = time.perf_counter()
        from atdak import AtdakClient  # noqa: F401
    else:
        import openai  # noqa: F401

        bare = time.perf_counter()
        from openai import OpenAI  # noqa: F401
    done = time.perf_counter()
    return {"import_ms": (bare - started) * 1000, "import_client_ms": (done - started) * 1000}


def _make_client(library: str, base_url: str) -> object:
    if library == "atdak":
        from atdak import AtdakClient

        return AtdakClient(api_key="bench", base_url=base_url)
    from openai import OpenAI

    return OpenAI(api_key="bench", base_url=base_url)


def _messages() -> list[dict[str, str]]:
    return [{"role": "user", "content": "hi"}]


def _sync_reader(client: object):  # type: ignore[no-untyped-def]
    def read(tokens: int) -> float:
        started = time.process_time()
        stream = client.chat.completions.create(  # type: ignore[attr-defined]
            model="bench", messages=_messages(), stream=True, max_tokens=tokens
        )
        for chunk in stream:
            if chunk.choices:
                _ = chunk.choices[0].delta.content
        return time.process_time() - started

    return read


def _async_reader(library: str, base_url: str, asyncio):  # type: ignore[no-untyped-def]
    if library == "atdak":
        from atdak import AsyncAtdakClient as AsyncClient
    else:
        from openai import AsyncOpenAI as AsyncClient
    loop = asyncio.new_event_loop()
    client = AsyncClient(api_key="bench", base_url=base_url)

    async def stream_once(tokens: int) -> float:
        started = time.process_time()
        stream = await client.chat.completions.create(
            model="bench", messages=_messages(), stream=True, max_tokens=tokens
        )
        async for chunk in stream:
            if chunk.choices:
                _ = chunk.choices[0].delta.content
        return time.process_time() - started

    return lambda tokens: loop.run_until_complete(stream_once(tokens))


# ---------------------------------------------------------------- the parent


def openai_python(given: str | None) -> tuple[str | None, str]:
    """A python that imports openai: the given one, else the cached virtualenv (made if
    need be). None and why when none can be had."""
    if given:
        return given, given
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    venv = Path(cache) / "atdak-bench" / "openai"
    python = venv / "bin" / "python"
    if python.exists():
        return str(python), f"cached virtualenv {venv}"
    sys.path.insert(0, str(HERE))
    import peers

    print(f"library: installing openai into {venv} (once, ~20 s)", file=sys.stderr, flush=True)
    for what, argv in (
        ("python -m venv", [sys.executable, "-m", "venv", str(venv)]),
        ("pip install openai", [str(python), "-m", "pip", "install", "--quiet",
                                "--disable-pip-version-check", "openai"]),
    ):  # fmt: skip
        error = peers._run_step(what, argv)
        if error is not None:
            return None, error
    return str(python), f"cached virtualenv {venv}, just made"


def run_child(python: str, library: str, what: str, base_url: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [python, str(Path(__file__).resolve()), "--child", library, what, base_url]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise SystemExit(f"library: {library} {what} failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def measure(pythons: dict[str, str], base_url: str, rounds: int) -> dict[str, float]:
    """Medians over ``rounds``; the libraries interleaved within each round."""
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        for library, python in pythons.items():
            for what in ("import", "sync", "async"):
                for name, value in run_child(python, library, what, base_url).items():
                    samples.setdefault(f"{library} {what} {name}", []).append(value)
    return {name: statistics.median(values) for name, values in samples.items()}


def report(figures: dict[str, float]) -> bool:
    for name, value in sorted(figures.items()):
        print(f"{name:<40} {value:10.2f}")

    def ratio(a: str, b: str) -> float:
        return figures[a] / figures[b]

    sync, asyn = "sync per_chunk_us", "async per_chunk_us"
    goals = [
        ("per chunk, sync: atdak / openai", ratio(f"atdak {sync}", f"openai {sync}"), 0.2),
        ("per chunk, async: atdak / openai", ratio(f"atdak {asyn}", f"openai {asyn}"), 0.2),
        ("per chunk: atdak async / atdak sync", ratio(f"atdak {asyn}", f"atdak {sync}"), 1.3),
        (
            "import atdak / import openai",
            ratio("atdak import import_ms", "openai import import_ms"),
            0.3,
        ),
    ]
    notes = [
        ("from atdak import AtdakClient / from openai import OpenAI",
         ratio("atdak import import_client_ms", "openai import import_client_ms")),
        ("first client: atdak / openai", ratio("atdak sync client_ms", "openai sync client_ms")),
        ("per chunk: openai async / openai sync",
         ratio("openai async per_chunk_us", "openai sync per_chunk_us")),
    ]  # fmt: skip
    print(f"\n{'goal':<58} {'value':>7} {'limit':>6}  verdict")
    met = True
    for text, value, limit in goals:
        ok = value <= limit
        met &= ok
        print(f"{text:<58} {value:6.2f}x {limit:5.2f}x  {'ok' if ok else 'MISSED'}")
    for text, value in notes:
        print(f"{text:<58} {value:6.2f}x {'-':>6}  note")
    return met


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(*sys.argv[2:5])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--openai-python", help="a python that can import openai")
    args = parser.parse_args()
    python, how = openai_python(args.openai_python)
    if python is None:
        print(f"library: no openai-python to compare with ({how})", file=sys.stderr)
        return 1
    sys.path.insert(0, str(HERE))
    from bench_server import BenchServer

    version = subprocess.run(
        [python, "-c", "import openai; print(openai.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    print(f"{args.rounds} rounds, medians. Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs; openai {version} ({how})\n")  # fmt: skip
    with BenchServer() as server:
        figures = measure({"atdak": sys.executable, "openai": python}, server.base_url, args.rounds)
    return 0 if report(figures) else 1


if __name__ == "__main__":
    sys.exit(main())
