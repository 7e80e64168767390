"""Tables laid out as rich's Table lays them out, the same bytes, at a fraction of its cost.

Rich measures every cell through its generic machinery twice (before and
after shrinking the columns) and renders each through Padding, Text and
Segment objects: 40-80 ms for the 47 rows of verify's report on the lab,
~10 ms for deploy's recap. This module lays out the same table (rich's
defaults: heavy head box, padding of one, no expansion, columns folding
long words, italic title, bold header) with the same rules on plain
strings, with copies of rich's small pieces where they decide something
(rich_copies.py: the box characters, word division, which characters are
one cell wide) and of two small functions (column collapsing, ratio
reduction), so that no part of rich is imported on this path. Without colour it is one string
(`plain_table`, `StyledTable.text`); with colour (`StyledTable`, verify's
report only) each stretch of text carries the style rich would give it,
split where rich splits its segments, so the escape codes are the same
too. tests/unit/test_plain_table.py compares both with rich's own output
on many tables, widths and colour systems. Copies of rich's private rules
(Table._measure_column and friends): pinned rich<16 (pyproject.toml).

Only what it can lay out exactly takes this path: text made of characters
one cell wide (no tabs, control or combining characters, nothing wider), a
title without markup, columns at least three cells wide, a console that
does not record. Anything else gets `None` and is drawn by rich.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .rich_copies import HEAVY_HEAD, Frame, divide_line, simple
from .terminal import Terminal, as_rich, write_runs

if TYPE_CHECKING:
    from rich.console import Console

    Out = Console | Terminal

PADDING = 1  # each side of a cell (rich's default padding (0, 1))
_EMOJI_CODE = re.compile(r":[^\s:]*:")


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


def _pieces(text: str, width: int) -> list[tuple[int, int]]:
    """Text.wrap with overflow "fold": (start, end) offsets in `text` of each line, before justifying."""
    pieces = []
    offset = 0
    for line in text.split("\n"):
        # A line that fits is never divided (every word fits where it stands): divide_line would say so.
        breaks = divide_line(line, width) if len(line) > width else []
        for start, end in zip([0, *breaks], [*breaks, len(line)], strict=True):
            # Text.rstrip_end would drop spaces beyond the width: justifying crops them anyway.
            pieces.append((offset + start, offset + min(end, start + width)))
        offset += len(line) + 1
    return pieces


@dataclass(frozen=True)
class Styled:
    """A cell as rich's Text would hold it: parts of text, each with its style (a span), and a base style.

    The base style covers the whole cell, justifying spaces included (`Text(word, style=...)`); a
    part's style only its own characters (`Text.append(text, style=...)`).
    """

    parts: tuple[tuple[str, str | None], ...]
    style: str | None = None

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.parts)


Cell = str | Styled
Run = tuple[str, str | None]  # text and the style names over it, "+"-joined in rich's order


def _styled(cell: Cell) -> Styled:
    return cell if isinstance(cell, Styled) else Styled(((cell, None),))


def _cell_lines(cell: Styled, width: int, justify: str) -> list[list[Run]]:
    """A padded, justified cell: each line `width` characters, split where rich splits its segments."""
    inner = width - 2 * PADDING
    pad = (" " * PADDING, None)
    plain = cell.plain
    spans, offset = [], 0
    for text, style in cell.parts:
        if style:
            spans.append((offset, offset + len(text), style))
        offset += len(text)
    lines = []
    for start, end in _pieces(plain, inner):
        piece = plain[start:end]
        if justify == "right":  # only for tables without styles (plain_table refuses the others)
            lines.append([pad, (piece.rstrip()[:inner].rjust(inner), cell.style), pad])
            continue
        text = piece.ljust(inner)
        cuts = {0, inner}
        for low, high, _ in spans:  # a span's edges inside this line split a segment
            if low < end and high > start:
                cuts.update((max(low, start) - start, min(high, end) - start))
        runs, edges = [], sorted(cuts)
        for low, high in zip(edges, edges[1:], strict=False):
            names = [cell.style] if cell.style else []
            names += [style for a, b, style in spans if a <= start + low < b and low < len(piece)]
            runs.append((text[low:high], "+".join(names) or None))
        lines.append([pad, *runs, pad])
    return lines


def _title_lines(title: str, width: int) -> list[str]:
    lines = []
    for start, end in _pieces(title, width):
        piece = title[start:end].rstrip()
        left = (width - len(piece)) // 2
        lines.append((" " * left + piece).ljust(width))
    return lines


def _frame(console: Out) -> tuple[Frame, int] | None:
    """The box characters and the width rich would use on `console`, or None when rich must draw."""
    if isinstance(console, Terminal):
        if console.direct:  # no legacy Windows console and a UTF encoding: rich keeps the box as it is
            return Frame(HEAVY_HEAD), console.width
        console = console.rich()
    if console.record or console.is_jupyter or console.legacy_windows:
        return None
    from rich.box import HEAVY_HEAD as BOX

    return Frame(str(BOX.substitute(console.options, safe=console.safe_box))), console.options.max_width


def _layout(console: Out, title: str, headers: list[str], rows: list[list[Cell]],
            justify: list[str]) -> list[list[Run]] | None:
    """Every line of the table as runs of text and style, or None when rich must draw it."""
    framed = _frame(console)
    if framed is None:
        return None
    frame, max_width = framed
    # rich reads a title given as text as markup (and :emoji: codes): only a title without either here.
    if not rows or not simple(title) or "\n" in title or "[" in title or _EMOJI_CODE.search(title):
        return None
    cells = [[_styled(cell) for cell in row] for row in [headers, *rows]]
    if not all(simple(cell.plain) for row in cells for cell in row):
        return None
    columns = [[cell.plain for cell in column] for column in zip(*cells, strict=True)]
    table_width_max = max_width - (2 + len(headers) - 1)  # the edges and dividers
    widths = column_widths(columns, table_width_max)
    if min(widths) < 2 * PADDING + 1:
        return None
    table_width = sum(widths) + 2 + len(headers) - 1
    out: list[list[Run]] = [[(line, "table.title")] for line in _title_lines(title, table_width)]
    out.append([(frame.get_top(widths), None)])
    for index, row in enumerate(cells):
        laid = [_cell_lines(cell, width, how) for cell, width, how in zip(row, widths, justify, strict=True)]
        height = max(map(len, laid))
        for lines, width in zip(laid, widths, strict=True):
            blank = [[(" " * width, None)]] * (height - len(lines))
            lines[:] = blank + lines if index == 0 else lines + blank  # headers sit at the bottom
        if index == 0:
            left, divider, right = frame.head_left, frame.head_vertical, frame.head_right
            for lines in laid:  # the header style covers a header cell whole, its padding too
                lines[:] = [[(text, "+".join(filter(None, ("table.header", style))))
                             for text, style in line] for line in lines]
        elif index == len(rows):
            left, divider, right = frame.foot_left, frame.foot_vertical, frame.foot_right
        else:
            left, divider, right = frame.mid_left, frame.mid_vertical, frame.mid_right
        for parts in zip(*laid, strict=True):
            line: list[Run] = [(left, None)]
            for number, part in enumerate(parts):
                line += ([(divider, None)] if number else []) + part
            out.append(line + [(right, None)])
        if index == 0:
            out.append([(frame.get_head_row(widths), None)])
    out.append([(frame.get_bottom(widths), None)])
    return out


def plain_table(console: Out, title: str, headers: list[str], rows: list[list[str]],
                justify: list[str] | None = None) -> str | None:
    """The table rich would print on `console` when it prints no style, or None when rich must draw it.

    Cells are text as it is (never markup); `justify` gives each column's ("left" or "right").
    """
    if console.color_system is not None:
        return None
    lines = _layout(console, title, headers, rows, justify or ["left"] * len(headers))
    return None if lines is None else StyledTable(lines).text()


class StyledTable:
    """A table printed as rich prints its Table, styles included: the same segments, the same bytes.

    `table()` gives one when it can lay the table out itself (left-justified columns, `Styled` cells,
    rich's default title and header styles), else None (draw it with rich's Table).
    """

    def __init__(self, lines: list[list[Run]]) -> None:
        self.lines = lines

    @classmethod
    def table(cls, console: Out, title: str, headers: list[str],
              rows: list[list[Cell]]) -> StyledTable | None:
        lines = _layout(console, title, headers, rows, ["left"] * len(headers))
        return None if lines is None else cls(lines)

    def text(self) -> str:
        """The table without styles (what a console without colour prints), lines joined by newlines."""
        return "\n".join("".join(text for text, _ in line) for line in self.lines)

    def print(self, console: Out) -> None:
        """Print the table on `console`: written directly on a Terminal that can, else by rich."""
        if not write_runs(console, self.lines):
            as_rich(console).print(self)

    def __rich_console__(self, console: Console, options):
        from rich.segment import Segment
        from rich.style import Style

        styles: dict[str, Style] = {}

        def style(names: str) -> Style:
            if names not in styles:
                styles[names] = Style.combine(console.get_style(name) for name in names.split("+"))
            return styles[names]

        for line in self.lines:
            plain = ""  # unstyled runs print no escape codes: one segment for each stretch of them
            for text, names in line:
                if names is None:
                    plain += text
                    continue
                if plain:
                    yield Segment(plain)
                    plain = ""
                yield Segment(text, style(names))
            yield Segment(plain + "\n")
