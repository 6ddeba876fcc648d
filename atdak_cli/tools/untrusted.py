"""Tool output is untrusted text: it may try to drive the terminal (clear the screen, set
the window title, write to the clipboard with OSC 52). Only printable text reaches it."""

from __future__ import annotations

import re

# ECMA-48: CSI (ESC [ or 0x9b ... final byte), OSC/DCS/SOS/PM/APC strings (ended by BEL or
# ST), and two-character escapes; then any C0 or C1 control other than newline and tab.
_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without terminal control sequences or control characters (``\\r`` too: it
    could overwrite what the user sees)."""
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


def first_line(text: str, width: int = 72) -> str:
    """The first non-blank line, printable, cut to ``width``."""
    for line in printable(text).splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= width else line[: width - 1] + "…"
    return ""
