"""The atdak client library: ``AtdakClient().chat.completions.create(...)``.

Imports only the standard library and httpx; it knows nothing of the CLI.
"""

from atdak_cli.client._client import DEFAULT_BASE_URL, AtdakClient, mask_key
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
    RateLimitError,
    RedirectRefusedError,
    RequestTooLargeError,
    ServerStreamError,
    StreamError,
    UnprocessableEntityError,
)
from atdak_cli.client._retry import RetryPolicy
from atdak_cli.client._streaming import Stream
from atdak_cli.client._timeouts import Timeout
from atdak_cli.client._types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Choice,
    ChoiceDelta,
    ChunkChoice,
    CompletionUsage,
    Model,
    ModelList,
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
