"""The library's defaults that the CLI shares; importable without httpx."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://api.atdak.com/v1"
