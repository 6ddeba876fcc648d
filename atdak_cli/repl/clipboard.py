"""Copying to the clipboard of the user's terminal with OSC 52, which works over SSH too.

The sequence is ``ESC ] 52 ; c ; <base64> BEL`` (xterm's "Operating System Commands",
https://invisible-island.net/xterm/ctlseqs/ctlseqs.html#h3-Operating-System-Commands).
tmux and GNU screen pass it on only when wrapped in their own pass-through sequence.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from typing import IO


def osc52(text: str, *, environ: Mapping[str, str] | None = None) -> str:
    """The escape sequence that puts ``text`` on the clipboard, wrapped for tmux/screen."""
    env = os.environ if environ is None else environ
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    sequence = f"\x1b]52;c;{payload}\x07"
    if env.get("TMUX"):
        # tmux pass-through: DCS tmux; <sequence with every ESC doubled> ST
        return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    if env.get("TERM", "").startswith("screen"):
        return "\x1bP" + sequence + "\x1b\\"
    return sequence


def copy_to_clipboard(stream: IO[str], text: str) -> None:
    """Ask the terminal on ``stream`` to copy ``text``."""
    stream.write(osc52(text))
    stream.flush()
