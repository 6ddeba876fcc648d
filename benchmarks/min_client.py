"""The smallest useful streaming client: httpx, no CLI, no error handling.

``python benchmarks/min_client.py BASE_URL TOKENS [MODEL]`` prints the answer's text (MODEL:
default ``bench``). It is the floor ``atdak complete`` is held to (benchmarks/speed.py): what
any Python client must pay for the interpreter, httpx and one ``json.loads`` per event. On a
terminal each delta is flushed as it comes (else line buffering would hold it until the
answer's last newline); into a pipe, nothing is flushed before the end.
"""

from __future__ import annotations

import json
import sys

import httpx

base_url, tokens = sys.argv[1], int(sys.argv[2])
body = {
    "model": sys.argv[3] if len(sys.argv) > 3 else "bench",
    "messages": [{"role": "user", "content": "hi"}],
    "stream": True,
    "max_tokens": tokens,
}
write = sys.stdout.write
flush = sys.stdout.flush if sys.stdout.isatty() else None
url = base_url + "/chat/completions"
with httpx.Client() as client, client.stream("POST", url, json=body) as response:
    for line in response.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            for choice in json.loads(line[6:])["choices"]:
                write(choice["delta"].get("content") or "")
            if flush is not None:
                flush()
write("\n")
