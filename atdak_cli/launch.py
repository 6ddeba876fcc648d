"""The ``atdak`` command's entry point: ``--version`` answers before typer is imported, and the
process ends without tearing the interpreter down.

typer (with its vendored click) costs ~45 ms to import; a version query needs none of it.
"""

from __future__ import annotations

import sys

from atdak_cli import __version__

TYPE_CHECKING = False  # typing itself costs ~10 ms (re, enum, collections): not for --version
if TYPE_CHECKING:
    from typing import NoReturn


def main() -> NoReturn:
    if sys.argv[1:] in (["--version"], ["-V"]):
        sys.stdout.write(f"atdak {__version__}\n")
        sys.exit(0)
    import gc

    # Python collects cycles every 700 new objects; importing typer and httpx makes ~60 such
    # passes over a growing heap (~10 ms, more than the history's writes). With this, a
    # one-shot command makes none; a long chat still collects, every 100 000 objects.
    gc.set_threshold(100_000)
    from atdak_cli.cli import main as run

    try:
        run()
    except SystemExit as exc:
        leave(exc.code)


def leave(code: object) -> NoReturn:
    """Exit now, skipping the interpreter's teardown: finalising every module of httpx, typer
    and sqlite3 costs ~20 ms, and the OS frees memory anyway. By now every file is closed by
    its ``with`` block and the history's connection is closed; exit handlers still run and
    stdout and stderr are flushed. (Non-daemon threads are not waited for: only a batch
    interrupted mid-flight has any, and its requests' answers would be thrown away.)"""
    import atexit
    import os

    status = code if isinstance(code, int) else 0 if code is None else 1
    try:
        atexit._run_exitfuncs()
        if code is not None and not isinstance(code, int):
            sys.stderr.write(f"{code}\n")
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    except (OSError, ValueError):
        pass  # a reader that left: the status already says so
    finally:
        os._exit(status)
