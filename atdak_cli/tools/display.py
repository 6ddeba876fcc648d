"""Each call and a collapsed summary of its result, dimmed, in the transcript."""

from __future__ import annotations

import json
from typing import IO, Any

from atdak_cli.tools.spec import ToolResult
from atdak_cli.tools.untrusted import first_line, printable

_DIM, _RESET = "\x1b[2m", "\x1b[0m"


class ToolDisplay:
    """Writes to ``out`` (None: shows nothing, as in a pipe). Dim is an attribute, not a
    colour: NO_COLOR keeps it (no-color.org)."""

    def __init__(self, out: IO[str] | None, *, dim: bool = True, width: int = 80) -> None:
        self.out = out
        self.dim = dim
        self.width = max(width, 40)

    def call(self, label: str, arguments: dict[str, Any] | str) -> None:
        shown = (
            arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
        )
        self._line(f"→ {printable(label)} {printable(shown)}")

    def result(self, label: str, result: ToolResult) -> None:
        size = f"{len(result.text)} chars" if result.outcome == "ok" else result.outcome
        self._line(f"← {printable(label)}: {size} · {first_line(result.text, self.width)}")

    def _line(self, text: str) -> None:
        if self.out is None:
            return
        if len(text) > self.width - 2:
            text = text[: self.width - 3] + "…"
        self.out.write(f"{_DIM}  {text}{_RESET}\n" if self.dim else f"  {text}\n")
        self.out.flush()
