"""How fast is atdak against its floors? ``python benchmarks/speed.py [--quick] [--runs N]``.

Starts benchmarks/bench_server.py in a thread on 127.0.0.1 (it streams a whole answer at
once), then runs every case below as a whole process, interleaved over several rounds after
one warm-up round, and prints the medians of wall time, CPU (user + system) and peak RSS of
each. Each child is reaped with ``os.wait4`` (CPU is its own) and runs under GNU time when
present, for its own peak RSS (``ru_maxrss`` survives fork and exec: a direct child of this
process would report at least this process's RSS).

Cases: ``python -c pass`` and ``python -c "import prompt_toolkit"`` (this interpreter),
benchmarks/min_client.py (the smallest httpx client) and curl for 10 and 20 000 tokens, and
``atdak --version``; ``atdak complete`` for 10 and 20 000 tokens into a pipe, 20 000 tokens
rendered as Markdown in a 80x24 pseudo-terminal, and one 4 MB delta; ``atdak chat`` until its
prompt is ready in a pseudo-terminal (then Ctrl-D). Also the delay from the moment the server
sends the first content byte to the moment it comes out of ``atdak complete``'s stdout pipe.

First token on screen: what a user waits for in a terminal. ``atdak complete -m bench-latency
hi`` (which renders Markdown there), ``llm -m bench-latency hi`` when llm is measured, and as
the floor min_client.py with model ``bench-latency`` (plain text, flushed per delta on a
terminal), each in an 80x24 pseudo-terminal: the bench server sends the head and a role chunk,
waits ``LATENCY_PAUSE`` (0.25 s), sends one delta whose text is ``LATENCY_MARK`` (``FIRST``),
waits again, then the rest. Recorded: the time from spawn until ``FIRST`` is in the pty's
output (its median is the table's indented "FIRST on screen" row, raw: the server's pause is
in it), and the whole run as the usual sample. A run whose output never shows ``FIRST``
raises. atdak's first token on screen against llm's and against the floor's are notes (no goal
is set for them).

https: real endpoints are https, where a client must build an SSL context (loading certifi's CA
bundle is ~25 ms). When ``openssl`` is on PATH, a self-signed certificate for 127.0.0.1 is made
in the temporary directory and a second bench server serves https with it; the CA bundle the
https cases trust is certifi's bundle with that certificate appended, so that trusting it costs
what trusting the real world costs. The cases: min_client.py, ``atdak complete`` into a pipe and
curl, for 10 tokens each; the first two with ``SSL_CERT_FILE`` set to that bundle (httpx and
atdak honour it), curl with ``--cacert``. ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` are removed from
every other child's environment, so the host's do not change the http cases. atdak against the
httpx client over https is a note (no goal is set for it); without openssl a note says why the
https cases were skipped.

The peer: simonw's ``llm`` CLI, measured in the same rounds: ``llm --version`` and
``llm -m bench hi`` for 10 and (``-o max_tokens 20000``) 20 000 tokens into a pipe, against
which ``atdak complete`` is held (goal: at most 0.3x llm's wall time for 10 tokens), and
``llm -m bench-latency hi`` for the first token on screen. The llm
run is ``--llm PATH`` if given, else ``llm`` on PATH, else the one in a virtualenv made on first
use at ``$XDG_CACHE_HOME/atdak-bench/peers`` (default ``~/.cache/atdak-bench/peers``) with
``python -m venv`` and ``pip install llm`` (~20 s, once). It talks to the bench server with no
key, through a temporary ``LLM_USER_PATH`` holding an ``extra-openai-models.yaml`` with the
models ``bench`` and ``bench-latency`` (the user's
llm configuration and their ``LLM_*`` and ``OPENAI_*`` variables are left out), and logs each
exchange to its own database there, as it does by default: both clients save history. One
check run first makes sure llm prints the server's answer. When llm cannot be had (offline)
or with ``--no-peers``, its cases are skipped and the goals say why, with the figure the
issue's author published for llm (554 ms) as a note.

atdak runs as the console script next to this interpreter (as a user runs it), with its config
and history in a temporary directory: history is saved, as by default. PYTHONDONTWRITEBYTECODE
and PYTHONUNBUFFERED are removed from the children's environment (a user has neither).
Exits 1 if a goal of the speed issue is missed (the table of goals is printed last). Notes are
not goals: comparisons the issue sets no limit for, and the history issue's aim for the cost of
logging an exchange (5 ms), which is shown against its aim but set and judged there.

``--atdak "CMD"`` measures another build, e.g. a scratch copy:
``PYTHONPATH=/tmp/copy python benchmarks/speed.py --atdak "python -m atdak_cli"``.
``--only TEXT`` runs the cases whose name contains TEXT, without the goals.
``--llm PATH`` measures that llm; ``--no-peers`` measures none.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyte

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peers  # noqa: E402
from bench_server import BIG_DELTA, DOCUMENT, LATENCY_MARK, BenchServer  # noqa: E402

LONG = 20_000
SHORT = 10
LLM_PUBLISHED_MS = 554.0  # llm, 10-token stream, measured by the author
LLM_VERSION, LLM_SHORT, LLM_LONG = "llm --version", "llm, 10 tokens", "llm, 20k tokens"
LLM_FIRST = "llm, bench-latency, pty"
ATDAK_FIRST = "atdak complete, bench-latency, pty (markdown)"
CLIENT_FIRST = "min httpx client, bench-latency, pty"
MARK = LATENCY_MARK.encode()  # the first token, as it must appear in the pty's output
LLM_ANSWER = " ".join(DOCUMENT.split()[:4])  # what llm prints first if it talked to the server
MB = 1024 * 1024
CHILD_TIMEOUT = 60.0
# Not what a user has: sandboxes often set these, and they change what is measured (no .pyc
# written means atdak's own modules are compiled on every run; unbuffered stdout).
# SSL_CERT_FILE and SSL_CERT_DIR: the host's CA configuration; only the https cases set one (to
# the bundle made here).
IGNORED_ENV = ("NO_COLOR", "FORCE_COLOR", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED",
               "SSL_CERT_FILE", "SSL_CERT_DIR")  # fmt: skip
HTTPS_CLIENT = "min httpx client, 10 tokens, https"
HTTPS_COMPLETE = "atdak complete, 10 tokens, pipe, https"


@dataclass
class Sample:
    wall: float  # seconds
    cpu: float  # seconds, user + system
    rss: int  # bytes, peak


@dataclass
class Case:
    name: str
    argv: list[str]
    mode: str = "pipe"  # pipe | pty | chat
    warm_up: bool = True  # run in the unmeasured first round too
    env: dict[str, str] | None = None  # None: the children's common environment
    mark: bytes | None = None  # pty: also time from spawn until these bytes are in the output
    samples: list[Sample] = field(default_factory=list)
    marks: list[float] = field(default_factory=list)  # seconds from spawn to ``mark``

    def median(self, attr: str) -> float:
        return float(statistics.median(float(getattr(s, attr)) for s in self.samples))

    def median_mark(self) -> float:
        return float(statistics.median(self.marks))


# ---------------------------------------------------------------- running one child


def _gnu_time() -> str | None:
    """GNU time, which reports its child's own peak RSS.

    ``ru_maxrss`` survives fork and exec, so a child of this (large) process reports at least
    our own RSS; a child of the small ``time`` process reports its own.
    """
    path = shutil.which("time") or "/usr/bin/time"
    if not os.path.exists(path):
        return None
    probe = subprocess.run([path, "-f", "%M", "true"], capture_output=True, check=False)
    return path if probe.returncode == 0 and probe.stderr.strip().isdigit() else None


GNU_TIME = _gnu_time()


class Child:
    """One process: spawned under GNU time when present, reaped with ``os.wait4``."""

    def __init__(self, argv: list[str], env: dict[str, str], **streams: object) -> None:
        self.argv = argv
        self._rss_file = None
        if GNU_TIME is not None:
            fd, self._rss_file = tempfile.mkstemp(prefix="atdak-rss-")
            os.close(fd)
            argv = [GNU_TIME, "-f", "%M", "-o", self._rss_file, *argv]
        self.start = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, **streams)  # type: ignore[call-overload]

    def reap(self) -> Sample:
        """Wait for the child; wall time from spawn, CPU and peak RSS of the child itself."""
        _, status, usage = os.wait4(self.proc.pid, 0)
        end = time.monotonic()
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        # Linux reports ru_maxrss in KiB.
        rss = usage.ru_maxrss * 1024
        if self._rss_file is not None:
            text = Path(self._rss_file).read_text().split()
            os.unlink(self._rss_file)
            rss = int(text[-1]) * 1024 if text and text[-1].isdigit() else rss
        if self.proc.returncode != 0:
            raise RuntimeError(f"{' '.join(self.argv)} exited with {self.proc.returncode}")
        return Sample(end - self.start, usage.ru_utime + usage.ru_stime, rss)


def _drain(fd: int, deadline: float, on_data: Callable[[bytes], None] | None = None) -> None:
    """Read ``fd`` until EOF (a pty master reports EOF as EIO once the child has gone)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the child ran too long")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            data = os.read(fd, 1 << 16)
        except OSError:
            return
        if not data:
            return
        if on_data is not None:
            on_data(data)


def run_pipe(argv: list[str], env: dict[str, str]) -> tuple[Sample, float | None]:
    """Run with stdout to a pipe we drain; returns the sample and when stdout's first byte came."""
    first: list[float] = []

    def seen(data: bytes) -> None:
        if not first:
            first.append(time.monotonic())

    child = Child(
        argv, env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    stdout = child.proc.stdout
    assert stdout is not None
    try:
        _drain(stdout.fileno(), child.start + CHILD_TIMEOUT, seen)
    finally:
        stdout.close()
    return child.reap(), (first[0] if first else None)


def _open_pty(rows: int = 24, cols: int = 80) -> tuple[int, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return master, slave


def run_pty(
    argv: list[str], env: dict[str, str], mark: bytes | None = None
) -> tuple[Sample, float | None]:
    """Run with stdin, stdout and stderr on a pseudo-terminal whose output we drain.

    With ``mark``, also the seconds from spawn until those bytes were in the output (raises if
    they never were).
    """
    seen: list[float] = []
    tail = bytearray()  # the end of the output so far: a mark split over two reads is found

    def look(data: bytes) -> None:
        if mark is None or seen:
            return
        tail.extend(data)
        if mark in tail:
            seen.append(time.monotonic())
        del tail[: -max(len(mark) - 1, 500)]  # enough for the mark, and for an error message

    master, slave = _open_pty()
    try:
        child = Child(argv, env, stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        _drain(master, child.start + CHILD_TIMEOUT, look)
    finally:
        os.close(master)
    sample = child.reap()
    if mark is not None and not seen:
        raise RuntimeError(f"{' '.join(argv)} never printed {mark!r}: ...{bytes(tail)!r}")
    return sample, (seen[0] - child.start if seen else None)


def run_chat(argv: list[str], env: dict[str, str]) -> Sample:
    """``atdak chat`` in a pty until its prompt is ready for keys (the wall time), then Ctrl-D.

    The prompt is ready when the cursor's row shows the bare prompt and the bottom toolbar is
    drawn, as tests/repl/test_pty.py decides; the terminal's cursor-position queries are
    answered by pyte, as a real terminal would.
    """
    master, slave = _open_pty()
    screen = _AnsweringScreen(master)
    stream = pyte.ByteStream(screen)
    child = Child(argv, env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    ready_at: float | None = None
    try:
        deadline = child.start + CHILD_TIMEOUT
        while ready_at is None:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("atdak chat never showed its prompt")
            stream.feed(os.read(master, 1 << 16))
            if _at_prompt(screen):
                ready_at = time.monotonic()
        os.write(master, b"\x04")
        _drain(master, deadline)
    finally:
        os.close(master)
    sample = child.reap()
    sample.wall = ready_at - child.start
    return sample


class _AnsweringScreen(pyte.Screen):
    """A pyte screen that answers the terminal's queries (cursor position) on the pty."""

    def __init__(self, master: int) -> None:
        super().__init__(80, 24)
        self._master = master

    def write_process_input(self, data: str) -> None:
        os.write(self._master, data.encode())


def _at_prompt(screen: pyte.Screen) -> bool:
    display = screen.display
    row = display[screen.cursor.y]
    return row.rstrip() == ">" and " · " in display[-1]


# ---------------------------------------------------------------- https


@dataclass
class Https:
    """The https server's certificate and key, and the CA bundle that trusts it."""

    cert: Path
    key: Path
    bundle: Path


def make_https(tmp: Path) -> Https | str:
    """A self-signed certificate for 127.0.0.1 and a CA bundle = certifi's + it, or why not."""
    import certifi

    openssl = shutil.which("openssl")
    if openssl is None:
        return "https not measured: no openssl on PATH"
    tls = Https(tmp / "cert.pem", tmp / "key.pem", tmp / "ca-bundle.pem")
    argv = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(tls.key), "-out", str(tls.cert), "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]  # fmt: skip
    made = subprocess.run(argv, capture_output=True, text=True, check=False)
    if made.returncode != 0:
        last = (made.stderr.strip().splitlines() or ["?"])[-1]
        return f"https not measured: openssl req failed ({last})"
    bundle = Path(certifi.where()).read_text()
    tls.bundle.write_text(bundle.rstrip("\n") + "\n" + tls.cert.read_text())
    return tls


def https_line(https: Https | str, server: BenchServer | None) -> str:
    if isinstance(https, str) or server is None:
        return str(https)
    certs = https.bundle.read_text().count("BEGIN CERTIFICATE")
    return (f"https = {server.base_url}, self-signed; SSL_CERT_FILE / --cacert = certifi's "
            f"bundle + it ({certs} certificates)")  # fmt: skip


# ---------------------------------------------------------------- the cases


def build_cases(
    base_url: str, atdak: list[str], https: tuple[str, dict[str, str], Path] | None = None
) -> list[Case]:
    """The cases; with ``https`` = (URL, environment, CA bundle), the https ones too."""
    py = sys.executable
    client = str(HERE / "min_client.py")
    first = [py, client, base_url, str(SHORT), "bench-latency"]

    def complete(tokens: int, *extra: str) -> list[str]:
        return [*atdak, "complete", "-m", "bench", "--max-tokens", str(tokens), *extra, "hi"]

    def curl_argv(curl: str, url: str, tokens: int, *extra: str) -> list[str]:
        body = json.dumps({"model": "bench", "stream": True, "max_tokens": tokens})
        argv = [curl, "-sN", *extra, url + "/chat/completions"]
        return [*argv, "-H", "Content-Type: application/json", "-d", body]

    cases = [
        Case("python -c pass", [py, "-c", "pass"]),
        Case("python -c 'import prompt_toolkit'", [py, "-c", "import prompt_toolkit"]),
        Case("min httpx client, 10 tokens", [py, client, base_url, str(SHORT)]),
        Case("min httpx client, 20k tokens", [py, client, base_url, str(LONG)], warm_up=False),
        Case(CLIENT_FIRST, first, mode="pty", mark=MARK),
    ]
    curl = shutil.which("curl")
    if curl:
        for tokens, label in ((SHORT, "10 tokens"), (LONG, "20k tokens")):
            cases.append(Case(f"curl, {label}", curl_argv(curl, base_url, tokens)))
    cases += [
        Case("atdak --version", [*atdak, "--version"]),
        Case("atdak complete, 10 tokens, pipe", complete(SHORT)),
        Case("atdak complete, 10 tokens, pipe, --no-history", complete(SHORT, "--no-history")),
        Case("atdak complete, 20k tokens, pipe", complete(LONG), warm_up=False),
        Case("atdak complete, 20k tokens, pty (markdown)", complete(LONG), mode="pty",
             warm_up=False),
        Case("atdak complete, one 4 MB delta, pipe", [*atdak, "complete", "-m", "bench-big-delta",
                                                       "hi"], warm_up=False),
        Case(ATDAK_FIRST, [*atdak, "complete", "-m", "bench-latency", "hi"], mode="pty",
             mark=MARK),
        Case("atdak chat, to a usable prompt (pty)", [*atdak, "chat", "-m", "bench"], mode="chat"),
    ]  # fmt: skip
    if https is None:
        return cases
    url, env, bundle = https
    # Each https case runs right after its http twin (key), in the same rounds.
    twins = {
        "min httpx client, 10 tokens": Case(HTTPS_CLIENT, [py, client, url, str(SHORT)], env=env),
        "atdak complete, 10 tokens, pipe": Case(HTTPS_COMPLETE, complete(SHORT), env=env),
    }
    if curl:
        argv = curl_argv(curl, url, SHORT, "--cacert", str(bundle))
        twins["curl, 10 tokens"] = Case("curl, 10 tokens, https", argv, env=env)
    for twin, case in twins.items():
        cases.insert(next(i for i, c in enumerate(cases) if c.name == twin) + 1, case)
    return cases


def llm_cases(llm: str, env: dict[str, str]) -> list[Case]:
    """The llm peer's cases, as the equivalent atdak ones (``env`` = llm's own)."""
    ask = [llm, "-m", "bench", "hi"]
    return [
        Case(LLM_VERSION, [llm, "--version"], env=env),
        Case(LLM_SHORT, ask, env=env),
        Case(LLM_LONG, [*ask, "-o", "max_tokens", str(LONG)], warm_up=False, env=env),
        Case(LLM_FIRST, [llm, "-m", "bench-latency", "hi"], mode="pty", mark=MARK, env=env),
    ]


def llm_peer(
    args: argparse.Namespace, base_url: str, env: dict[str, str], home: Path
) -> tuple[list[Case], str]:
    """The llm cases and a line saying which llm they run, or no cases and why."""
    if args.no_peers:
        return [], "llm not measured: --no-peers"
    names = (LLM_VERSION, LLM_SHORT, LLM_LONG, LLM_FIRST)
    if args.only and not any(args.only in name for name in names):
        return [], "llm not measured: --only"
    found = peers.find_llm(args.llm)
    if found.path is None:
        return [], f"llm not measured: {found.how}"
    llm_env = peers.llm_env(env, home, base_url)
    peers.check_llm(found.path, llm_env, LLM_ANSWER)
    version = peers.llm_version(found.path, llm_env)
    return llm_cases(found.path, llm_env), f"llm = {found.path} ({version}; {found.how})"


def atdak_command() -> list[str]:
    script = Path(sys.executable).parent / "atdak"
    return [str(script)] if script.exists() else [sys.executable, "-m", "atdak_cli"]


def child_env(base_url: str, home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("ATDAK_") or k.lower().endswith("_proxy") or k in IGNORED_ENV)
    }
    env.update(
        ATDAK_BASE_URL=base_url,
        ATDAK_CONFIG_DIR=str(home / "config"),
        ATDAK_DATA_DIR=str(home / "data"),
        NO_PROXY="*",
        TERM="xterm-256color",
        COLUMNS="80",
        LINES="24",
    )
    return env


def run_case(case: Case, env: dict[str, str]) -> tuple[Sample, float | None]:
    """One run: its sample, and with ``case.mark`` the seconds from spawn to the mark."""
    env = case.env or env
    if case.mode == "pty":
        return run_pty(case.argv, env, case.mark)
    if case.mode == "chat":
        return run_chat(case.argv, env), None
    return run_pipe(case.argv, env)[0], None


def first_byte_delay(server: BenchServer, atdak: list[str], env: dict[str, str]) -> float:
    """Seconds from the server sending the first content delta to it leaving atdak's stdout."""
    server.first_content_sent = None
    argv = [*atdak, "complete", "-m", "bench-latency", "hi"]
    _, first = run_pipe(argv, env)
    sent = server.first_content_sent
    if first is None or sent is None:
        raise RuntimeError("the latency run printed nothing")
    return first - sent


# ---------------------------------------------------------------- report


@dataclass
class Goal:
    text: str
    value: float | None  # None: not measured (then a note)
    limit: float | None  # None: a note with no limit
    unit: str = "x"
    note_only: bool = False
    detail: str = ""  # printed under the row

    @property
    def met(self) -> bool:
        return self.value is not None and self.limit is not None and self.value <= self.limit


def llm_goals(by_name: dict[str, Case], why: str) -> list[Goal]:
    """atdak against llm measured in this run, or notes saying why not and the published figure."""

    def wall(name: str) -> float:
        return by_name[name].median("wall")

    short = wall("atdak complete, 10 tokens, pipe")
    if LLM_SHORT not in by_name:
        return [
            Goal("complete 10 tokens / llm 10 tokens", None, 0.3, note_only=True, detail=why),
            Goal(f"complete 10 tokens / llm published {LLM_PUBLISHED_MS:.0f} ms (note)",
                 short * 1000 / LLM_PUBLISHED_MS, 0.3, note_only=True),
        ]  # fmt: skip
    long_ = wall("atdak complete, 20k tokens, pipe") / wall(LLM_LONG)
    version = wall("atdak --version") / wall(LLM_VERSION)
    return [
        Goal("complete 10 tokens / llm 10 tokens", short / wall(LLM_SHORT), 0.3),
        Goal("complete 20k tokens / llm 20k tokens", long_, None, note_only=True),
        Goal("atdak --version / llm --version", version, None, note_only=True),
    ]


def https_goal(by_name: dict[str, Case], why: str) -> Goal:
    """atdak against the httpx client, both over https: a note (the issue sets no goal)."""
    text = "complete 10 tokens https / min httpx client https"
    if HTTPS_COMPLETE not in by_name or HTTPS_CLIENT not in by_name:
        return Goal(text, None, None, note_only=True, detail=why)
    ratio = by_name[HTTPS_COMPLETE].median("wall") / by_name[HTTPS_CLIENT].median("wall")
    return Goal(text, ratio, None, note_only=True)


def first_token_goals(by_name: dict[str, Case], llm_why: str) -> list[Goal]:
    """atdak's first token on screen against llm's and the httpx client's: notes (no goal)."""
    atdak = by_name[ATDAK_FIRST].median_mark()
    floor = (atdak - by_name[CLIENT_FIRST].median_mark()) * 1000
    text = "atdak first token on screen / llm"
    if LLM_FIRST in by_name:
        peer = Goal(text, atdak / by_name[LLM_FIRST].median_mark(), None, note_only=True)
    else:
        peer = Goal(text, None, None, note_only=True, detail=llm_why)
    text = "atdak first token on screen - min httpx client (ms)"
    return [peer, Goal(text, floor, None, " ms", note_only=True)]


def paired_difference(a: Case, b: Case) -> float:
    """The median over rounds of a's wall time minus b's: the two ran one after the other in
    each round, so what drifts between rounds (other load, CPU frequency) cancels out, as it
    does not in a difference of two medians."""
    return float(
        statistics.median(x.wall - y.wall for x, y in zip(a.samples, b.samples, strict=True))
    )


def goals(
    by_name: dict[str, Case], delays: list[float], llm_why: str, https_why: str
) -> list[Goal]:
    def wall(name: str) -> float:
        return by_name[name].median("wall")

    version = by_name["atdak --version"]
    short = "atdak complete, 10 tokens, pipe"
    long_ = "atdak complete, 20k tokens, pipe"
    big_extra = by_name["atdak complete, one 4 MB delta, pipe"].median("rss") - by_name[
        short
    ].median("rss")
    return [
        Goal("atdak --version / python -c pass", version.median("wall") / wall("python -c pass"),
             1.5),
        Goal("complete 10 tokens / min httpx client", wall(short) / wall(
            "min httpx client, 10 tokens"), 1.5),
        https_goal(by_name, https_why),
        *llm_goals(by_name, llm_why),
        Goal("complete 20k tokens / min httpx client", wall(long_) / wall(
            "min httpx client, 20k tokens"), 1.5),
        Goal("complete 20k tokens: pty (markdown) / pipe", wall(
            "atdak complete, 20k tokens, pty (markdown)") / wall(long_), 3.0),
        Goal("complete 20k tokens: peak RSS", by_name[long_].median("rss") / MB, 40.0, " MB"),
        Goal("one 4 MB delta: extra peak RSS / delta size", big_extra / BIG_DELTA, 10.0),
        Goal("first content byte -> stdout (pipe), median", statistics.median(delays) * 1000,
             1.0, " ms"),
        # The history issue's aim, not one of this goals: reported, not failed on.
        Goal("history logging per exchange (history issue's aim)", 1000 * paired_difference(
            by_name[short], by_name["atdak complete, 10 tokens, pipe, --no-history"]), 5.0,
             " ms", note_only=True),
        Goal("chat to a usable prompt / python -c 'import prompt_toolkit'", wall(
            "atdak chat, to a usable prompt (pty)") / wall("python -c 'import prompt_toolkit'"),
             2.0),
        *first_token_goals(by_name, llm_why),
    ]  # fmt: skip


def print_table(cases: list[Case], delays: list[float]) -> None:
    print(f"{'case':<46} {'wall ms':>8} {'cpu ms':>8} {'rss MB':>7}  runs")
    for case in cases:
        print(
            f"{case.name:<46} {case.median('wall') * 1000:8.1f} {case.median('cpu') * 1000:8.1f}"
            f" {case.median('rss') / MB:7.1f}  {len(case.samples)}"
        )
        if case.marks:
            name = f"  {LATENCY_MARK} on screen (from spawn)"
            print(f"{name:<46} {case.median_mark() * 1000:8.1f} {'-':>8} {'-':>7}"
                  f"  {len(case.marks)}")  # fmt: skip
    shown = ", ".join(f"{d * 1000:.2f}" for d in sorted(delays))
    print(f"first content byte -> stdout, ms (sorted): {shown}")


def print_goals(results: list[Goal]) -> bool:
    print(f"\n{'goal':<62} {'value':>9} {'limit':>8}  verdict")
    ok = True
    for goal in results:
        if goal.note_only:  # an aim reported here but set elsewhere: said, not failed
            over = goal.limit is not None and goal.value is not None and not goal.met
            verdict = "note: over its aim" if over else "note"
        else:
            verdict = "ok" if goal.met else "MISSED"
        if not goal.note_only and not goal.met:
            ok = False
        unit = goal.unit.strip() or "x"
        print(f"{goal.text:<62} {_number(goal.value, 8, unit)} {_number(goal.limit, 7, unit)}"
              f"  {verdict}")  # fmt: skip
        if goal.detail:
            print(f"    {goal.detail}")
    return ok


def _number(value: float | None, width: int, unit: str) -> str:
    return f"{'-':>{width}} " if value is None else f"{value:{width}.2f}{unit:<1}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds instead of 7 (~1 min)")
    parser.add_argument("--runs", type=int, help="measured rounds (after one warm-up round)")
    parser.add_argument("--only", help="run only the cases whose name contains this text")
    parser.add_argument(
        "--atdak", help="the command that runs atdak (default: the console script beside python)"
    )
    parser.add_argument(
        "--llm", help="the llm CLI to measure (default: llm on PATH, else a cached virtualenv)"
    )
    parser.add_argument("--no-peers", action="store_true", help="do not measure llm")
    args = parser.parse_args()
    rounds = args.runs or (2 if args.quick else 7)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        server = stack.enter_context(BenchServer())
        env = child_env(server.base_url, Path(tmp))
        atdak = args.atdak.split() if args.atdak else atdak_command()
        https = make_https(Path(tmp))
        https_server = None
        if isinstance(https, Https):
            https_server = stack.enter_context(BenchServer(tls=(str(https.cert), str(https.key))))
            https_env = dict(env, ATDAK_BASE_URL=https_server.base_url,
                             SSL_CERT_FILE=str(https.bundle))  # fmt: skip
            cases = build_cases(
                server.base_url, atdak, (https_server.base_url, https_env, https.bundle)
            )
        else:
            cases = build_cases(server.base_url, atdak)
        https_why = https_line(https, https_server)
        more, llm_line = llm_peer(args, server.base_url, env, Path(tmp) / "llm")
        cases += more
        if args.only:
            cases = [c for c in cases if args.only in c.name]
        delays: list[float] = []
        for round_ in range(rounds + 1):
            for case in cases:
                if round_ == 0 and not case.warm_up:
                    continue  # round 0 warms the page cache and the history db
                sample, mark = run_case(case, env)
                if round_:
                    case.samples.append(sample)
                    if mark is not None:
                        case.marks.append(mark)
            if round_:
                delays.append(first_byte_delay(server, atdak, env))
            print(f"round {round_}/{rounds} done", file=sys.stderr, flush=True)
        print(f"{rounds} rounds, interleaved; medians. Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs, atdak = {' '.join(atdak)}\n{llm_line}\n"
              f"{https_why}\n")  # fmt: skip
        print_table(cases, delays)
        if args.only:
            return 0
        results = goals({c.name: c for c in cases}, delays, llm_line, https_why)
        return 0 if print_goals(results) else 1


if __name__ == "__main__":
    sys.exit(main())
