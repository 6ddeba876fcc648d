"""``/edit``: the next message written in the user's $VISUAL or $EDITOR."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from atdak_cli.errors import UsageError


def edit_in_editor(initial: str = "") -> str:
    """Run $VISUAL/$EDITOR on a private temporary file and return what it holds after."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or _fallback_editor()
    fd, name = tempfile.mkstemp(prefix="atdak-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(initial)
        try:
            status = subprocess.call([*shlex.split(editor), name])
        except OSError as exc:
            raise UsageError(f"cannot run the editor {editor!r} ({exc.strerror})") from None
        if status != 0:
            raise UsageError(f"the editor {editor!r} exited with status {status}; nothing sent")
        return Path(name).read_text(encoding="utf-8", errors="replace")
    finally:
        os.unlink(name)


def _fallback_editor() -> str:
    import shutil

    found = (shutil.which(name) for name in ("editor", "nano", "vi"))
    return next((path for path in found if path), "vi")
