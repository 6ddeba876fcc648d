"""The atdak client library: ``AtdakClient().chat.completions.create(...)``.

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
    from atdak_cli.client._client import DEFAULT_BASE_URL, AtdakClient, mask_key
    from atdak_cli.client._completion import ChatCompletion, ChatCompletionMessage, Choice
    from atdak_cli.client._errors import (
        APIConnectionError,
        APIError,
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
        UnprocessableEntityError,
    )
    from atdak_cli.client._models import Model, ModelList
    from atdak_cli.client._retry import RetryPolicy
    from atdak_cli.client._streaming import Stream
    from atdak_cli.client._timeouts import Timeout
    from atdak_cli.client._types import (
        ChatCompletionChunk,
        ChoiceDelta,
        ChunkChoice,
        CompletionUsage,
    )


__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AtdakClient",
    "AtdakError",
    "AuthenticationError",
    "BadRequestError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "Choice",
    "ChoiceDelta",
    "ChunkChoice",
    "CompletionUsage",
    "ConflictError",
    "IncompleteStreamError",
    "InternalServerError",
    "Model",
    "ModelList",
    "NotFoundError",
    "PermissionDeniedError",
    "ProxyConnectionError",
    "RateLimitError",
    "RedirectRefusedError",
    "RequestTooLargeError",
    "RetryPolicy",
    "ServerStreamError",
    "Stream",
    "StreamError",
    "Timeout",
    "UnprocessableEntityError",
    "mask_key",
]

_HOMES = {
    "APIConnectionError": "atdak_cli.client._errors",
    "APIError": "atdak_cli.client._errors",
    "APIStatusError": "atdak_cli.client._errors",
    "APITimeoutError": "atdak_cli.client._errors",
    "AtdakClient": "atdak_cli.client._client",
    "AtdakError": "atdak_cli.client._errors",
    "AuthenticationError": "atdak_cli.client._errors",
    "BadRequestError": "atdak_cli.client._errors",
    "ChatCompletion": "atdak_cli.client._completion",
    "ChatCompletionChunk": "atdak_cli.client._types",
    "ChatCompletionMessage": "atdak_cli.client._completion",
    "Choice": "atdak_cli.client._completion",
    "ChoiceDelta": "atdak_cli.client._types",
    "ChunkChoice": "atdak_cli.client._types",
    "CompletionUsage": "atdak_cli.client._types",
    "ConflictError": "atdak_cli.client._errors",
    "DEFAULT_BASE_URL": "atdak_cli.client._client",
    "IncompleteStreamError": "atdak_cli.client._errors",
    "InternalServerError": "atdak_cli.client._errors",
    "Model": "atdak_cli.client._models",
    "ModelList": "atdak_cli.client._models",
    "NotFoundError": "atdak_cli.client._errors",
    "PermissionDeniedError": "atdak_cli.client._errors",
    "ProxyConnectionError": "atdak_cli.client._errors",
    "RateLimitError": "atdak_cli.client._errors",
    "RedirectRefusedError": "atdak_cli.client._errors",
    "RequestTooLargeError": "atdak_cli.client._errors",
    "RetryPolicy": "atdak_cli.client._retry",
    "ServerStreamError": "atdak_cli.client._errors",
    "Stream": "atdak_cli.client._streaming",
    "StreamError": "atdak_cli.client._errors",
    "Timeout": "atdak_cli.client._timeouts",
    "UnprocessableEntityError": "atdak_cli.client._errors",
    "mask_key": "atdak_cli.client._client",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value
