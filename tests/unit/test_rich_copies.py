"""The pieces of rich that plain_table.py copies (runbook/output/rich_copies.py) are rich's, piece by piece.

The tables are compared whole with rich's in test_plain_table.py and
test_terminal.py; here each copy meets its original on more inputs than
those tables hold: every box rule, every character called one cell wide,
word division of random lines at every width.
"""

from __future__ import annotations

import random
import unicodedata

from rich import box
from rich._wrap import divide_line as rich_divide_line
from rich.cells import get_character_cell_size

from runbook.output.rich_copies import _NARROW, _ONE_CELL, HEAVY_HEAD, Frame, divide_line, simple


def test_the_box_is_rich_s_heavy_head_and_draws_its_rules():
    assert HEAVY_HEAD == str(box.HEAVY_HEAD)
    frame = Frame(HEAVY_HEAD)
    for widths in ([1], [3, 5], [12, 1, 40, 7], [2] * 9):
        assert frame.get_top(widths) == box.HEAVY_HEAD.get_top(widths)
        assert frame.get_head_row(widths) == box.HEAVY_HEAD.get_row(widths, "head", edge=True)
        assert frame.get_bottom(widths) == box.HEAVY_HEAD.get_bottom(widths)
    for name in ("head_left", "head_vertical", "head_right", "mid_left", "mid_vertical", "mid_right",
                 "foot_left", "foot_vertical", "foot_right"):
        assert getattr(frame, name) == getattr(box.HEAVY_HEAD, name), name
    assert Frame(str(box.ASCII)).get_top([2, 3]) == box.ASCII.get_top([2, 3])


def test_every_character_taken_as_one_cell_is_one_cell_for_rich():
    checked = 0
    for low, high in _ONE_CELL:
        for code in range(low, high + 1):
            char = chr(code)
            if unicodedata.category(char) not in _NARROW:
                assert get_character_cell_size(char) == 1, hex(code)
                assert simple(char)
                checked += 1
    assert checked > 800
    assert not simple("中") and not simple("🎉") and not simple("e\u0301")  # rich's table decides beyond


def test_word_division_is_rich_s():
    rng = random.Random(7)
    words = ["a", "haproxy", "x" * 23, "configuración", "«sitio»", " ", "  ", "\u00a0", "—", "y" * 61]
    for _ in range(400):
        line = "".join(rng.choice(words) + rng.choice(["", " ", "  "]) for _ in range(rng.randint(0, 12)))
        for width in (1, 2, 3, 7, 10, 22, 40, 80):
            assert divide_line(line, width) == rich_divide_line(line, width, fold=True), (line, width)
