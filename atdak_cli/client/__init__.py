"""The atdak client library: ``AtdakClient().chat.completions.create(...)``, and
``AsyncAtdakClient`` for ``await``.

Imports only the standard library and httpx; it knows nothing of the CLI. Names are loaded
on first use (PEP 562), so that importing a light submodule such as ``_redact`` does not
pay for httpx (~55 ms).
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

# httpx imports its own command-line tool (rich, click and pygments: ~50 ms) whenever those
# happen to be installed; a client library never needs it, so make that import fail fast.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None blocks it

if TYPE_CHECKING:
    from atdak_cli.client._async_client import (
        AsyncAtdakClient,
    )
    from atdak_cli.client._base import (
        RequestOptions,
    )
    from atdak_cli.client._client import (
        AtdakClient,
    )
    from atdak_cli.client._defaults import DEFAULT_BASE_URL
    from atdak_cli.client._errors import (
        APIConnectionError,
        APIError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AtdakError,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        IncompleteStreamError,
        InternalServerError,
        NotFoundError,
        PermissionDeniedError,
        ProxyConnectionError,
        RateLimitError,
        RedirectRefusedError,
        RequestTooLargeError,
        ServerStreamError,
        StreamError,
        StreamTimeoutError,
        UnprocessableEntityError,
        status_error_class,
    )
    from atdak_cli.client._params import (
        ChatParams,
        MessageParam,
    )
    from atdak_cli.client._redact import (
        mask_key,
        redact_key,
        redact_key_shaped,
        strip_userinfo,
    )
    from atdak_cli.client._response import (
        APIResponse,
        AsyncAPIResponse,
        LegacyAPIResponse,
    )
    from atdak_cli.client._retry import (
        RetryPolicy,
        is_quota_error,
    )
    from atdak_cli.client._streaming import (
        AsyncStream,
        Stream,
    )
    from atdak_cli.client._timeouts import (
        Deadline,
        Timeout,
    )
    from atdak_cli.client._tool_calls import (
        ToolCallAssembler,
    )
    from atdak_cli.client._types import (
        BaseModel,
        ChatCompletion,
        ChatCompletionChunk,
        ChatCompletionMessage,
        ChatCompletionMessageToolCall,
        ChatCompletionTokenLogprob,
        Choice,
        ChoiceDelta,
        ChoiceDeltaToolCall,
        ChoiceDeltaToolCallFunction,
        ChoiceLogprobs,
        ChunkChoice,
        CompletionTokensDetails,
        CompletionUsage,
        Function,
        Model,
        ModelList,
        PromptTokensDetails,
        TopLogprob,
    )

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncAPIResponse",
    "AsyncAtdakClient",
    "AsyncStream",
    "AtdakClient",
    "AtdakError",
    "AuthenticationError",
    "BadRequestError",
    "BaseModel",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "ChatCompletionTokenLogprob",
    "ChatParams",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "ChunkChoice",
    "CompletionTokensDetails",
    "CompletionUsage",
    "ConflictError",
    "DEFAULT_BASE_URL",
    "Deadline",
    "Function",
    "IncompleteStreamError",
    "InternalServerError",
    "LegacyAPIResponse",
    "MessageParam",
    "Model",
    "ModelList",
    "NotFoundError",
    "PermissionDeniedError",
    "PromptTokensDetails",
    "ProxyConnectionError",
    "RateLimitError",
    "RedirectRefusedError",
    "RequestOptions",
    "RequestTooLargeError",
    "RetryPolicy",
    "ServerStreamError",
    "Stream",
    "StreamError",
    "StreamTimeoutError",
    "Timeout",
    "ToolCallAssembler",
    "TopLogprob",
    "UnprocessableEntityError",
    "is_quota_error",
    "mask_key",
    "redact_key",
    "redact_key_shaped",
    "status_error_class",
    "strip_userinfo",
]

_HOMES = {
    "DEFAULT_BASE_URL": "atdak_cli.client._defaults",
    "RequestOptions": "atdak_cli.client._base",
    "AtdakClient": "atdak_cli.client._client",
    "AsyncAtdakClient": "atdak_cli.client._async_client",
    "APIConnectionError": "atdak_cli.client._errors",
    "APIError": "atdak_cli.client._errors",
    "APIResponseValidationError": "atdak_cli.client._errors",
    "APIStatusError": "atdak_cli.client._errors",
    "APITimeoutError": "atdak_cli.client._errors",
    "AtdakError": "atdak_cli.client._errors",
    "AuthenticationError": "atdak_cli.client._errors",
    "BadRequestError": "atdak_cli.client._errors",
    "ConflictError": "atdak_cli.client._errors",
    "IncompleteStreamError": "atdak_cli.client._errors",
    "InternalServerError": "atdak_cli.client._errors",
    "NotFoundError": "atdak_cli.client._errors",
    "PermissionDeniedError": "atdak_cli.client._errors",
    "ProxyConnectionError": "atdak_cli.client._errors",
    "RateLimitError": "atdak_cli.client._errors",
    "RedirectRefusedError": "atdak_cli.client._errors",
    "RequestTooLargeError": "atdak_cli.client._errors",
    "ServerStreamError": "atdak_cli.client._errors",
    "StreamError": "atdak_cli.client._errors",
    "StreamTimeoutError": "atdak_cli.client._errors",
    "UnprocessableEntityError": "atdak_cli.client._errors",
    "status_error_class": "atdak_cli.client._errors",
    "ChatParams": "atdak_cli.client._params",
    "MessageParam": "atdak_cli.client._params",
    "mask_key": "atdak_cli.client._redact",
    "redact_key": "atdak_cli.client._redact",
    "redact_key_shaped": "atdak_cli.client._redact",
    "strip_userinfo": "atdak_cli.client._redact",
    "APIResponse": "atdak_cli.client._response",
    "AsyncAPIResponse": "atdak_cli.client._response",
    "LegacyAPIResponse": "atdak_cli.client._response",
    "RetryPolicy": "atdak_cli.client._retry",
    "is_quota_error": "atdak_cli.client._retry",
    "AsyncStream": "atdak_cli.client._streaming",
    "Stream": "atdak_cli.client._streaming",
    "Deadline": "atdak_cli.client._timeouts",
    "Timeout": "atdak_cli.client._timeouts",
    "ToolCallAssembler": "atdak_cli.client._tool_calls",
    "BaseModel": "atdak_cli.client._types",
    "ChatCompletion": "atdak_cli.client._types",
    "ChatCompletionChunk": "atdak_cli.client._types",
    "ChatCompletionMessage": "atdak_cli.client._types",
    "ChatCompletionMessageToolCall": "atdak_cli.client._types",
    "ChatCompletionTokenLogprob": "atdak_cli.client._types",
    "Choice": "atdak_cli.client._types",
    "ChoiceDelta": "atdak_cli.client._types",
    "ChoiceDeltaToolCall": "atdak_cli.client._types",
    "ChoiceDeltaToolCallFunction": "atdak_cli.client._types",
    "ChoiceLogprobs": "atdak_cli.client._types",
    "ChunkChoice": "atdak_cli.client._types",
    "CompletionTokensDetails": "atdak_cli.client._types",
    "CompletionUsage": "atdak_cli.client._types",
    "Function": "atdak_cli.client._types",
    "Model": "atdak_cli.client._types",
    "ModelList": "atdak_cli.client._types",
    "PromptTokensDetails": "atdak_cli.client._types",
    "TopLogprob": "atdak_cli.client._types",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
