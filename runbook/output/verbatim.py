"""Printing data exactly as it is: what `./rb plan` shows is byte for byte what runs.

Rich reads `[...]` in a string as markup, expands tabs, and wraps or crops
long lines at the terminal width; any of those would make a printed command
differ from the one deploy runs. A `Line` is a renderable made of segments
written as they are: labels may carry a style (colour only wraps around
text, never changes it), data is never interpreted, and printed with
`soft_wrap=True` nothing is wrapped or cut, whatever the width. On a
`Terminal` (terminal.py) the same bytes are written without rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .terminal import Terminal, as_rich, write_runs

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

Part = str | tuple[str, str]  # data, or (label, style)


class Line:
    """One output line: plain strings are data (verbatim), (text, style) pairs are styled labels."""

    def __init__(self, *parts: Part) -> None:
        self.parts = parts

    def runs(self) -> list[tuple[str, str | None]]:
        """The line as (text, style) runs, without its end: what a Terminal writes."""
        return [part if isinstance(part, tuple) else (part, None) for part in self.parts]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment
        from rich.style import Style

        for part in self.parts:
            if isinstance(part, tuple):
                text, style = part
                yield Segment(text, Style.parse(style) if style else None)
            else:
                yield Segment(part)
        yield Segment.line()


def show(console: Console | Terminal, line: Line) -> None:
    """Print a Line: no markup, no highlighting, no wrapping, no cropping.

    A Terminal writes it itself (the bytes rich would write); a rich Console, or a Terminal that
    leaves it to rich, prints it with rich.
    """
    if not write_runs(console, [line.runs()]):
        as_rich(console).print(line, soft_wrap=True)


def emit(console: Console | Terminal, *parts: Part) -> None:
    """Print one Line made of these parts."""
    show(console, Line(*parts))
