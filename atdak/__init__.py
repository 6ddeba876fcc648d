"""The API page's import path: ``from atdak import AtdakClient``.

Lazy like the package it re-exports: ``import atdak`` loads no httpx until a name that needs
it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from atdak_cli.client import (
        DEFAULT_BASE_URL as DEFAULT_BASE_URL,
    )
    from atdak_cli.client import (
        APIConnectionError as APIConnectionError,
    )
    from atdak_cli.client import (
        APIError as APIError,
    )
    from atdak_cli.client import (
        APIResponse as APIResponse,
    )
    from atdak_cli.client import (
        APIResponseValidationError as APIResponseValidationError,
    )
    from atdak_cli.client import (
        APIStatusError as APIStatusError,
    )
    from atdak_cli.client import (
        APITimeoutError as APITimeoutError,
    )
    from atdak_cli.client import (
        AsyncAPIResponse as AsyncAPIResponse,
    )
    from atdak_cli.client import (
        AsyncAtdakClient as AsyncAtdakClient,
    )
    from atdak_cli.client import (
        AsyncStream as AsyncStream,
    )
    from atdak_cli.client import (
        AtdakClient as AtdakClient,
    )
    from atdak_cli.client import (
        AtdakError as AtdakError,
    )
    from atdak_cli.client import (
        AuthenticationError as AuthenticationError,
    )
    from atdak_cli.client import (
        BadRequestError as BadRequestError,
    )
    from atdak_cli.client import (
        BaseModel as BaseModel,
    )
    from atdak_cli.client import (
        ChatCompletion as ChatCompletion,
    )
    from atdak_cli.client import (
        ChatCompletionChunk as ChatCompletionChunk,
    )
    from atdak_cli.client import (
        ChatCompletionMessage as ChatCompletionMessage,
    )
    from atdak_cli.client import (
        ChatCompletionMessageToolCall as ChatCompletionMessageToolCall,
    )
    from atdak_cli.client import (
        ChatCompletionTokenLogprob as ChatCompletionTokenLogprob,
    )
    from atdak_cli.client import (
        ChatParams as ChatParams,
    )
    from atdak_cli.client import (
        Choice as Choice,
    )
    from atdak_cli.client import (
        ChoiceDelta as ChoiceDelta,
    )
    from atdak_cli.client import (
        ChoiceDeltaToolCall as ChoiceDeltaToolCall,
    )
    from atdak_cli.client import (
        ChoiceDeltaToolCallFunction as ChoiceDeltaToolCallFunction,
    )
    from atdak_cli.client import (
        ChoiceLogprobs as ChoiceLogprobs,
    )
    from atdak_cli.client import (
        ChunkChoice as ChunkChoice,
    )
    from atdak_cli.client import (
        CompletionTokensDetails as CompletionTokensDetails,
    )
    from atdak_cli.client import (
        CompletionUsage as CompletionUsage,
    )
    from atdak_cli.client import (
        ConflictError as ConflictError,
    )
    from atdak_cli.client import (
        Function as Function,
    )
    from atdak_cli.client import (
        IncompleteStreamError as IncompleteStreamError,
    )
    from atdak_cli.client import (
        InternalServerError as InternalServerError,
    )
    from atdak_cli.client import (
        LegacyAPIResponse as LegacyAPIResponse,
    )
    from atdak_cli.client import (
        MessageParam as MessageParam,
    )
    from atdak_cli.client import (
        Model as Model,
    )
    from atdak_cli.client import (
        ModelList as ModelList,
    )
    from atdak_cli.client import (
        NotFoundError as NotFoundError,
    )
    from atdak_cli.client import (
        PermissionDeniedError as PermissionDeniedError,
    )
    from atdak_cli.client import (
        PromptTokensDetails as PromptTokensDetails,
    )
    from atdak_cli.client import (
        RateLimitError as RateLimitError,
    )
    from atdak_cli.client import (
        RedirectRefusedError as RedirectRefusedError,
    )
    from atdak_cli.client import (
        RequestTooLargeError as RequestTooLargeError,
    )
    from atdak_cli.client import (
        RetryPolicy as RetryPolicy,
    )
    from atdak_cli.client import (
        ServerStreamError as ServerStreamError,
    )
    from atdak_cli.client import (
        Stream as Stream,
    )
    from atdak_cli.client import (
        StreamError as StreamError,
    )
    from atdak_cli.client import (
        StreamTimeoutError as StreamTimeoutError,
    )
    from atdak_cli.client import (
        Timeout as Timeout,
    )
    from atdak_cli.client import (
        ToolCallAssembler as ToolCallAssembler,
    )
    from atdak_cli.client import (
        TopLogprob as TopLogprob,
    )
    from atdak_cli.client import (
        UnprocessableEntityError as UnprocessableEntityError,
    )
    from atdak_cli.client import (
        mask_key as mask_key,
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
    "RateLimitError",
    "RedirectRefusedError",
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
    "mask_key",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import atdak_cli.client

    value = getattr(atdak_cli.client, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
