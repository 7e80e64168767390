"""Printing data exactly as it is: what `./rb plan` shows is byte for byte what runs.

Rich reads `[...]` in a string as markup, expands tabs, and wraps or crops
long lines at the terminal width; any of those would make a printed command
differ from the one deploy runs. A `Line` is a renderable made of segments
written as they are: labels may carry a style (colour only wraps around
text, never changes it), data is never interpreted, and printed with
`soft_wrap=True` nothing is wrapped or cut, whatever the width. On `Plain`
output (not a terminal: terminal.py) the line's text is written without rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .terminal import Plain

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

Part = str | tuple[str, str]  # data, or (label, style)


class Line:
    """One output line: plain strings are data (verbatim), (text, style) pairs are styled labels."""

    def __init__(self, *parts: Part) -> None:
        self.parts = parts

    @property
    def text(self) -> str:
        """The line without styles and without its end: what Plain output writes."""
        return "".join(part[0] if isinstance(part, tuple) else part for part in self.parts)

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


def show(console: Console | Plain, line: Line) -> None:
    """Print a Line: no markup, no highlighting, no wrapping, no cropping."""
    if isinstance(console, Plain):
        console.write(line.text + "\n")
    else:
        console.print(line, soft_wrap=True)


def emit(console: Console | Plain, *parts: Part) -> None:
    """Print one Line made of these parts."""
    show(console, Line(*parts))
