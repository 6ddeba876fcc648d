"""The ``atdak`` process: the ``--version`` fast path, GC, signals, streams, the one error
handler, and the exit. The command line itself is :mod:`atdak_cli.cli`.

typer (with its vendored click) costs ~45 ms to import; a version query needs none of it.
"""

from __future__ import annotations

import sys

from atdak_cli import __version__

TYPE_CHECKING = False  # typing itself costs ~10 ms (re, enum, collections): not for --version
if TYPE_CHECKING:
    from typing import NoReturn

    import typer


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the command named by ``sys.argv`` and exit with its documented status. Given
    ``argv`` (a test, in its own process), raise SystemExit with the status instead."""
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        sys.stdout.write(f"atdak {__version__}\n")
        sys.exit(0)
    import gc
    import os
    import signal

    # Python collects cycles every 700 new objects; importing typer and httpx makes ~60 such
    # passes over a growing heap (~10 ms, more than the history's writes). With this, a
    # one-shot command makes none; a long chat still collects, every 100 000 objects.
    gc.set_threshold(100_000)
    debug = "--debug" in args or bool(os.environ.get("ATDAK_DEBUG"))
    signal.signal(signal.SIGTERM, _on_sigterm)
    _sane_streams()
    try:
        status = _run(args, debug=debug)
    except BrokenPipeError:  # the reader left while we were reporting
        from atdak_cli.errors import ExitStatus

        status = ExitStatus.PIPE
    status = _flushed(status)
    if argv is not None:
        sys.exit(status)
    leave(status)


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    from atdak_cli.errors import Terminated

    raise Terminated()


def _run(args: list[str], *, debug: bool) -> int:
    import typer

    from atdak_cli.errors import ExitStatus

    try:
        return invoke(args)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return ExitStatus.SIGINT
    except typer.TyperException as exc:
        return _usage_error(exc)
    except BaseException as exc:  # noqa: BLE001 - the one handler of the program
        return _report(exc, debug=debug)


def invoke(args: list[str]) -> int:
    """Run the command without click's own handling, which would swallow exit codes, turn
    Ctrl-C into a quiet 130 and a closed pipe into 1: this module's is the one handler."""
    import typer

    command = typer.main.get_command(_only_what_runs(args))
    with command.make_context("atdak", list(args)) as ctx:
        command.invoke(ctx)
    return 0


def _only_what_runs(args: list[str]) -> typer.Typer:
    """The app with only the command (or group) named first in ``args``, when there is one:
    building the click commands of every parameter of every command costs ~7 ms a start."""
    import copy

    from atdak_cli.cli import app

    name = args[0] if args else ""
    commands = [c for c in app.registered_commands if _command_name(c) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app  # help, --version, a typo: all the commands are wanted
    lean = copy.copy(app)
    lean.registered_commands, lean.registered_groups = commands, groups
    return lean


def _command_name(info: typer.models.CommandInfo) -> str:
    import typer

    callback = info.callback
    return info.name or typer.main.get_command_name(callback.__name__ if callback else "")


def _usage_error(exc: typer.TyperException) -> int:
    from atdak_cli.errors import ExitStatus, error_line

    if type(exc).__name__ == "NoArgsIsHelpError":
        print(exc.ctx.get_help())  # type: ignore[attr-defined]
        return 0
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    usage = f" — see `{ctx.command_path} --help`" if ctx is not None else ""
    sys.stderr.write(error_line(message) + usage + "\n")
    return int(getattr(exc, "exit_code", ExitStatus.USAGE) or ExitStatus.USAGE)


def _report(exc: BaseException, *, debug: bool) -> int:
    from atdak_cli.errors import ExitStatus, redact, report, status_for

    if isinstance(exc, SystemExit):
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    status = status_for(exc)
    if status == ExitStatus.PIPE:
        return status
    if debug:
        import traceback

        sys.stderr.write(redact("".join(traceback.format_exception(exc))))
    if status in (ExitStatus.SIGINT, ExitStatus.SIGTERM):
        sys.stderr.write("\natdak: interrupted\n")
        return status
    status, line = report(exc, debug=debug)
    sys.stderr.write(line + "\n")
    return status


def _sane_streams() -> None:
    """A closed stdout (``>&-``) becomes a broken pipe on first write, like a reader that left;
    a terminal that cannot show a character shows '?' instead of failing (LC_ALL=C)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, _closed_stream())
        elif (getattr(stream, "encoding", "utf-8") or "").lower().replace("-", "") != "utf8":
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors="replace")


def _closed_stream() -> object:
    import io

    class ClosedStream(io.TextIOBase):
        closed_by_user = True

        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "standard output is closed")

    return ClosedStream()


def _flushed(status: int) -> int:
    """Flush stdout now, while a failure can still change the status (141: the reader left)."""
    import os

    if getattr(sys.stdout, "closed_by_user", False):
        return status
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        from atdak_cli.errors import ExitStatus

        status = status or ExitStatus.PIPE
        # Python would complain about the failed flush again at shutdown.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return status


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
