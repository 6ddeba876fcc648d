"""The peers benchmarks/speed.py measures atdak against: simonw's ``llm`` CLI.

``find_llm`` picks the ``llm`` to run: the one given (``speed.py --llm PATH``), else ``llm`` on
PATH, else a virtualenv of this module's own, made on first use at
``$XDG_CACHE_HOME/atdak-bench/peers`` (default ``~/.cache/atdak-bench/peers``) with
``python -m venv`` and ``pip install llm`` (about 20 s, once). When none can be had (offline),
it returns no path and the reason, and never raises.

``llm_env`` points llm at the bench server without a key and without touching the user's llm
configuration: a directory of its own as ``LLM_USER_PATH``, holding ``extra-openai-models.yaml``
with a ``bench`` model whose ``api_base`` is the server (a model with an ``api_base`` needs no
key). llm logs every exchange to ``logs.db`` there, as it does by default.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

INSTALL_TIMEOUT = 900.0  # seconds, for pip install llm (about 20 s when PyPI is reachable)
RUN_TIMEOUT = 60.0
# The user's own llm and OpenAI settings (default model, key, base URL) stay out of the run.
DROPPED_ENV_PREFIXES = ("LLM_", "OPENAI_")


@dataclass
class Found:
    """The ``llm`` to measure (``path``), or None and why (``how``)."""

    path: str | None
    how: str


def cache_venv() -> Path:
    """Where the cached llm virtualenv lives."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "atdak-bench" / "peers"


def find_llm(given: str | None) -> Found:
    """The given ``llm``, else the one on PATH, else the cached virtualenv's (made if need be)."""
    if given:
        path = shutil.which(given)
        return Found(path, f"--llm {given}") if path else Found(None, f"--llm {given}: not found")
    on_path = shutil.which("llm")
    if on_path:
        return Found(on_path, "on PATH")
    venv = cache_venv()
    llm = venv / "bin" / "llm"
    if llm.exists():
        return Found(str(llm), "cached virtualenv")
    error = install_llm(venv)
    if error is not None:
        return Found(None, error)
    return Found(str(llm), "cached virtualenv, just made")


def install_llm(venv: Path) -> str | None:
    """Make ``venv`` and ``pip install llm`` into it; None, or why it failed (then no venv)."""
    print(f"peers: installing llm into {venv} (once, ~20 s)", file=sys.stderr, flush=True)
    steps = (
        ("python -m venv", [sys.executable, "-m", "venv", str(venv)]),
        ("pip install llm", [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                             "--disable-pip-version-check", "llm"]),
    )  # fmt: skip
    for what, argv in steps:
        error = _run_step(what, argv)
        if error is not None:
            shutil.rmtree(venv, ignore_errors=True)
            return error
    return None


def _run_step(what: str, argv: list[str]) -> str | None:
    """Run one install step; None, or its failure as one line."""
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{what}: {exc}"
    if done.returncode == 0:
        return None
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return f"{what} failed: {lines[-1].strip() if lines else f'exit {done.returncode}'}"


BENCH_MODELS = ("bench", "bench-latency")


def llm_env(env: dict[str, str], home: Path, base_url: str) -> dict[str, str]:
    """``env`` for llm: without the user's llm and OpenAI settings, ``LLM_USER_PATH`` = ``home``.

    ``home`` gets an ``extra-openai-models.yaml`` declaring the bench server's models (each
    sent under its own name) at ``base_url``.
    """
    home.mkdir(parents=True, exist_ok=True)
    (home / "extra-openai-models.yaml").write_text(
        "".join(
            f'- model_id: {model}\n  model_name: {model}\n  api_base: "{base_url}"\n'
            for model in BENCH_MODELS
        )
    )
    out = {k: v for k, v in env.items() if not k.startswith(DROPPED_ENV_PREFIXES)}
    out["LLM_USER_PATH"] = str(home)
    return out


def llm_version(llm: str, env: dict[str, str]) -> str:
    """What ``llm --version`` prints, e.g. ``llm, version 0.36``."""
    return _run([llm, "--version"], env).strip()


def check_llm(llm: str, env: dict[str, str], expected: str) -> None:
    """Raise unless ``llm -m bench hi`` prints ``expected``: proof it talked to the server."""
    out = _run([llm, "-m", "bench", "hi"], env)
    if expected not in out:
        raise RuntimeError(f"llm did not print the bench server's answer: {out[:200]!r}")


def _run(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {done.returncode}: {done.stderr[-500:]}")
    return done.stdout
