"""The API's response objects: small classes with a lenient ``from_dict``, named as
openai-python names them.

Every type keeps the server's object (``_raw``): a field the server sent that this library does
not know is still an attribute (``chunk.prompt_filter_results``) and is kept by the dumps
(``model_dump()``, ``model_dump_json()``, ``to_dict()``, ``to_json()``, as pydantic and
openai-python spell them). A missing optional field is ``None``; a field of the wrong type is
read as missing. No validation framework: pydantic alone adds ~70 ms to start-up.

Plain classes with ``__slots__`` and written-out ``__init__``s rather than dataclasses: a
dataclass costs ~0.6 ms to create (it ``exec``s generated code), these ~6 µs, so every type can
live in this one module at no start-up cost. The ``from_dict`` of the three types made once per
streamed chunk pass their fields positionally and check types inline: they run 20 000 times for
a long answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

__all__ = [
    "BaseModel",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "ChatCompletionTokenLogprob",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "ChunkChoice",
    "CompletionTokensDetails",
    "CompletionUsage",
    "Function",
    "Model",
    "ModelList",
    "PromptTokensDetails",
    "TopLogprob",
]

JSON = Mapping[str, Any]


def _str(value: object, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _dict(value: object) -> JSON:
    return value if isinstance(value, dict) else {}


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


class BaseModel:
    """What every response type can do: dumps, equality, a readable ``repr``, and the server's
    unknown fields as attributes.

    ``model_dump()`` has every known field (``None`` included) and the unknown ones;
    ``to_dict()`` only what the server sent (pydantic's ``exclude_unset``), which for an object
    read from the server is its JSON object again.
    """

    __slots__ = ("_raw",)
    # The field names, in order: the subclass's slots that do not start with "_".
    _FIELDS: ClassVar[tuple[str, ...]] = ()
    # Other names the server may send a field under (read into the field, never "unknown").
    _ALIASES: ClassVar[Mapping[str, str]] = {}
    _KNOWN: ClassVar[frozenset[str]] = frozenset()
    # Fields dumped even when the server did not send them (computed ones).
    _ALWAYS: ClassVar[frozenset[str]] = frozenset()

    # The server's object; None for an object made in code (then every field counts as set).
    _raw: JSON | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        slots = cls.__dict__.get("__slots__", ())
        cls._FIELDS = tuple(name for name in slots if not name.startswith("_"))
        cls._KNOWN = frozenset(cls._FIELDS) | frozenset(cls._ALIASES)

    @property
    def extra(self) -> dict[str, Any]:
        """The fields the server sent that this type does not know."""
        raw = self._raw
        if not raw or raw.keys() <= self._KNOWN:
            return {}
        return {k: v for k, v in raw.items() if k not in self._KNOWN}

    if not TYPE_CHECKING:  # to mypy an unknown attribute stays an error (a typo, most often)

        def __getattr__(self, name: str) -> Any:
            if name[:1] != "_":
                raw = self._raw
                if raw is not None and name in raw and name not in self._KNOWN:
                    return raw[name]
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def model_dump(
        self,
        *,
        mode: Literal["python", "json"] = "python",
        exclude_unset: bool = False,
        exclude_none: bool = False,
    ) -> dict[str, Any]:
        """A dict of the fields, nested objects as dicts (``mode`` is accepted for pydantic's
        sake: the values are JSON values either way)."""
        out: dict[str, Any] = {}
        raw = self._raw
        for name in self._FIELDS:
            if exclude_unset and raw is not None and not self._was_sent(name, raw):
                continue
            value = _dump(getattr(self, name), exclude_unset, exclude_none)
            if value is None and exclude_none:
                continue
            out[name] = value
        for name, value in self.extra.items():
            if not (value is None and exclude_none):
                out[name] = value
        return out

    def _was_sent(self, name: str, raw: JSON) -> bool:
        if name in raw or name in self._ALWAYS:
            return True
        return any(target == name and alias in raw for alias, target in self._ALIASES.items())

    def model_dump_json(
        self, *, indent: int | None = None, exclude_unset: bool = False, exclude_none: bool = False
    ) -> str:
        """``model_dump()`` as JSON text (compact unless ``indent`` is given)."""
        data = self.model_dump(exclude_unset=exclude_unset, exclude_none=exclude_none)
        return json.dumps(data, ensure_ascii=False, indent=indent)

    def to_dict(
        self,
        *,
        mode: Literal["python", "json"] = "python",
        exclude_unset: bool = True,
        exclude_none: bool = False,
    ) -> dict[str, Any]:
        """The API's JSON object: what the server sent (or, for an object made in code, every
        field)."""
        return self.model_dump(mode=mode, exclude_unset=exclude_unset, exclude_none=exclude_none)

    def to_json(
        self, *, indent: int | None = 2, exclude_unset: bool = True, exclude_none: bool = False
    ) -> str:
        """``to_dict()`` as JSON text, indented by 2 unless told otherwise."""
        return self.model_dump_json(
            indent=indent, exclude_unset=exclude_unset, exclude_none=exclude_none
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, like openai-python's objects

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._FIELDS)
        return f"{type(self).__name__}({fields})"


def _dump(value: object, exclude_unset: bool, exclude_none: bool) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=exclude_unset, exclude_none=exclude_none)
    if isinstance(value, (list, tuple)):
        return [_dump(v, exclude_unset, exclude_none) for v in value]
    return value


# ---------------------------------------------------------------- usage


class PromptTokensDetails(BaseModel):
    """``usage.prompt_tokens_details``: cached and audio tokens of the prompt."""

    __slots__ = ("cached_tokens", "audio_tokens")

    def __init__(
        self, *, cached_tokens: int | None = None, audio_tokens: int | None = None
    ) -> None:
        self.cached_tokens = cached_tokens
        self.audio_tokens = audio_tokens
        self._raw = None

    @classmethod
    def from_dict(cls, data: JSON) -> PromptTokensDetails:
        new = cls(
            cached_tokens=_opt_int(data.get("cached_tokens")),
            audio_tokens=_opt_int(data.get("audio_tokens")),
        )
        new._raw = data
        return new


class CompletionTokensDetails(BaseModel):
    """``usage.completion_tokens_details``: reasoning, audio and prediction tokens."""

    __slots__ = (
        "reasoning_tokens",
        "audio_tokens",
        "accepted_prediction_tokens",
        "rejected_prediction_tokens",
    )

    def __init__(
        self,
        *,
        reasoning_tokens: int | None = None,
        audio_tokens: int | None = None,
        accepted_prediction_tokens: int | None = None,
        rejected_prediction_tokens: int | None = None,
    ) -> None:
        self.reasoning_tokens = reasoning_tokens
        self.audio_tokens = audio_tokens
        self.accepted_prediction_tokens = accepted_prediction_tokens
        self.rejected_prediction_tokens = rejected_prediction_tokens
        self._raw = None

    @classmethod
    def from_dict(cls, data: JSON) -> CompletionTokensDetails:
        new = cls(
            reasoning_tokens=_opt_int(data.get("reasoning_tokens")),
            audio_tokens=_opt_int(data.get("audio_tokens")),
            accepted_prediction_tokens=_opt_int(data.get("accepted_prediction_tokens")),
            rejected_prediction_tokens=_opt_int(data.get("rejected_prediction_tokens")),
        )
        new._raw = data
        return new


class CompletionUsage(BaseModel):
    """Token counts of one request (``total_tokens`` is computed when the server omits it)."""

    __slots__ = (
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "prompt_tokens_details",
        "completion_tokens_details",
    )
    _ALWAYS = frozenset({"prompt_tokens", "completion_tokens", "total_tokens"})

    def __init__(
        self,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        total_tokens: int = 0,
        *,
        prompt_tokens_details: PromptTokensDetails | None = None,
        completion_tokens_details: CompletionTokensDetails | None = None,
    ) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.total_tokens = total_tokens
        self.prompt_tokens_details = prompt_tokens_details
        self.completion_tokens_details = completion_tokens_details
        self._raw = None

    @classmethod
    def from_dict(cls, data: JSON) -> CompletionUsage:
        prompt, completion = _int(data.get("prompt_tokens")), _int(data.get("completion_tokens"))
        prompt_details, completion_details = (
            data.get("prompt_tokens_details"),
            data.get("completion_tokens_details"),
        )
        new = cls(
            prompt,
            completion,
            _int(data.get("total_tokens")) or prompt + completion,
            prompt_tokens_details=PromptTokensDetails.from_dict(prompt_details)
            if isinstance(prompt_details, dict)
            else None,
            completion_tokens_details=CompletionTokensDetails.from_dict(completion_details)
            if isinstance(completion_details, dict)
            else None,
        )
        new._raw = data
        return new


# ---------------------------------------------------------------- log probabilities


class TopLogprob(BaseModel):
    """One of the most likely tokens at a position."""

    __slots__ = ("token", "logprob", "bytes")

    def __init__(
        self, *, token: str = "", logprob: float = 0.0, bytes: list[int] | None = None
    ) -> None:
        self.token = token
        self.logprob = logprob
        self.bytes = bytes
        self._raw = None

    @classmethod
    def from_dict(cls, data: JSON) -> TopLogprob:
        raw_bytes = data.get("bytes")
        new = cls(
            token=_str(data.get("token")),
            logprob=_opt_float(data.get("logprob")) or 0.0,
            bytes=[b for b in raw_bytes if isinstance(b, int)]
            if isinstance(raw_bytes, list)
            else None,
        )
        new._raw = data
        return new


class ChatCompletionTokenLogprob(BaseModel):
    """The log probability of one token of the answer, with the likeliest alternatives."""

    __slots__ = ("token", "logprob", "bytes", "top_logprobs")

    def __init__(
        self,
        *,
        token: str = "",
        logprob: float = 0.0,
        bytes: list[int] | None = None,
        top_logprobs: list[TopLogprob] | None = None,
    ) -> None:
        self.token = token
        self.logprob = logprob
        self.bytes = bytes
        self.top_logprobs = top_logprobs if top_logprobs is not None else []
        self._raw = None

    @classmethod
    def from_dict(cls, data: JSON) -> ChatCompletionTokenLogprob:
        top = TopLogprob.from_dict(data)
        new = cls(
            token=top.token,
            logprob=top.logprob,
            bytes=top.bytes,
            top_logprobs=[TopLogprob.from_dict(t) for t in _dicts(data.get("top_logprobs"))],
        )
        new._raw = data
        return new


class ChoiceLogprobs(BaseModel):
    """``choice.logprobs`` (asked for with ``logprobs=True``)."""

    __slots__ = ("content", "refusal")

    def __init__(
        self,
        *,
        content: list[ChatCompletionTokenLogprob] | None = None,
        refusal: list[ChatCompletionTokenLogprob] | None = None,
    ) -> None:
        self.content = content
        self.refusal = refusal
        self._raw = None

    @classmethod
    def from_dict(cls, data: JSON) -> ChoiceLogprobs:
        content, refusal = data.get("content"), data.get("refusal")
        new = cls(
            content=[ChatCompletionTokenLogprob.from_dict(t) for t in _dicts(content)]
            if isinstance(content, list)
            else None,
            refusal=[ChatCompletionTokenLogprob.from_dict(t) for t in _dicts(refusal)]
            if isinstance(refusal, list)
            else None,
        )
        new._raw = data
        return new


def _logprobs(value: object) -> ChoiceLogprobs | None:
    return ChoiceLogprobs.from_dict(value) if isinstance(value, dict) else None


# ---------------------------------------------------------------- tool calls


def _arguments_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):  # Ollama sends the arguments as an object
        return json.dumps(value, ensure_ascii=False)
    return None


class Function(BaseModel):
    """The function a complete tool call names, and its arguments as JSON text."""

    __slots__ = ("name", "arguments")

    def __init__(self, *, name: str = "", arguments: str = "") -> None:
        self.name = name
        self.arguments = arguments
        self._raw = None

    def parse_arguments(self) -> Any:
        """The arguments decoded (``{}`` when empty); ``ValueError`` if they are not JSON."""
        return json.loads(self.arguments) if self.arguments.strip() else {}

    @classmethod
    def from_dict(cls, data: JSON) -> Function:
        new = cls(
            name=_str(data.get("name")), arguments=_arguments_text(data.get("arguments")) or ""
        )
        new._raw = data
        return new


class ChatCompletionMessageToolCall(BaseModel):
    """A complete tool call: answer it with ``{"role": "tool", "tool_call_id": call.id,
    "content": ...}``."""

    __slots__ = ("id", "type", "function")

    def __init__(
        self, *, id: str = "", function: Function | None = None, type: str = "function"
    ) -> None:
        self.id = id
        self.type = type
        self.function = function if function is not None else Function()
        self._raw = None

    @classmethod
    def from_dict(cls, data: JSON) -> ChatCompletionMessageToolCall:
        new = cls(
            id=_str(data.get("id")),
            type=_str(data.get("type"), "function"),
            function=Function.from_dict(_dict(data.get("function"))),
        )
        new._raw = data
        return new


class ChoiceDeltaToolCallFunction(BaseModel):
    """A piece of a streamed tool call's function: the name (once), a piece of the arguments."""

    __slots__ = ("name", "arguments")

    def __init__(self, *, name: str | None = None, arguments: str | None = None) -> None:
        self.name = name
        self.arguments = arguments
        self._raw = None

    @classmethod
    def from_dict(cls, data: JSON) -> ChoiceDeltaToolCallFunction:
        new = cls(name=_opt_str(data.get("name")), arguments=_arguments_text(data.get("arguments")))
        new._raw = data
        return new


class ChoiceDeltaToolCall(BaseModel):
    """A fragment of a streamed tool call; fragments of one call share its ``index``
    (:class:`ToolCallAssembler` joins them)."""

    __slots__ = ("index", "id", "type", "function")

    def __init__(
        self,
        *,
        index: int = 0,
        id: str | None = None,
        type: str | None = None,
        function: ChoiceDeltaToolCallFunction | None = None,
    ) -> None:
        self.index = index
        self.id = id
        self.type = type
        self.function = function
        self._raw = None

    @classmethod
    def from_dict(cls, data: JSON) -> ChoiceDeltaToolCall:
        function = data.get("function")
        new = cls(
            index=_int(data.get("index")),
            id=_opt_str(data.get("id")),
            type=_opt_str(data.get("type")),
            function=ChoiceDeltaToolCallFunction.from_dict(function)
            if isinstance(function, dict)
            else None,
        )
        new._raw = data
        return new


# ---------------------------------------------------------------- a streamed answer


class ChoiceDelta(BaseModel):
    """What one chunk adds to a choice. ``content`` is ``""`` when the server sent none, so
    ``print(chunk.choices[0].delta.content, end="")`` never prints ``None``.

    ``reasoning_content`` holds the model's thinking whichever field carried it: DeepSeek and
    llama.cpp send ``reasoning_content``; vLLM, Ollama's ``/v1`` and OpenRouter ``reasoning``.
    ``tool_calls`` are fragments of tool calls (:class:`ToolCallAssembler` joins them).
    """

    __slots__ = ("content", "role", "reasoning_content", "tool_calls", "refusal")
    _ALIASES = {"reasoning": "reasoning_content"}

    def __init__(
        self,
        content: str = "",
        role: str | None = None,
        reasoning_content: str = "",
        tool_calls: list[ChoiceDeltaToolCall] | None = None,
        refusal: str | None = None,
        _raw: JSON | None = None,
    ) -> None:
        self.content = content
        self.role = role
        self.reasoning_content = reasoning_content
        self.tool_calls = tool_calls
        self.refusal = refusal
        self._raw = _raw

    @property
    def reasoning(self) -> str:
        """The same as ``reasoning_content`` (the name vLLM and OpenRouter use)."""
        return self.reasoning_content

    @classmethod
    def from_dict(cls, data: JSON) -> ChoiceDelta:
        # Positional arguments and inline checks: this runs once per streamed chunk.
        content, role = data.get("content"), data.get("role")
        reasoning = data.get("reasoning_content") or data.get("reasoning")
        calls, refusal = data.get("tool_calls"), data.get("refusal")
        return cls(
            content if type(content) is str else "",
            role if type(role) is str else None,
            reasoning if type(reasoning) is str else "",
            [ChoiceDeltaToolCall.from_dict(c) for c in calls if type(c) is dict]
            if type(calls) is list
            else None,
            refusal if type(refusal) is str else None,
            data,
        )


class ChunkChoice(BaseModel):
    """One choice inside a streamed chunk."""

    __slots__ = ("index", "delta", "finish_reason", "logprobs")

    def __init__(
        self,
        index: int = 0,
        delta: ChoiceDelta | None = None,
        finish_reason: str | None = None,
        logprobs: ChoiceLogprobs | None = None,
        _raw: JSON | None = None,
    ) -> None:
        self.index = index
        self.delta = delta if delta is not None else ChoiceDelta()
        self.finish_reason = finish_reason
        self.logprobs = logprobs
        self._raw = _raw

    @classmethod
    def from_dict(cls, data: JSON) -> ChunkChoice:
        index, delta, reason = data.get("index"), data.get("delta"), data.get("finish_reason")
        logprobs = data.get("logprobs")
        return cls(
            index if type(index) is int else 0,
            ChoiceDelta.from_dict(delta) if type(delta) is dict else ChoiceDelta(),
            reason if type(reason) is str else None,
            None if logprobs is None else _logprobs(logprobs),
            data,
        )


class ChatCompletionChunk(BaseModel):
    """One streamed chunk (``object: chat.completion.chunk``).

    ``choices`` is what the server sent: empty in the usage-only chunk that ends a stream
    asked for with ``stream_options={"include_usage": True}``. Such chunks reach the loop only
    when ``include_usage`` was asked for (:class:`Stream` leaves them out otherwise), so
    ``chunk.choices[0].delta.content`` never raises ``IndexError`` in code that did not ask.
    """

    __slots__ = (
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "system_fingerprint",
        "service_tier",
    )

    def __init__(
        self,
        id: str = "",
        object: str = "chat.completion.chunk",
        created: int = 0,
        model: str = "",
        choices: list[ChunkChoice] | None = None,
        usage: CompletionUsage | None = None,
        system_fingerprint: str | None = None,
        service_tier: str | None = None,
        _raw: JSON | None = None,
    ) -> None:
        self.id = id
        self.object = object
        self.created = created
        self.model = model
        self.choices = choices if choices is not None else []
        self.usage = usage
        self.system_fingerprint = system_fingerprint
        self.service_tier = service_tier
        self._raw = _raw

    @property
    def raw(self) -> dict[str, Any]:
        """The server's JSON object."""
        return dict(self._raw or {})

    @classmethod
    def from_dict(cls, data: JSON) -> ChatCompletionChunk:
        raw_choices, usage = data.get("choices"), data.get("usage")
        chunk_id, kind = data.get("id"), data.get("object")
        created, model = data.get("created"), data.get("model")
        fingerprint, tier = data.get("system_fingerprint"), data.get("service_tier")
        return cls(
            chunk_id if type(chunk_id) is str else "",
            kind if type(kind) is str else "chat.completion.chunk",
            created if type(created) is int else 0,
            model if type(model) is str else "",
            [ChunkChoice.from_dict(c) for c in raw_choices if type(c) is dict]
            if type(raw_choices) is list
            else [],
            CompletionUsage.from_dict(usage) if type(usage) is dict else None,
            fingerprint if type(fingerprint) is str else None,
            tier if type(tier) is str else None,
            data,
        )


# ---------------------------------------------------------------- a complete answer


class ChatCompletionMessage(BaseModel):
    """The assistant's message of a complete answer. ``reasoning_content`` is read from
    ``reasoning_content`` or ``reasoning`` (vLLM, Ollama, OpenRouter).

    It can be sent back as it is: ``messages.append(completion.choices[0].message)``.
    """

    __slots__ = ("role", "content", "refusal", "tool_calls", "reasoning_content")
    _ALIASES = {"reasoning": "reasoning_content"}

    def __init__(
        self,
        *,
        role: str = "assistant",
        content: str | None = None,
        refusal: str | None = None,
        tool_calls: list[ChatCompletionMessageToolCall] | None = None,
        reasoning_content: str | None = None,
    ) -> None:
        self.role = role
        self.content = content
        self.refusal = refusal
        self.tool_calls = tool_calls
        self.reasoning_content = reasoning_content
        self._raw = None

    @property
    def reasoning(self) -> str | None:
        """The same as ``reasoning_content``."""
        return self.reasoning_content

    @classmethod
    def from_dict(cls, data: JSON) -> ChatCompletionMessage:
        reasoning = data.get("reasoning_content") or data.get("reasoning")
        calls = data.get("tool_calls")
        new = cls(
            role=_str(data.get("role"), "assistant"),
            content=_opt_str(data.get("content")),
            refusal=_opt_str(data.get("refusal")),
            tool_calls=[ChatCompletionMessageToolCall.from_dict(c) for c in _dicts(calls)]
            if isinstance(calls, list)
            else None,
            reasoning_content=_opt_str(reasoning),
        )
        new._raw = data
        return new


class Choice(BaseModel):
    """One choice of a complete answer."""

    __slots__ = ("index", "message", "finish_reason", "logprobs")

    def __init__(
        self,
        *,
        index: int = 0,
        message: ChatCompletionMessage | None = None,
        finish_reason: str | None = None,
        logprobs: ChoiceLogprobs | None = None,
    ) -> None:
        self.index = index
        self.message = message if message is not None else ChatCompletionMessage()
        self.finish_reason = finish_reason
        self.logprobs = logprobs
        self._raw = None

    @classmethod
    def from_dict(cls, data: JSON) -> Choice:
        new = cls(
            index=_int(data.get("index")),
            message=ChatCompletionMessage.from_dict(_dict(data.get("message"))),
            finish_reason=_opt_str(data.get("finish_reason")),
            logprobs=_logprobs(data.get("logprobs")),
        )
        new._raw = data
        return new


class ChatCompletion(BaseModel):
    """A complete answer (``object: chat.completion``). ``request_id`` (also ``_request_id``,
    openai-python's name) is the server's ``x-request-id``."""

    __slots__ = (
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "system_fingerprint",
        "service_tier",
        "_request_id",
    )

    def __init__(
        self,
        *,
        id: str = "",
        object: str = "chat.completion",
        created: int = 0,
        model: str = "",
        choices: list[Choice] | None = None,
        usage: CompletionUsage | None = None,
        system_fingerprint: str | None = None,
        service_tier: str | None = None,
    ) -> None:
        self.id = id
        self.object = object
        self.created = created
        self.model = model
        self.choices = choices if choices is not None else []
        self.usage = usage
        self.system_fingerprint = system_fingerprint
        self.service_tier = service_tier
        self._request_id: str | None = None
        self._raw = None

    @property
    def request_id(self) -> str | None:
        """The server's ``x-request-id`` for this answer, if it sent one."""
        return self._request_id

    @property
    def raw(self) -> dict[str, Any]:
        """The server's JSON object (or the one assembled from a stream)."""
        return dict(self._raw or {})

    @classmethod
    def from_dict(cls, data: JSON) -> ChatCompletion:
        usage = data.get("usage")
        new = cls(
            id=_str(data.get("id")),
            object=_str(data.get("object"), "chat.completion"),
            created=_int(data.get("created")),
            model=_str(data.get("model")),
            choices=[Choice.from_dict(c) for c in _dicts(data.get("choices"))],
            usage=CompletionUsage.from_dict(usage) if isinstance(usage, dict) else None,
            system_fingerprint=_opt_str(data.get("system_fingerprint")),
            service_tier=_opt_str(data.get("service_tier")),
        )
        new._raw = data
        return new


# ---------------------------------------------------------------- GET /models


class Model(BaseModel):
    """One entry of ``GET /models``."""

    __slots__ = ("id", "object", "created", "owned_by")

    def __init__(
        self, id: str, *, object: str = "model", created: int = 0, owned_by: str = ""
    ) -> None:
        self.id = id
        self.object = object
        self.created = created
        self.owned_by = owned_by
        self._raw = None

    @classmethod
    def from_dict(cls, data: JSON) -> Model:
        new = cls(
            _str(data.get("id")),
            object=_str(data.get("object"), "model"),
            created=_int(data.get("created")),
            owned_by=_str(data.get("owned_by")),
        )
        new._raw = data
        return new

    @classmethod
    def parse(cls, data: object) -> Model:
        """Strict: ``ValueError`` unless ``data`` is a model object with an id."""
        if not _is_model(data):
            raise ValueError("it is not a model object with an id")
        assert isinstance(data, dict)
        return cls.from_dict(data)


class ModelList(BaseModel):
    """The answer of ``GET /models``; iterating yields its models."""

    __slots__ = ("object", "data")

    def __init__(self, data: list[Model] | None = None, *, object: str = "list") -> None:
        self.object = object
        self.data = data if data is not None else []
        self._raw = None

    @classmethod
    def from_dict(cls, data: object) -> ModelList:
        """Lenient: whatever is not a model is left out (nothing at all: an empty list)."""
        items = data.get("data") if isinstance(data, dict) else data
        if not isinstance(items, list):
            items = []
        new = cls([Model.from_dict(m) for m in items if _is_model(m)])
        new._raw = data if isinstance(data, dict) else None
        return new

    @classmethod
    def parse(cls, data: object) -> ModelList:
        """Strict: raises ``ValueError`` unless ``data`` is a model list (``{"data": [...]}``
        or a bare list) with a model among its entries, if it has any. An empty answer here
        would pass for "the server serves no models"."""
        items = data.get("data") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ValueError("it has no `data` array")
        models = cls.from_dict(data)
        if items and not models.data:
            raise ValueError(f"none of its {len(items)} entries is a model with an id")
        return models

    def __iter__(self) -> Iterator[Model]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def _is_model(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    model_id = entry.get("id")
    return isinstance(model_id, str) and bool(model_id)
