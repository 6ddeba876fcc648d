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
    from atdak_cli.client._client import AtdakClient
    from atdak_cli.client._completion import ChatCompletion, ChatCompletionMessage, Choice
    from atdak_cli.client._defaults import DEFAULT_BASE_URL
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
    from atdak_cli.client._redact import mask_key, redact_key, redact_key_shaped, strip_userinfo
    from atdak_cli.client._retry import RetryPolicy, is_quota_error
    from atdak_cli.client._streaming import Stream
    from atdak_cli.client._timeouts import Deadline, Timeout
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
    "Deadline",
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
    "is_quota_error",
    "mask_key",
    "redact_key",
    "redact_key_shaped",
    "strip_userinfo",
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
    "DEFAULT_BASE_URL": "atdak_cli.client._defaults",
    "Deadline": "atdak_cli.client._timeouts",
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
    "is_quota_error": "atdak_cli.client._retry",
    "mask_key": "atdak_cli.client._redact",
    "redact_key": "atdak_cli.client._redact",
    "redact_key_shaped": "atdak_cli.client._redact",
    "strip_userinfo": "atdak_cli.client._redact",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value
