"""Small text helpers: plain-text columns that line up with wide (CJK) characters and emoji
(without rich), and the fenced code blocks of an answer (``atdak complete -x ... | sh``)."""

from __future__ import annotations

import re
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


# CommonMark: a fence is 3+ backticks or tildes, indented at most 3 spaces; the closing fence
# uses the same character, at least as many, and nothing else on its line.
_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def code_blocks(text: str) -> list[str]:
    """The contents of every fenced code block, in order; an unclosed last block runs to the
    end of the answer (a model cut off at --max-tokens)."""
    blocks: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _OPEN.match(lines[index])
        if opening is None or ("`" in opening.group(2) and opening.group(1)[0] == "`"):
            index += 1
            continue
        body, index = _until_close(lines, index + 1, opening.group(1))
        blocks.append("".join(line + "\n" for line in body))
    return blocks


def _until_close(lines: list[str], start: int, fence: str) -> tuple[list[str], int]:
    closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    for index in range(start, len(lines)):
        if closing.match(lines[index]):
            return lines[start:index], index + 1
    return lines[start:], len(lines)
