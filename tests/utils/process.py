"""Running atdak as the user does: a real process, stdout a pipe."""

from __future__ import annotations

import os
import shutil
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


def readonly_mount_available() -> bool:
    """Whether a test may bind-mount a directory read-only in a private mount namespace
    (chmod does not stop root; EROFS stops everyone)."""
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--mount", "--map-root-user", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def read_only_command(directory: Path, *argv: str) -> list[str]:
    """``argv`` run with ``directory`` mounted read-only (see readonly_mount_available)."""
    script = 'mount --bind -o ro "$1" "$1" && shift && exec "$@"'
    namespace = ["unshare", "--mount", "--map-root-user"]
    return [*namespace, "sh", "-c", script, "sh", str(directory), *argv]
