"""Small pieces of rich copied for the tables of plain_table.py, so that path imports no rich at all.

Each is rich's own rule (rich 15) restricted to text whose characters are
one cell wide: its default box, its word division (rich._wrap.divide_line,
folding) and which characters are one cell wide. tests/unit/test_rich_copies.py
compares each with rich's. Copies of rich's private rules: pinned rich<16 (pyproject.toml).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# rich.box.HEAVY_HEAD, rich's default box for a Table, as rich.box spells it (the tests compare them).
HEAVY_HEAD = "┏━┳┓\n┃ ┃┃\n┡━╇┩\n│ ││\n├─┼┤\n├─┼┤\n│ ││\n└─┴┘\n"
# Characters one cell wide in rich's cell table (tests/unit/test_rich_copies.py checks every one of
# them): ASCII and the Latin letters, general punctuation, arrows, ⏎, box drawing and check marks
# these tables hold; rich.cells is imported only for a character beyond them.
_ONE_CELL = ((0x0020, 0x007E), (0x00A0, 0x02FF), (0x2010, 0x205E), (0x2190, 0x21FF), (0x23CE, 0x23CF),
             (0x2500, 0x257F), (0x2713, 0x2718))
_NARROW = frozenset({"Mn", "Mc", "Me", "Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@lru_cache(maxsize=4096)
def _simple_char(char: str) -> bool:
    """One cell wide on its own and never part of a wider cluster."""
    code = ord(char)
    if code >= 0x10000 or unicodedata.category(char) in _NARROW:
        return False
    if any(low <= code <= high for low, high in _ONE_CELL):
        return True
    from rich.cells import get_character_cell_size  # rich's table, only for a character beyond those

    return get_character_cell_size(char) == 1


def simple(text: str) -> bool:
    """Text whose width is its length: every line break a "\\n", every character one cell."""
    if text.isascii():
        return all(" " <= c < "\x7f" or c == "\n" for c in text)
    return all(c == "\n" or _simple_char(c) for c in set(text))


_WORD = re.compile(r"\s*\S+\s*")


def divide_line(text: str, width: int) -> list[int]:
    """rich._wrap.divide_line with fold=True, copied for text one cell per character (`simple`):
    the offsets where a line too long for `width` breaks, at spaces, folding a longer word."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):  # rich's words(): a word and the spaces around it
        start, word = match.start(), match.group(0)
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:  # folded over as many lines as it takes
            chunks = [word[index:index + width] for index in range(0, len(word), width)]
            for number, chunk in enumerate(chunks):
                if start:
                    breaks.append(start)
                if number == len(chunks) - 1:
                    offset = len(chunk)
                else:
                    start += len(chunk)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    return breaks


class Frame:
    """A box as rich.box.Box reads it (eight lines of four characters) and draws its rules."""

    def __init__(self, spec: str) -> None:
        lines = spec.splitlines()
        self.top_left, self.top, self.top_divider, self.top_right = lines[0]
        self.head_left, _, self.head_vertical, self.head_right = lines[1]
        self.head_row_left, self.head_row, self.head_row_cross, self.head_row_right = lines[2]
        self.mid_left, _, self.mid_vertical, self.mid_right = lines[3]
        self.foot_left, _, self.foot_vertical, self.foot_right = lines[6]
        self.bottom_left, self.bottom, self.bottom_divider, self.bottom_right = lines[7]

    def get_top(self, widths: list[int]) -> str:
        return self.top_left + self.top_divider.join(self.top * w for w in widths) + self.top_right

    def get_head_row(self, widths: list[int]) -> str:
        """Box.get_row(widths, "head", edge=True)."""
        return (self.head_row_left + self.head_row_cross.join(self.head_row * w for w in widths)
                + self.head_row_right)

    def get_bottom(self, widths: list[int]) -> str:
        bottom = self.bottom_divider.join(self.bottom * w for w in widths)
        return self.bottom_left + bottom + self.bottom_right
