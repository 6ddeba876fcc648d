"""Replacing a file whole: a reader sees the old contents or the new, never half of them."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def replace_file(path: Path, chunks: Iterable[str], *, mode: int) -> None:
    """Write ``chunks`` to a temp file beside ``path`` with ``mode`` from its creation (mkstemp
    makes it 0600), then rename it over ``path``; the temp file never outlives a failure."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines(chunks)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
