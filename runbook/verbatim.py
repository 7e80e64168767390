"""Printing data exactly as it is: what `./rb plan` shows is byte for byte what runs.

Rich reads `[...]` in a string as markup, expands tabs, and wraps or crops
long lines at the terminal width; any of those would make a printed command
differ from the one deploy runs. A `Line` is a renderable made of segments
written as they are: labels may carry a style (colour only wraps around
text, never changes it), data is never interpreted, and printed with
`soft_wrap=True` nothing is wrapped or cut, whatever the width.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style

Part = str | tuple[str, str]  # data, or (label, style)


class Line:
    """One output line: plain strings are data (verbatim), (text, style) pairs are styled labels."""

    def __init__(self, *parts: Part) -> None:
        self.parts = parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for part in self.parts:
            if isinstance(part, tuple):
                text, style = part
                yield Segment(text, Style.parse(style) if style else None)
            else:
                yield Segment(part)
        yield Segment.line()


def emit(console: Console, *parts: Part) -> None:
    """Print one Line: no markup, no highlighting, no wrapping, no cropping."""
    console.print(Line(*parts), soft_wrap=True)
