"""Tables as plain text, the same characters rich's Table prints, at a fraction of its cost.

Rich measures every cell through its generic machinery twice (before and
after shrinking the columns) and renders each through Padding, Text and
Segment objects: 40-80 ms for the 47 rows of verify's report on the lab,
~10 ms for deploy's recap. Where no colour is printed (a pipe, a file, CI,
`--output`, verify's `render()` text) this module lays out the same table
(rich's defaults: heavy head box, padding of one, no expansion; columns
folding long words) with the same rules on plain strings, reusing rich's
own pieces where they decide something (the box characters, word
division, ratio reduction), so the output is the same text, byte for byte
(tests/unit/test_plain_table.py compares both on many tables and
widths).

Only what it can lay out exactly takes this path: text made of characters
one cell wide (no tabs, control or combining characters, nothing wider), a
title without markup, columns at least three cells wide, a console that
prints no styles. Anything else gets `None` and is drawn by rich.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rich import box
from rich._wrap import divide_line
from rich.cells import get_character_cell_size
from rich.console import Console

PADDING = 1  # each side of a cell (rich's default padding (0, 1))
BOX = box.HEAVY_HEAD  # rich's default box for a Table
_EMOJI_CODE = re.compile(r":[^\s:]*:")
_NARROW = frozenset({"Mn", "Mc", "Me", "Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@lru_cache(maxsize=4096)
def _simple_char(char: str) -> bool:
    """One cell wide on its own and never part of a wider cluster."""
    return (ord(char) < 0x10000 and unicodedata.category(char) not in _NARROW
            and get_character_cell_size(char) == 1)


def simple(text: str) -> bool:
    """Text whose width is its length: every line break a "\\n", every character one cell."""
    if text.isascii():
        return all(" " <= c < "\x7f" or c == "\n" for c in text)
    return all(c == "\n" or _simple_char(c) for c in set(text))


def _measure(text: str) -> tuple[int, int]:
    """rich's Text measurement: (longest word, longest line)."""
    lines = text.splitlines()
    longest = max(map(len, lines)) if lines else 0
    words = text.split()
    return (max(map(len, words)) if words else longest), longest


def _cell_measure(measured: tuple[int, int], max_width: int) -> tuple[int, int]:
    """Measurement.get of a padded cell (Padding around Text) within `max_width`."""
    extra = 2 * PADDING
    if max_width - extra < 1:
        return max_width, max_width
    low, high = measured
    low = min(max(0, low), high)
    high = max(low, high)
    low, high = min(low, max_width), min(high, max_width)
    if high < 1:
        low = high = 0
    else:
        low = min(max(0, low), high)
    return min(low + extra, max_width), min(high + extra, max_width)


def _column_width(measures: list[tuple[int, int]], max_width: int) -> int:
    """The maximum of rich's column measurement (Table._measure_column) within `max_width`."""
    if max_width < 1:
        return 0
    cells = [_cell_measure(m, max_width) for m in measures]
    return min(max(high for _, high in cells) if cells else max_width, max_width)


def _ratio_reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """rich._ratio.ratio_reduce, copied: its module imports fractions (with decimal, ~3 ms) for another."""
    ratios = [ratio if most else 0 for ratio, most in zip(ratios, maximums, strict=True)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining = total
    result = []
    for ratio, most, value in zip(ratios, maximums, values, strict=True):
        if ratio and total_ratio > 0:
            distributed = min(most, round(ratio * remaining / total_ratio))
            result.append(value - distributed)
            remaining -= distributed
            total_ratio -= ratio
        else:
            result.append(value)
    return result


def _collapse(widths: list[int], max_width: int) -> list[int]:
    """Table._collapse_widths with every column wrapable: the widest columns give way first.

    rich's own, copied to leave rich.table unimported (6-7 ms) on this path; the tests compare
    the tables both draw, so a change in rich's rules shows there.
    """
    excess = sum(widths) - max_width
    while sum(widths) and excess > 0:
        widest = max(widths)
        second = max((w for w in widths if w != widest), default=0)
        if not widest - second:
            break
        ratios = [1 if w == widest else 0 for w in widths]
        widths = _ratio_reduce(excess, ratios, [min(excess, widest - second)] * len(widths), widths)
        excess = sum(widths) - max_width
    return widths


def column_widths(columns: list[list[str]], max_width: int) -> list[int]:
    """Table._calculate_column_widths (expand=False, no fixed widths): widths with padding."""
    measures = [[_measure(text) for text in column] for column in columns]
    widths = [_column_width(m, max_width) or 1 for m in measures]
    if sum(widths) > max_width:
        widths = _collapse(widths, max_width)
        if sum(widths) > max_width:
            widths = _ratio_reduce(sum(widths) - max_width, [1] * len(widths), widths, widths)
        widths = [_column_width(m, width) for m, width in zip(measures, widths, strict=True)]
    return widths


def wrap(text: str, width: int) -> list[str]:
    """Text.wrap with overflow "fold": each line cut at rich's word breaks, before justifying."""
    lines = []
    for line in text.split("\n"):
        offsets = divide_line(line, width, fold=True)
        for start, end in zip([0, *offsets], [*offsets, len(line)], strict=True):
            # Text.rstrip_end would drop spaces beyond the width: justifying crops them anyway.
            lines.append(line[start:end])
    return lines


def _cell_lines(text: str, width: int, justify: str) -> list[str]:
    """A padded cell, justified left (as it is) or right (trailing spaces dropped): `width` characters."""
    inner = width - 2 * PADDING
    pad = " " * PADDING
    if justify == "right":
        return [pad + piece.rstrip()[:inner].rjust(inner) + pad for piece in wrap(text, inner)]
    return [pad + piece[:inner].ljust(inner) + pad for piece in wrap(text, inner)]


def _title_lines(title: str, width: int) -> list[str]:
    lines = []
    for piece in wrap(title, width):
        piece = piece.rstrip()[:width]
        left = (width - len(piece)) // 2
        lines.append((" " * left + piece).ljust(width))
    return lines


def plain_table(console: Console, title: str, headers: list[str], rows: list[list[str]],
                justify: list[str] | None = None) -> str | None:
    """The table rich would print on `console` (no style printed), or None when rich must draw it.

    Cells are text as it is (never markup); `justify` gives each column's ("left" or "right").
    """
    if console.color_system is not None or console.record or console.is_jupyter or console.legacy_windows:
        return None
    # rich reads a title given as text as markup (and :emoji: codes): only a title without either here.
    if not rows or not simple(title) or "\n" in title or "[" in title or _EMOJI_CODE.search(title):
        return None
    justify = justify or ["left"] * len(headers)
    if not all(simple(text) for row in [headers, *rows] for text in row):
        return None
    frame = BOX.substitute(console.options, safe=console.safe_box)
    columns = [list(column) for column in zip(headers, *rows, strict=True)]
    table_width_max = console.options.max_width - (2 + len(headers) - 1)  # the edges and dividers
    widths = column_widths(columns, table_width_max)
    if min(widths) < 2 * PADDING + 1:
        return None
    table_width = sum(widths) + 2 + len(headers) - 1
    out = _title_lines(title, table_width) if title else []
    out.append(frame.get_top(widths))
    for index, row in enumerate([headers, *rows]):
        cells = [_cell_lines(text, width, how) for text, width, how in zip(row, widths, justify, strict=True)]
        height = max(map(len, cells))
        for cell, width in zip(cells, widths, strict=True):
            blank = [" " * width] * (height - len(cell))
            cell[:] = blank + cell if index == 0 else cell + blank  # headers sit at the bottom
        if index == 0:
            left, divider, right = frame.head_left, frame.head_vertical, frame.head_right
        elif index == len(rows):
            left, divider, right = frame.foot_left, frame.foot_vertical, frame.foot_right
        else:
            left, divider, right = frame.mid_left, frame.mid_vertical, frame.mid_right
        for line in zip(*cells, strict=True):
            out.append(left + divider.join(line) + right)
        if index == 0:
            out.append(frame.get_row(widths, "head", edge=True))
    out.append(frame.get_bottom(widths))
    return "\n".join(out)
