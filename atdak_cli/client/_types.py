"""Response types of a streamed answer: dataclasses with a lenient ``from_dict``.

The non-streamed answer's types are in ``_completion``, those of ``GET /models`` in ``_models``:
each dataclass costs ~0.6 ms to create, and a streamed ``atdak complete`` needs only these.

Unknown fields are kept in ``extra`` and missing optional fields tolerated, so a server that
adds or omits fields never breaks a client. No validation framework: parsing a chunk must cost
a small constant (pydantic alone adds ~70 ms to start-up). The three types made once per
streamed chunk are not frozen: a frozen dataclass's ``__init__`` sets each field through
``object.__setattr__``, which cost 2 µs a chunk (40 ms on a 20 000-token answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ChatCompletionChunk", "ChoiceDelta", "ChunkChoice", "CompletionUsage"]

JSON = Mapping[str, Any]


def _rest(data: JSON, known: frozenset[str]) -> dict[str, Any]:
    if data.keys() <= known:  # the common case, decided in C: once per object per chunk
        return {}
    return {k: v for k, v in data.items() if k not in known}


def _str(value: object, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _dict(value: object) -> JSON:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class CompletionUsage:
    """Token counts of one request."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    _KNOWN = frozenset({"prompt_tokens", "completion_tokens", "total_tokens"})

    @classmethod
    def from_dict(cls, data: JSON) -> CompletionUsage:
        prompt, completion = _int(data.get("prompt_tokens")), _int(data.get("completion_tokens"))
        total = _int(data.get("total_tokens")) or prompt + completion
        return cls(prompt, completion, total, _rest(data, cls._KNOWN))

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            **self.extra,
        }


@dataclass(slots=True)
class ChoiceDelta:
    """What one chunk adds to a choice. ``content`` is ``""`` when the server sent none, so
    ``print(chunk.choices[0].delta.content, end="")`` never prints ``None``.

    ``reasoning_content`` holds the model's thinking whichever field carried it: DeepSeek and
    llama.cpp send ``reasoning_content``; vLLM, Ollama's ``/v1`` and OpenRouter ``reasoning``.
    ``tool_calls`` are the server's tool-call deltas as sent (``index``, ``id``, ``function``
    with ``name`` and a piece of ``arguments``); :attr:`Stream.tool_calls` joins them.
    """

    content: str = ""
    role: str | None = None
    reasoning_content: str = ""
    tool_calls: tuple[dict[str, Any], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    _KNOWN = frozenset({"content", "role", "reasoning_content", "reasoning", "tool_calls"})

    @property
    def reasoning(self) -> str:
        """The same as ``reasoning_content`` (the name vLLM and OpenRouter use)."""
        return self.reasoning_content

    @classmethod
    def from_dict(cls, data: JSON) -> ChoiceDelta:
        # Positional arguments and inline checks: this runs once per streamed chunk.
        content, role = data.get("content"), data.get("role")
        reasoning = data.get("reasoning_content") or data.get("reasoning")
        calls = data.get("tool_calls")
        return cls(
            content if type(content) is str else "",
            role if type(role) is str else None,
            reasoning if type(reasoning) is str else "",
            tuple(c for c in calls if type(c) is dict) if type(calls) is list else (),
            _rest(data, cls._KNOWN),
        )


@dataclass(slots=True)
class ChunkChoice:
    """One choice inside a streamed chunk."""

    index: int = 0
    delta: ChoiceDelta = field(default_factory=ChoiceDelta)
    finish_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    _KNOWN = frozenset({"index", "delta", "finish_reason"})

    @classmethod
    def from_dict(cls, data: JSON) -> ChunkChoice:
        index, delta, reason = data.get("index"), data.get("delta"), data.get("finish_reason")
        return cls(
            index if type(index) is int else 0,
            ChoiceDelta.from_dict(delta) if type(delta) is dict else ChoiceDelta(),
            reason if type(reason) is str else None,
            _rest(data, cls._KNOWN),
        )


@dataclass(slots=True)
class ChatCompletionChunk:
    """One streamed chunk (``object: chat.completion.chunk``).

    ``choices`` always holds at least one choice: a chunk the server sent with none (the
    usage-only chunk at the end of an OpenAI stream) gets an empty one, so
    ``chunk.choices[0].delta.content`` never raises ``IndexError``.
    """

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = field(default_factory=lambda: [ChunkChoice()])
    usage: CompletionUsage | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: JSON) -> ChatCompletionChunk:
        raw_choices = data.get("choices")
        choices = (
            [ChunkChoice.from_dict(c) for c in raw_choices if type(c) is dict]
            if type(raw_choices) is list
            else None
        )
        usage = data.get("usage")
        chunk_id, kind = data.get("id"), data.get("object")
        created, model = data.get("created"), data.get("model")
        return cls(
            chunk_id if type(chunk_id) is str else "",
            kind if type(kind) is str else "chat.completion.chunk",
            created if type(created) is int else 0,
            model if type(model) is str else "",
            choices or [ChunkChoice()],
            CompletionUsage.from_dict(usage) if type(usage) is dict else None,
            data if type(data) is dict else dict(data),
        )
