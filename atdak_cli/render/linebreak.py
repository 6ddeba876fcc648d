"""Where a line of text may break: rich's word wrapping plus the basic rules of Chinese and
Japanese line breaking (GB/T 15834, JIS X 4051 "kinsoku", UAX #14 classes ID, CL, OP).

rich breaks only at spaces: a run of CJK text is one "word", moved whole to the next line or
cut anywhere once it is longer than the line, so lines start with ``，`` or ``。``. Here every
wide character is a break opportunity, except that no line starts with closing punctuation
and no line ends with opening punctuation. Text without wide characters is left to rich, so
its layout stays exactly rich's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from rich.cells import cell_len, chop_cells, get_character_cell_size

# Never at the start of a line: closing brackets and quotes, pauses and stops, the
# iteration and prolonged-sound marks, small kana; ellipses and dashes are never split.
CLOSING = frozenset(
    "，。、；：？！）」』】》〉〕］｝〗〙〛”’．,.;:?!)]}%·・ー々〻ゝゞヽヾ…‥—～〜"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ"
)
# Never at the end of a line: opening brackets and quotes.
OPENING = frozenset("（「『【《〈〔［｛〖〘〚“‘([{")
_ZWJ = "\u200d"

Divider = Callable[..., list[int]]


def _is_wide(char: str) -> bool:
    return get_character_cell_size(char) == 2


def _is_space(char: str) -> bool:
    return char.isspace()


def units(text: str) -> Iterator[tuple[int, int]]:
    """The spans between break opportunities: a run of narrow characters (a word), or one
    wide character, each with the closing punctuation and the spaces that follow it; a
    unit ending in opening punctuation is joined to the next one."""
    end, size = 0, len(text)
    while end < size and _is_space(text[end]):
        end += 1  # leading spaces belong to the first unit, as in rich
    start = 0
    while end < size:
        end = _unit_end(text, end)
        if end < size and text[end - 1] in OPENING:
            continue
        yield start, end
        start = end
    if start < size:
        yield start, size


def _unit_end(text: str, index: int) -> int:
    size = len(text)
    if _is_wide(text[index]) or text[index] in CLOSING or text[index] in OPENING:
        index += 1
    else:
        while index < size and not (_is_space(text[index]) or _is_wide(text[index])):
            index += 1
    while index < size and (text[index] in CLOSING or _joins(text, index)):
        index += 1
    while index < size and _is_space(text[index]):
        index += 1
    return index


def _joins(text: str, index: int) -> bool:
    """A zero-width character (variation selector, combining mark, ZWJ) or what a ZWJ joins."""
    char = text[index]
    if not _is_space(char) and get_character_cell_size(char) == 0:
        return True
    return index > 0 and text[index - 1] == _ZWJ


def divide_line(text: str, width: int, fold: bool = True) -> list[int]:
    """rich's ``divide_line`` (the offsets to break ``text`` at so that each piece fits in
    ``width`` cells), with CJK break opportunities; a unit longer than a line is folded
    (``fold``) or left to be cropped."""
    if text.isascii() or not any(map(_is_wide, text)):
        return _rich_divide_line(text, width, fold)
    breaks: list[int] = []
    offset = 0
    for start, end in units(text):
        unit = text[start:end]
        length = cell_len(unit.rstrip())
        if width - offset >= length:
            offset += cell_len(unit)
        elif length > width:
            offset = _fold(unit, start, width, breaks) if fold else _crop(unit, start, breaks)
        elif offset and start:
            breaks.append(start)
            offset = cell_len(unit)
    return breaks


def _fold(unit: str, start: int, width: int, breaks: list[int]) -> int:
    """Breaks before each line's worth of a unit too long for a line; the cells used on
    the last line (rich's rule: the unit starts a line of its own)."""
    pieces = chop_cells(unit, width)
    for piece in pieces:
        if start:
            breaks.append(start)
        start += len(piece)
    return cell_len(pieces[-1])


def _crop(unit: str, start: int, breaks: list[int]) -> int:
    if start:
        breaks.append(start)
    return cell_len(unit)


def install() -> None:
    """Make rich's Text wrapping use :func:`divide_line` (rich has no hook for line-breaking
    rules; its ``Text.wrap`` looks the function up in its module on every call)."""
    import rich.text

    vars(rich.text)["divide_line"] = divide_line


def _original() -> Divider:
    import rich._wrap

    return rich._wrap.divide_line


_rich_divide_line: Divider = _original()
