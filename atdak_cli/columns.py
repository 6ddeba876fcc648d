"""Plain-text columns that line up with wide (CJK) characters and emoji, without rich."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def cell_width(text: str) -> int:
    """Terminal cells ``text`` takes: 2 for wide and full-width characters, 0 for combining."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or char in "\u200b\u200d\ufe0f":
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def format_columns(rows: Sequence[Sequence[str]], *, gap: int = 2) -> list[str]:
    """Rows as aligned lines; the last column is not padded."""
    if not rows:
        return []
    widths = [max(cell_width(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [
            cell + " " * (widths[i] - cell_width(cell) + gap) for i, cell in enumerate(row[:-1])
        ]
        lines.append(("".join(cells) + row[-1]).rstrip())
    return lines
