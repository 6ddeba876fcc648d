"""The tool lists of MCP servers as last seen, keyed by each server's config: the first
request can offer a server's tools before the server has started."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from atdak_cli.tools.spec import ToolSpec

_LIMIT = 200  # entries kept: one per server config ever used


def cache_file(environ: Mapping[str, str] | None = None) -> Path:
    from atdak_cli import paths

    return paths.data_dir(environ) / "mcp-tools.json"


class ToolListCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, Any] | None = None

    def get(self, key: str, source: str) -> list[ToolSpec] | None:
        entry = self._load().get(key)
        if not isinstance(entry, list):
            return None
        return [ToolSpec.from_dict(source, item) for item in entry if isinstance(item, dict)]

    def put(self, key: str, tools: list[ToolSpec]) -> None:
        """Store a server's tools; a cache that cannot be written only costs speed."""
        entries = self._load()
        listing = [tool.to_dict() for tool in tools]
        if entries.get(key) == listing:
            return
        entries.pop(key, None)
        entries[key] = listing
        while len(entries) > _LIMIT:
            entries.pop(next(iter(entries)))
        from atdak_cli.paths import replace_file

        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            replace_file(self.path, [json.dumps(entries)], mode=0o600)

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            self._entries = data if isinstance(data, dict) else {}
        return self._entries
