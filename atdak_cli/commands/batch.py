"""``atdak batch FILE``: many requests from a JSONL file, a few at a time.

Input: one request per line, either a JSON string (the prompt) or an object with ``messages``
and any of ``model``, ``temperature``, ``max_tokens``, ``top_p``, ``frequency_penalty``,
``presence_penalty`` and ``system``; other keys (``seed``, ``stop``...) are sent as they are,
except ``stream``. Blank lines are skipped. Lines are split on LF only: U+2028 is legal inside
a JSON string. Command-line settings (-m, -s, -t...) are the defaults a line overrides.

Every line is checked before anything is sent: one bad line stops the batch with exit 2,
naming its line number. Once sending has begun, a failing request does not stop the others.

Output: one JSON object per request, in input order, flushed line by line::

    {"index": 0, "line": 1, "ok": true, "answer": "...", "finish_reason": "stop",
     "model": "...", "usage": {"prompt_tokens": ..., ...}}
    {"index": 1, "line": 2, "ok": false, "error": {"status": 5, "kind": "rate_limited",
     "message": "HTTP 429: ...", "http_status": 429}, "usage": null}

``index`` counts requests from 0; ``line`` is the 1-based line of the input file.

Concurrency: exactly N worker threads over the one connection pool of the given client, so
never more than N requests are in flight. Retries (429, 5xx, resets) use the client's policy
with at least ``BATCH_RETRIES`` attempts, and a 429's Retry-After holds back every worker,
not only the one that was told: the others would only collect 429s of their own.

Resuming (``-o FILE --resume``): records of FILE with ``"ok": true`` are kept and their
requests not sent again; failed ones are retried. FILE is first rewritten (atomically) to the
kept records, new records are appended as they complete, and once all are done FILE is
rewritten atomically with exactly one line per request, in order. A batch killed at any point
leaves a FILE that ``--resume`` reads. A new output file is created 0600 (answers may be
private, as in the history).

Exit status: 0 when every request succeeded (resumed ones included); otherwise the status
(design §3) of the failing request that comes first *in the input*, so a rerun gives the same
code whatever the timing: 5 rate limited past retries, 4 rejected, 6 server error... 2 for bad
input lines or flags (nothing sent).

Batch answers are not saved in the history: the output file is their record, and a thousand
single-question conversations would bury the user's own in ``history list`` and search.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from atdak_cli.config import RANGES
from atdak_cli.errors import (
    HINTS,
    AppError,
    ExitStatus,
    UnusableAnswerError,
    UsageError,
    error_line,
    is_local_io_error,
)
from atdak_cli.paths import replace_file
from atdak_cli.turn import refuse_tool_calls, tool_names

if TYPE_CHECKING:
    from atdak_cli.client import AtdakClient, ChatCompletion
    from atdak_cli.config import Flags, Settings
    from atdak_cli.terminal import Terminal

BATCH_RETRIES = 8
MAX_CONCURRENCY = 64  # httpx keeps at most 100 connections per pool
STDIN = "-"
_NUMBERS = ("temperature", "top_p", "frequency_penalty", "presence_penalty")
_REFUSED = frozenset({"stream", "stream_options"})
_PROGRESS_WIDTH = 30
_PROGRESS_INTERVAL = 0.05  # seconds between redraws: a fast batch must not flood the terminal

Record = dict[str, Any]


@dataclass(frozen=True)
class BatchOptions:
    """The batch flags of ``atdak complete``."""

    path: str
    concurrency: int = 4
    output: str | None = None
    resume: bool = False


@dataclass(frozen=True)
class BatchRequest:
    """One input line, checked and ready to send."""

    index: int
    line: int
    model: str
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    extra: dict[str, Any]


def run(flags: Flags, options: BatchOptions) -> int:
    """``atdak batch FILE``: the exit status (module docstring)."""
    from atdak_cli.connect import open_client
    from atdak_cli.terminal import open_terminal

    settings = flags.settings()
    terminal = open_terminal(settings.color)
    with open_client(
        settings, api_key_flag=flags.api_key, terminal=terminal, debug=flags.debug
    ) as client:
        return run_batch(client, settings, terminal, options)


def run_batch(
    client: AtdakClient, settings: Settings, terminal: Terminal, options: BatchOptions
) -> int:
    """Run every request of ``options.path``; returns the exit status (module docstring)."""
    check_options(options)
    requests = read_requests(options.path, settings, terminal)
    done = load_done(Path(options.output), requests) if options.resume and options.output else {}
    todo = [r for r in requests if r.index not in done]
    progress = Progress(terminal.stderr, len(requests), enabled=terminal.stderr_isatty)
    progress.update(len(done), 0)
    with _output(options, terminal, done) as stream:
        sink = Sink(stream, [r.index for r in todo])
        backoff = SharedBackoff(client.retry_policy.sleep)
        try:
            _execute(batch_client(client, backoff), backoff, todo, sink, progress, options)
        except BaseException:
            progress.finish()
            _note_stopped(terminal, options, len(done) + sink.written, len(requests))
            raise
    progress.finish()
    if options.output and done:
        rewrite(Path(options.output), {**done, **sink.records})
    return _report({**done, **sink.records}, requests, terminal)


def check_options(options: BatchOptions) -> None:
    if not 1 <= options.concurrency <= MAX_CONCURRENCY:
        raise UsageError(
            f"--concurrency must be between 1 and {MAX_CONCURRENCY}, not {options.concurrency}"
        )
    if options.resume and not options.output:
        raise UsageError("--resume needs -o/--output FILE", hint="the file of the earlier run")
    if options.output and options.path != STDIN and _same_file(options.path, options.output):
        raise UsageError(f"-o {options.output} would overwrite the batch's input")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# --- input ----------------------------------------------------------------------------------


def read_requests(path: str, settings: Settings, terminal: Terminal) -> list[BatchRequest]:
    """Every request of the file, all checked: a bad line is a UsageError naming it."""
    name = "standard input" if path == STDIN else path
    text = _decode(_read_input(path, terminal), name)
    requests: list[BatchRequest] = []
    bad: list[str] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            requests.append(parse_line(raw, len(requests), number, settings))
        except ValueError as exc:
            bad.append(f"{name} line {number}: {exc}")
    if bad:
        more = f" (and {len(bad) - 1} more bad lines)" if len(bad) > 1 else ""
        raise UsageError(bad[0] + more, hint="fix the input; nothing was sent")
    return requests


def _read_input(path: str, terminal: Terminal) -> bytes:
    if path == STDIN:
        buffer = getattr(terminal.stdin, "buffer", None)
        return buffer.read() if buffer is not None else terminal.stdin.read().encode()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path} ({exc.strerror or exc})") from None


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError(f"{name} line {line}: not UTF-8 text", hint="nothing was sent") from None


def parse_line(raw: str, index: int, line: int, settings: Settings) -> BatchRequest:
    """A request from one line; ValueError says what is wrong with it."""
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if isinstance(value, str):
        value = {"messages": [{"role": "user", "content": _prompt(value)}]}
    elif not isinstance(value, dict):
        raise ValueError("must be a JSON string (a prompt) or an object with messages")
    messages = _messages(value.get("messages"))
    params = {**settings.sampling(), **_params(value)}
    system = value.get("system", None if _has_system(messages) else settings.system)
    if system is not None:
        messages.insert(0, {"role": "system", "content": _text(system, "system")})
    model = value.get("model", settings.model)
    if not isinstance(model, str) or not model:
        raise ValueError("model must be a non-empty string")
    extra = {k: v for k, v in value.items() if k not in _KNOWN}
    return BatchRequest(index, line, model, messages, params, extra)


_KNOWN = frozenset({"messages", "model", "system", "max_tokens", *_NUMBERS})


def _prompt(value: str) -> str:
    if not value.strip():
        raise ValueError("the prompt is empty")
    return value


def _messages(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise ValueError("an object needs messages: a non-empty list of {role, content}")
    for position, message in enumerate(value, start=1):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ValueError(f"message {position} needs a role")
        if not isinstance(message.get("content"), str | list):
            raise ValueError(f"message {position} needs a content string")
    return [dict(m) for m in value]


def _has_system(messages: Sequence[Mapping[str, Any]]) -> bool:
    return any(m.get("role") == "system" for m in messages)


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _params(value: Mapping[str, Any]) -> dict[str, Any]:
    """The sampling parameters of a line, checked against the API page's ranges."""
    refused = _REFUSED & set(value)
    if refused:
        raise ValueError(f"{sorted(refused)[0]} is not allowed in a batch (answers are whole)")
    params: dict[str, Any] = {}
    for name in (*_NUMBERS, "max_tokens"):
        if name in value:
            params[name] = _number(name, value[name])
    return params


def _number(name: str, value: object) -> float:
    integer = name == "max_tokens"
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        raise ValueError(f"{name} must be {'an integer' if integer else 'a number'}")
    low, high = RANGES[name]
    if value < low or (high is not None and value > high):
        bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise ValueError(f"{name} must be {bound}, not {value}")
    return value


# --- resuming and writing ------------------------------------------------------------------


def load_done(path: Path, requests: Sequence[BatchRequest]) -> dict[int, Record]:
    """The successful records of an earlier run's output; anything unreadable is redone."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read {path} ({exc.strerror or exc})") from None
    done: dict[int, Record] = {}
    for raw in text.split("\n"):
        record = _record(raw)
        if record is not None and record.get("ok") is True:
            _check_belongs(record, requests, path)
            done[record["index"]] = record
    return done


def _record(raw: str) -> Record | None:
    try:
        value = json.loads(raw)
    except ValueError:  # a line cut short by a kill, or blank
        return None
    index = value.get("index") if isinstance(value, dict) else None
    if isinstance(index, bool) or not isinstance(index, int):
        return None
    return dict(value)


def _check_belongs(record: Record, requests: Sequence[BatchRequest], path: Path) -> None:
    index = record["index"]
    if not 0 <= index < len(requests) or record.get("line") != requests[index].line:
        raise UsageError(
            f"{path} holds a result (index {index}) that does not match this input",
            hint="is it the output of another batch? use another -o file",
        )


@contextlib.contextmanager
def _output(
    options: BatchOptions, terminal: Terminal, done: Mapping[int, Record]
) -> Iterator[IO[str]]:
    if options.output is None:
        yield terminal.stdout
        return
    path = Path(options.output)
    rewrite(path, done)  # drops failed and half-written lines before anything is appended
    try:
        handle = path.open("a", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path} ({exc.strerror or exc})") from None
    with handle:
        yield handle


def rewrite(path: Path, records: Mapping[int, Record]) -> None:
    """Replace ``path`` atomically with ``records`` in index order (temp file + os.replace)."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        mode = 0o600
    lines = (_dumps(records[i]) + "\n" for i in sorted(records))
    try:
        replace_file(path, lines, mode=mode)
    except OSError as exc:
        if is_local_io_error(exc):  # a full disk, say: reported as any failed write is
            raise
        raise UsageError(f"cannot write {path} ({exc.strerror or exc})") from None


def _dumps(record: Record) -> str:
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    # Escaped so that readers splitting on every Unicode line break (str.splitlines) still
    # see one record per line; JSON allows either spelling.
    return text.translate(_LINE_BREAKS)


_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


class Sink:
    """A reorder buffer: records arrive in any order and leave in ``order``, one flushed line
    each, so the output is always a prefix of the final one."""

    def __init__(self, stream: IO[str], order: Sequence[int]) -> None:
        self._stream = stream
        self._order = order
        self._pending: dict[int, Record] = {}
        self.records: dict[int, Record] = {}
        self.written = 0

    def add(self, record: Record) -> None:
        self.records[record["index"]] = record
        self._pending[record["index"]] = record
        while self.written < len(self._order) and self._order[self.written] in self._pending:
            self._stream.write(_dumps(self._pending.pop(self._order[self.written])) + "\n")
            self._stream.flush()
            self.written += 1


# --- sending ---------------------------------------------------------------------------------


class SharedBackoff:
    """One pause for every worker: a Retry-After told to one applies to all (it is the
    server's load, not one request's). Used as the retry policy's ``sleep``."""

    def __init__(
        self, sleep: Callable[[float], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._until = 0.0

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, self._clock() + seconds)
        self.wait()

    def wait(self) -> None:
        with self._lock:
            left = self._until - self._clock()
        if left > 0:
            self._sleep(left)


def batch_client(client: AtdakClient, backoff: SharedBackoff) -> AtdakClient:
    """A client over the same connection pool with more retries and a shared backoff."""
    policy = client.retry_policy
    retries = max(policy.max_retries, BATCH_RETRIES)
    return client.with_options(
        retry_policy=replace(policy, max_retries=retries, sleep=backoff.pause)
    )


def _execute(
    client: AtdakClient,
    backoff: SharedBackoff,
    todo: Sequence[BatchRequest],
    sink: Sink,
    progress: Progress,
    options: BatchOptions,
) -> None:
    workers = options.concurrency
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="atdak-batch")
    failed = 0
    try:
        futures: list[Future[Record]] = [pool.submit(ask, client, r, backoff) for r in todo]
        for future in as_completed(futures):
            record = future.result()
            failed += not record["ok"]
            sink.add(record)
            progress.update(progress.total - len(todo) + len(sink.records), failed)
    except BaseException:
        # Requests in flight finish on their own (bounded by the timeout); none new start.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def ask(client: AtdakClient, request: BatchRequest, backoff: SharedBackoff) -> Record:
    """Send one request; every known failure becomes an error record."""
    from atdak_cli.client import AtdakError

    backoff.wait()
    try:
        completion = client.chat.completions.create(
            model=request.model,
            messages=request.messages,
            stream=False,
            extra_body=request.extra or None,
            **request.params,
        )
        return success(request, completion)
    except (AtdakError, AppError) as exc:
        return failure(request, exc)


def success(request: BatchRequest, completion: ChatCompletion) -> Record:
    if not completion.choices:
        raise UnusableAnswerError("the answer has no choices")
    choice = completion.choices[0]
    refuse_tool_calls(choice.finish_reason, tool_names(choice.message.tool_calls))
    usage = completion.usage.to_dict() if completion.usage is not None else None
    return {
        "index": request.index,
        "line": request.line,
        "ok": True,
        "answer": choice.message.content or "",
        "finish_reason": choice.finish_reason,
        "model": completion.model or request.model,
        "usage": usage,
    }


def failure(request: BatchRequest, exc: BaseException) -> Record:
    from atdak_cli.errors import redact, status_for

    status = status_for(exc)
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    error = {
        "status": int(status),
        "kind": status.name.lower(),
        "message": redact(" ".join(str(message).split())),
        "http_status": getattr(exc, "status_code", None),
    }
    return {
        "index": request.index,
        "line": request.line,
        "ok": False,
        "error": error,
        "usage": None,
    }


# --- reporting -------------------------------------------------------------------------------


class Progress:
    """``[#####     ] 512/1000`` redrawn in place on stderr; nothing when it is not a terminal."""

    def __init__(
        self,
        stream: IO[str],
        total: int,
        *,
        enabled: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self.total = total
        self._enabled = enabled and total > 0
        self._clock = clock
        self._last = float("-inf")
        self._drawn = False

    def update(self, done: int, failed: int) -> None:
        now = self._clock()
        if not self._enabled or (done < self.total and now - self._last < _PROGRESS_INTERVAL):
            return
        self._last = now
        filled = _PROGRESS_WIDTH * done // self.total
        bar = "#" * filled + " " * (_PROGRESS_WIDTH - filled)
        note = f"  {failed} failed" if failed else ""
        self._stream.write(f"\r[{bar}] {done}/{self.total}{note}")
        self._stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False


def _report(
    records: Mapping[int, Record], requests: Sequence[BatchRequest], terminal: Terminal
) -> int:
    failures = [records[r.index] for r in requests if not records[r.index]["ok"]]
    if not failures:
        return ExitStatus.OK
    first = failures[0]
    status = ExitStatus(first["error"]["status"])
    hint = HINTS.get(status)
    terminal.notice(
        error_line(
            f"{len(failures)} of {len(requests)} requests failed; the first, line "
            f"{first['line']}: {first['error']['message']}",
            hint,
        )
    )
    return status


def _note_stopped(terminal: Terminal, options: BatchOptions, done: int, total: int) -> None:
    if options.output:
        terminal.notice(
            f"atdak: batch stopped with {done} of {total} done in {options.output}; "
            "run it again with --resume to finish"
        )
