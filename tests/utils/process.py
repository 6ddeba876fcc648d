"""Running atdak as the user does: a real process, stdout a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# A unique fake key: the secrets canary searches every output and file for it.
CANARY_KEY = "sk-canary-7f3a9c1e5b2d4680aa11bb22cc33dd44"
REPO = Path(__file__).resolve().parents[2]


def run_atdak(
    *args: str,
    input: str | bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
) -> subprocess.CompletedProcess[bytes]:
    """``python -m atdak_cli ARGS`` as a real process: stdout is a pipe, never a terminal."""
    data = input.encode() if isinstance(input, str) else input
    return subprocess.run(
        [sys.executable, "-m", "atdak_cli", *args],
        input=data if data is not None else b"",
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
