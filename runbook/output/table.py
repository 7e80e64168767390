"""Our plain-text table, for output that is not a terminal (pipes, files, CI logs, `verify --output`).

A title, a blank line, the headers underlined with dashes, then the rows,
columns two spaces apart. Each column is as wide as its widest line but
the last, which is never padded (its dashes are as long as its header):
a long detail runs on to the right. Cells are data and are printed whole:
never wrapped, never cut, whatever the width of whoever reads them; a cell
of several lines continues on the lines below, in its own column. Widths
count characters, so a character two cells wide may push its row out of
line, never cut it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

GAP = "  "


def plain_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]],
                right: Collection[int] = ()) -> str:
    """The table as text, without a final newline; the columns numbered in `right` are right-aligned."""
    cells = [[cell.split("\n") for cell in row] for row in [headers, *rows]]
    widths = [max(len(line) for row in cells for line in row[column]) for column in range(len(headers))]
    rule = [["-" * width] for width in widths[:-1]] + [["-" * max(len(headers[-1]), 1)]]
    lines = [title, ""]
    for row in [cells[0], rule, *cells[1:]]:
        for depth in range(max(map(len, row))):
            texts = [cell[depth] if depth < len(cell) else "" for cell in row]
            lines.append(_line(texts, widths, right))
    return "\n".join(lines)


def _line(texts: list[str], widths: list[int], right: Collection[int]) -> str:
    """One line of a row: padded to the columns, without trailing spaces after its last text."""
    last = max((column for column, text in enumerate(texts) if text), default=-1)
    parts = []
    for column, (text, width) in enumerate(zip(texts[:last + 1], widths, strict=False)):
        if column in right:
            parts.append(text.rjust(width))
        else:
            parts.append(text.ljust(width) if column < last else text)
    return GAP.join(parts)
