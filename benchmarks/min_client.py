"""The smallest useful streaming client: httpx, no CLI, no error handling.

``python benchmarks/min_client.py BASE_URL TOKENS`` prints the answer's text. It is the floor
``atdak complete`` is held to (benchmarks/speed.py): what any Python client must pay for the
interpreter, httpx and one ``json.loads`` per event.
"""

from __future__ import annotations

import json
import sys

import httpx

base_url, tokens = sys.argv[1], int(sys.argv[2])
body = {
    "model": "bench",
    "messages": [{"role": "user", "content": "hi"}],
    "stream": True,
    "max_tokens": tokens,
}
write = sys.stdout.write
url = base_url + "/chat/completions"
with httpx.Client() as client, client.stream("POST", url, json=body) as response:
    for line in response.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            for choice in json.loads(line[6:])["choices"]:
                write(choice["delta"].get("content") or "")
write("\n")
