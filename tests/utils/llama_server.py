"""llama.cpp's own HTTP server (llama-server's code, from the xllamacpp wheel) on 127.0.0.1.

    python tests/llama_server.py MODEL.gguf [--alias NAME] [--port 0] [--threads N] [--n-ctx N]

Prints its base URL (``http://127.0.0.1:PORT``; port 0 picks a free one) on the first line of
stdout once the model is loaded, then serves until SIGTERM or SIGINT. The test suite's and the
benchmarks' third-party OpenAI-compatible server.
"""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

import xllamacpp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--alias", default=None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n-ctx", type=int, default=2048)
    args = parser.parse_args()

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    if args.alias:
        params.model_alias = {args.alias}
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.n_ctx = args.n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    server = xllamacpp.Server(params)

    stop = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(server.listening_address, flush=True)
    stop.wait()
    del server  # stops llama.cpp's threads before the interpreter goes


if __name__ == "__main__":
    main()
