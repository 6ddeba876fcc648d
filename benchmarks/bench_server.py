"""A lean OpenAI-compatible server for benchmarks: it streams a whole answer at once.

Standard library only, 127.0.0.1 only, one thread per connection, ``Connection: close``.
Unlike ``tests/utils/api_server.py`` it is not scriptable: it exists to cost nothing, so that what a
benchmark measures is the client. The answer is chosen by the request body:

- ``max_tokens`` = N (default 10): N content deltas of one word each, from a Markdown
  document (headings, paragraphs, lists, fenced code, a table), then ``finish_reason: stop``,
  a usage chunk and ``data: [DONE]``; the whole body is built once per N and sent in one write.
- ``model: bench-big-delta``: one delta of ``BIG_DELTA`` bytes (a single 4 MB string).
- ``model: bench-latency``: the head and a role chunk, a pause (the client is idle in its read
  loop), one content delta sent at a moment recorded in ``server.first_content_sent``
  (``time.monotonic()``), another pause, then the rest. A benchmark in the same process
  compares that moment with the one the byte reaches the client's stdout.

``BenchServer(tls=(cert, key))`` serves https instead (``server.base_url`` says so): the
listening socket is wrapped with an ``ssl.SSLContext(PROTOCOL_TLS_SERVER)`` holding that PEM
certificate and key; each connection's handshake is done in its own thread, and its answer
ends with a TLS close_notify (as a real server's does) before the connection is closed.

Run alone: ``python benchmarks/bench_server.py [--port 8765] [--tls CERT KEY]`` and point a
client at ``http://127.0.0.1:8765/v1`` (``https://`` with ``--tls``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from types import TracebackType

CREATED = 1701234567
BIG_DELTA = 4 * 1024 * 1024
LATENCY_PAUSE = 0.25  # seconds: long enough for any client to be waiting in its read loop
LATENCY_MARK = "FIRST"
CHILD_WAIT = 30.0  # seconds: the longest a TLS connection waits for its client
_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream; charset=utf-8\r\n"
    b"Cache-Control: no-cache\r\n"
    b"Connection: close\r\n\r\n"
)
_MODELS = json.dumps(
    {"object": "list", "data": [{"id": "bench", "object": "model", "owned_by": "bench"}]}
).encode()

# The answer's text: Markdown with the block kinds a real answer has, repeated as needed.
DOCUMENT = """\
## Streaming answers quickly

A terminal client spends its time in three places: starting the interpreter, opening the \
connection, and turning each **delta** into bytes on the screen. The last one matters most \
for long answers, because it is paid once per token.

- Parse each event with `json.loads` and nothing heavier.
- Write the text as soon as it arrives, and flush it.
- Keep *per-token* work constant, whatever the length of the answer.

```python
def stream(client, prompt):
    for chunk in client.chat.completions.create(prompt=prompt, stream=True):
        print(chunk.choices[0].delta.content, end="", flush=True)
```

| step | cost | note |
|------|------|------|
| start-up | 30 ms | interpreter and imports |
| first token | 1 ms | parse and write |

1. Measure before changing anything.
2. Change one thing at a time, and measure again.

"""


def _words() -> Iterator[str]:
    """The document as deltas of about one token: each word with the space or newline after it."""
    text = DOCUMENT
    start = 0
    for i, char in enumerate(text):
        if char in " \n" and (i + 1 == len(text) or text[i + 1] not in " \n"):
            yield text[start : i + 1]
            start = i + 1


_WORDS = tuple(_words())


def event(payload: dict[str, object]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def chunk(content: str | None = None, *, role: bool = False, finish: str | None = None) -> bytes:
    delta: dict[str, str] = {}
    if role:
        delta["role"] = "assistant"
    if content is not None:
        delta["content"] = content
    return event(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": "bench",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


def _tail(tokens: int) -> bytes:
    usage = {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": tokens + 5}
    done = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": "bench",
        "choices": [],
        "usage": usage,
    }
    return chunk(finish="stop") + event(done) + b"data: [DONE]\n\n"


@functools.lru_cache(maxsize=8)
def answer(tokens: int) -> bytes:
    """The whole response (head and body) for ``tokens`` one-word deltas."""
    words = itertools.islice(itertools.cycle(_WORDS), tokens)
    body = b"".join(chunk(word) for word in words)
    return _HEAD + chunk(role=True) + body + _tail(tokens)


@functools.lru_cache(maxsize=1)
def big_answer() -> bytes:
    """One content delta of ``BIG_DELTA`` bytes (words, so a renderer has something to wrap)."""
    text = ("lorem ipsum dolor sit amet " * (BIG_DELTA // 27 + 1))[:BIG_DELTA]
    return _HEAD + chunk(role=True) + chunk(text) + _tail(1)


class BenchServer:
    """``with BenchServer() as server:`` serves on ``server.base_url`` until the block ends.

    ``tls=(cert, key)`` (PEM files) serves https.
    """

    def __init__(self, port: int = 0, tls: tuple[str, str] | None = None) -> None:
        self._sock = socket.create_server(("127.0.0.1", port), backlog=64)
        self.tls = tls is not None
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            # The handshake is done in the connection's thread, not in accept().
            self._sock = context.wrap_socket(
                self._sock, server_side=True, do_handshake_on_connect=False
            )
        self.port = self._sock.getsockname()[1]
        scheme = "https" if self.tls else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}/v1"
        self.first_content_sent: float | None = None
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> BenchServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        # shutdown() wakes the accept() blocked in the thread; close() alone would not.
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=2)

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if isinstance(conn, ssl.SSLSocket):
                    conn.settimeout(CHILD_WAIT)
                    conn.do_handshake()
                target, body = _read_request(conn)
                self._reply(conn, target, body)
                if isinstance(conn, ssl.SSLSocket):
                    # close_notify ends the body (clients such as curl treat a bare TCP EOF
                    # as an error); unwrap() then waits for the client's close, in this thread.
                    conn.unwrap()
                else:
                    conn.shutdown(socket.SHUT_WR)
            except (OSError, ValueError):
                return

    def _reply(self, conn: socket.socket, target: str, body: bytes) -> None:
        if target.endswith("/models"):
            head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            head += f"Content-Length: {len(_MODELS)}\r\nConnection: close\r\n\r\n"
            conn.sendall(head.encode() + _MODELS)
            return
        request = json.loads(body or b"{}")
        model = request.get("model")
        if model == "bench-big-delta":
            conn.sendall(big_answer())
        elif model == "bench-latency":
            self._latency_reply(conn)
        else:
            conn.sendall(answer(int(request.get("max_tokens") or 10)))

    def _latency_reply(self, conn: socket.socket) -> None:
        conn.sendall(_HEAD + chunk(role=True))
        time.sleep(LATENCY_PAUSE)
        data = chunk(LATENCY_MARK)
        self.first_content_sent = time.monotonic()
        conn.sendall(data)
        time.sleep(LATENCY_PAUSE)
        conn.sendall(chunk(" done") + _tail(2))


def _read_request(conn: socket.socket) -> tuple[str, bytes]:
    """The request target and body (Content-Length only: every benchmarked client sends it)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            raise ValueError("EOF in request head")
        buf += data
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    target = lines[0].split(" ")[1]
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    while len(body) < length:
        data = conn.recv(65536)
        if not data:
            raise ValueError("EOF in request body")
        body += data
    return target, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve https")
    args = parser.parse_args()
    with BenchServer(args.port, tls=(args.tls[0], args.tls[1]) if args.tls else None) as server:
        print(f"serving on {server.base_url} (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
