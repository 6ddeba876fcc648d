"""The embedded local model, reached through the same HTTP client as the API.

`LocalTransport` (in `atdak_cli.local.transport`) is an httpx transport that answers the Chat
Completions API in-process with llama.cpp (the xllamacpp wheel); `atdak_cli.local.model` finds
the GGUF file and starts the engine on it. Importing this package imports neither httpx nor
xllamacpp.
"""

from __future__ import annotations

from atdak_cli.catalog import LOCAL_MODEL_ID
from atdak_cli.local.model import (
    LocalModelError,
    default_model_path,
    is_available,
)

__all__ = ["LOCAL_MODEL_ID", "LocalModelError", "default_model_path", "is_available"]
