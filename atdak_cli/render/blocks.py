"""Split streamed Markdown into top-level blocks as soon as each one is complete.

Pure Python (no rich) so it can be tested on its own. The splitter only ever decides on
*complete* lines, in order, and never looks back at a line once it has decided; the partial
last line is only part of the unfinished tail. So the blocks it yields do not depend on where
the deltas were cut: ``split_blocks(text)`` equals feeding ``text`` in any pieces, then
``finish()``. The markdown renderer's scrollback-equals-one-shot guarantee rests on that.

The grammar is a deliberately small subset of CommonMark/GFM block structure: enough to know
where a block ends (markdown-it renders what is inside it):

- fenced code: ``` or ~~~, three or more; closed by the same character, at least as long;
- ATX headings and thematic breaks: one line each;
- paragraphs, which also carry tables, setext headings and indented code: end at a blank
  line, a setext underline, or a line that starts another block (CommonMark "interrupts");
- block quotes: ``>`` lines plus lazy continuation lines; end at a blank line;
- lists: item lines, indented continuation lines (fenced code inside items too), lazy
  continuation lines; blank lines inside are kept, the list ends at the first non-blank,
  non-indented line after a blank line, or at a line that starts another kind of block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

_FENCE_OPEN = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}(?=[^`]*$)|~{3,})")
_ATX = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_BREAK = re.compile(r"^ {0,3}(?:(?:\* *){3,}|(?:- *){3,}|(?:_ *){3,})$")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+) *$")
_QUOTE = re.compile(r"^ {0,3}>")
_ITEM = re.compile(r"^ *(?:[-+*]|\d{1,9}[.)])(?: |$)")
_TOP_ITEM = re.compile(r"^ {0,3}(?:[-+*]|\d{1,9}[.)])(?: |$)")
# CommonMark §5.3: only a non-empty bullet item or an ordered item starting at 1 interrupts a
# paragraph ("in 1986. we..." wrapped onto a new line stays text).
_INTERRUPTING_ITEM = re.compile(r"^ {0,3}(?:[-+*]|1[.)]) +\S")
# CommonMark: list item content starts after the marker; two spaces is the smallest useful
# continuation indent ("- a" + "  b"), so anything indented that far belongs to the item.
_CONTINUATION = re.compile(r"^ {2,}\S")


class Kind(Enum):
    """What kind of block is being collected; decides how it ends."""

    PARAGRAPH = "paragraph"
    FENCE = "fence"
    QUOTE = "quote"
    LIST = "list"


@dataclass(frozen=True)
class _Fence:
    char: str
    length: int

    def closes(self, line: str) -> bool:
        stripped = line.strip()
        return len(stripped) >= self.length and stripped == self.char * len(stripped)


def _open_fence(line: str) -> _Fence | None:
    match = _FENCE_OPEN.match(line)
    if match is None:
        return None
    fence = match.group("fence")
    return _Fence(fence[0], len(fence))


def _is_blank(line: str) -> bool:
    return not line.strip()


def _starts_block(line: str) -> bool:
    """A line that interrupts a paragraph (CommonMark §4/§5: headings, fences, quotes...)."""
    return bool(
        _ATX.match(line)
        or _BREAK.match(line)
        or _QUOTE.match(line)
        or _INTERRUPTING_ITEM.match(line)
        or (_open_fence(line) is not None and not line.startswith("    "))
    )


class BlockSplitter:
    """Feed text as it arrives; get back the blocks that are now complete."""

    def __init__(self) -> None:
        self._partial = ""
        self._lines: list[str] = []
        self._kind = Kind.PARAGRAPH
        self._fence: _Fence | None = None
        self._saw_blank = False

    def feed(self, text: str) -> list[str]:
        """Append ``text``; return the blocks it completed, in order."""
        *complete, self._partial = (self._partial + text).split("\n")
        done: list[str] = []
        for line in complete:
            done.extend(self._line(_normalise(line)))
        return done

    def tail(self) -> str:
        """The unfinished block, including the partial last line."""
        # Normalised like a complete line: the half of a CRLF split across deltas (or a tab)
        # must not reach the terminal raw.
        lines = [*self._lines, _normalise(self._partial)] if self._partial else self._lines
        return _join(lines)

    def open_fence(self) -> tuple[list[str], str] | None:
        """While the unfinished block is a top-level fenced code block: its complete lines
        (the opening fence first) and the partial last line."""
        if self._kind is not Kind.FENCE or not self._lines:
            return None
        return self._lines, _normalise(self._partial)

    def finish(self) -> list[str]:
        """The end of the text: the partial line is a line, and every block is complete."""
        done = self.feed("\n") if self._partial else []
        done.extend(self._close())
        return done

    def _line(self, line: str) -> list[str]:
        if not self._lines:
            return self._begin(line)
        if self._kind is Kind.FENCE:
            return self._in_fence(line)
        if self._kind is Kind.LIST:
            return self._in_list(line)
        if self._kind is Kind.QUOTE:
            return self._in_quote(line)
        return self._in_paragraph(line)

    def _begin(self, line: str) -> list[str]:
        if _is_blank(line):
            return []
        self._lines = [line]
        self._saw_blank = False
        self._fence = _open_fence(line) if not line.startswith("    ") else None
        if self._fence is not None:
            self._kind = Kind.FENCE
            return []
        if _ATX.match(line) or _BREAK.match(line):
            return self._close()
        if _QUOTE.match(line):
            self._kind = Kind.QUOTE
        elif _TOP_ITEM.match(line):
            self._kind = Kind.LIST
        else:
            self._kind = Kind.PARAGRAPH
        return []

    def _in_fence(self, line: str) -> list[str]:
        self._lines.append(line)
        assert self._fence is not None
        return self._close() if self._fence.closes(line) else []

    def _in_paragraph(self, line: str) -> list[str]:
        if _is_blank(line):
            return self._close()
        if _SETEXT.match(line):
            self._lines.append(line)
            return self._close()
        if _starts_block(line):
            return self._restart(line)
        self._lines.append(line)
        return []

    def _in_quote(self, line: str) -> list[str]:
        if _is_blank(line):
            return self._close()
        if not _QUOTE.match(line) and _starts_block(line):
            return self._restart(line)
        self._lines.append(line)
        return []

    def _in_list(self, line: str) -> list[str]:
        if self._fence is not None:
            if self._fence.closes(line):
                self._fence = None
            self._lines.append(line)
            return []
        if _is_blank(line):
            self._saw_blank = True
            self._lines.append(line)
            return []
        if not self._belongs_to_list(line):
            return self._restart(line)
        self._saw_blank = False
        self._fence = _open_fence(line)
        self._lines.append(line)
        return []

    def _belongs_to_list(self, line: str) -> bool:
        if _BREAK.match(line):
            return False
        if _ITEM.match(line) or _CONTINUATION.match(line):
            return True
        # A lazy continuation line: only directly after text, and only if it starts nothing.
        return not self._saw_blank and not _starts_block(line)

    def _restart(self, line: str) -> list[str]:
        done = self._close()
        done.extend(self._begin(line))
        return done

    def _close(self) -> list[str]:
        lines, self._lines, self._fence = self._lines, [], None
        while lines and _is_blank(lines[-1]):
            lines.pop()
        return [_join(lines)] if lines else []


def split_blocks(text: str) -> list[str]:
    """All the blocks of a complete text: what streaming it in any pieces yields."""
    splitter = BlockSplitter()
    blocks = splitter.feed(text)
    blocks.extend(splitter.finish())
    return blocks


def fence_code(block: str) -> tuple[str, list[str]] | None:
    """A fenced code block opened at the left margin: its opening line and its lines of
    code, as Markdown reads them (the closing fence left out, trailing blank lines too)."""
    opening, _, rest = block.partition("\n")
    fence = _open_fence(opening)
    if fence is None or opening.startswith(" "):
        return None
    code = rest.split("\n") if rest else []
    if code and fence.closes(code[-1]):
        code.pop()
    return opening, "\n".join(code).rstrip().split("\n")


def _normalise(line: str) -> str:
    # A CRLF may be split across deltas, so the CR is only dropped once the line is complete.
    return line[:-1].expandtabs(4) if line.endswith("\r") else line.expandtabs(4)


def _join(lines: Iterable[str]) -> str:
    return "\n".join(lines)


def live_window(block: str, rows: int) -> str:
    """The end of an unfinished block, enough to fill ``rows`` screen rows.

    Only the last rows of a tall tail fit in the live region, so re-rendering all of a 300-line
    code block or a 100-item list on every redraw would be wasted work that grows with the
    block. A fence keeps its opening line (the language); a list is cut at an item so that it
    still renders as a list. The permanent print always renders the whole block.
    """
    lines = block.split("\n")
    if len(lines) <= rows:
        return block
    if _open_fence(lines[0]) is not None and not lines[0].startswith("    "):
        return _join([lines[0], *lines[-rows:]])
    if _TOP_ITEM.match(lines[0]):
        return _join(lines[_list_cut(lines, rows) :])
    return block


def _list_cut(lines: list[str], rows: int) -> int:
    """The last top-level item line that still leaves at least ``rows`` lines after it."""
    cut = 0
    for index in range(len(lines) - rows + 1):
        if _TOP_ITEM.match(lines[index]):
            cut = index
    return cut
