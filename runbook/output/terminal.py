"""What rich's Console decides for a plain command's output, without importing rich.console.

`./rb verify` and a no-op `./rb deploy` print lines and a table whose
layout runbook lays out itself (plain_table.py, verbatim.py); of rich they
only need its decisions: is the output a terminal, how wide is it, which
colour system (if any) it speaks, and how a style is written as escape
codes. Importing rich.console for that costs ~147 million instructions
(~60 ms of CPU here), more than the table itself. A `Terminal` makes the
same decisions with the same rules, copied from the installed rich's
console.py (rich 15: TTY_COMPATIBLE, FORCE_COLOR, NO_COLOR, TERM dumb or
unknown, COLORTERM, TERM's "-256color", COLUMNS and LINES), and writes
styled runs as rich's Style.render writes them. tests/unit/test_terminal.py
compares both over a matrix of environments, on a pipe and on a pty.
Copies of rich's private rules: pinned rich<16 (pyproject.toml).

What it cannot reproduce exactly goes to rich: `rich()` gives the Console
built with the very same arguments (created once, on first use), for
Windows, Jupyter or IDLE, an output encoding that is not UTF (rich would
swap the box characters), a style outside the few it knows (`sgr` gives
None), rich's Table and Live display.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

WINDOWS = sys.platform == "win32"
COLOR_SYSTEMS = ("standard", "256", "truecolor", "windows")  # rich's names (Console.color_system)
_TERM_COLORS = {"kitty": "256", "256color": "256", "16color": "standard"}  # rich's _TERM_COLORS

# The styles these commands use, as rich's default theme and Style.parse read them.
_ATTRIBUTES = {"bold": 0, "dim": 1, "italic": 2, "underline": 3}  # bit order: the order of the codes
_ATTRIBUTE_CODES = ("1", "2", "3", "4")
_THEME = {"table.title": "italic", "table.header": "bold"}
_COLOURS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")


def _std_streams() -> tuple[int, int, int]:
    """rich's _STD_STREAMS: the file numbers of the interpreter's own stdin, stdout and stderr."""
    numbers = []
    for stream, default in ((sys.__stdin__, 0), (sys.__stdout__, 1), (sys.__stderr__, 2)):
        try:
            numbers.append(stream.fileno())  # type: ignore[union-attr]
        except Exception:  # rich's own guard: no such stream, or one without a file number
            numbers.append(default)
    return numbers[0], numbers[1], numbers[2]


class Terminal:
    """An output stream as rich's Console(**kwargs) sees it: terminal or not, width, colour system.

    Takes the arguments of rich's Console that these commands use, with the same meaning.
    """

    def __init__(self, *, file: IO[str] | None = None, stderr: bool = False, width: int | None = None,
                 force_terminal: bool | None = None, color_system: str | None = "auto",
                 environ: Mapping[str, str] | None = None) -> None:
        self._file = file
        self.stderr = stderr
        self._force_terminal = force_terminal
        self.environ = os.environ if environ is None else environ
        self._kwargs: dict[str, Any] = {"file": file, "stderr": stderr, "width": width,
                                        "force_terminal": force_terminal, "color_system": color_system}
        if environ is not None:
            self._kwargs["_environ"] = environ
        self._rich: Console | None = None
        if width is None:
            columns = self.environ.get("COLUMNS")
            if columns is not None and columns.isdigit():
                width = int(columns)
        self._width = width
        lines = self.environ.get("LINES")
        self._height = int(lines) if lines is not None and lines.isdigit() else None
        if color_system is None:
            self.color_system: str | None = None
        elif color_system == "auto":
            self.color_system = self._detect_color_system()
        elif color_system in COLOR_SYSTEMS:
            self.color_system = color_system
        else:
            raise ValueError(f"unknown colour system {color_system!r}")
        self.no_color = self.environ.get("NO_COLOR", "") != ""

    # -- rich's decisions (console.py, rich 15), in its order ------------------------------------

    @property
    def file(self) -> IO[str]:
        file = self._file or (sys.stderr if self.stderr else sys.stdout)
        return getattr(file, "rich_proxied_file", file)

    @property
    def is_terminal(self) -> bool:
        if self._force_terminal is not None:
            return self._force_terminal
        if getattr(sys.stdin, "__module__", "").startswith("idlelib"):
            return False
        tty_compatible = self.environ.get("TTY_COMPATIBLE", "")
        if tty_compatible == "0":
            return False
        if tty_compatible == "1":
            return True
        force_color = self.environ.get("FORCE_COLOR")
        if force_color is not None:
            return force_color != ""
        isatty = getattr(self.file, "isatty", None)
        try:
            return False if isatty is None else isatty()
        except ValueError:  # a closed file
            return False

    @property
    def is_dumb_terminal(self) -> bool:
        return self.is_terminal and self.environ.get("TERM", "").lower() in ("dumb", "unknown")

    def _detect_color_system(self) -> str | None:
        if not self.is_terminal or self.is_dumb_terminal:
            return None
        if self.environ.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
            return "truecolor"
        _name, _hyphen, colors = self.environ.get("TERM", "").strip().lower().rpartition("-")
        return _TERM_COLORS.get(colors, "standard")

    @property
    def width(self) -> int:
        if self._width is not None and self._height is not None:
            return self._width
        if self.is_dumb_terminal:
            return 80
        width = None
        for number in _std_streams():
            try:
                width, _height = os.get_terminal_size(number)
            except (AttributeError, ValueError, OSError):  # not a terminal
                pass
            else:
                break
        columns = self.environ.get("COLUMNS")
        if columns is not None and columns.isdigit():
            width = int(columns)
        return (width or 80) if self._width is None else self._width

    @property
    def encoding(self) -> str:
        return (getattr(self.file, "encoding", "utf-8") or "utf-8").lower()

    @property
    def direct(self) -> bool:
        """Whether this module writes what rich would; else everything goes through `rich()`."""
        return (not WINDOWS and self.color_system != "windows" and self.encoding.startswith("utf")
                and not _in_ipython() and not getattr(sys.stdin, "__module__", "").startswith("idlelib"))

    def rich(self) -> Console:
        """rich's Console with the same arguments: the one that decides what this class copies."""
        if self._rich is None:
            from rich.console import Console

            self._rich = Console(**self._kwargs)
        return self._rich

    # -- writing -------------------------------------------------------------------------------

    def sgr(self, names: str) -> str | None:
        """The escape codes rich writes before a run in style `names` ("+"-joined, as plain_table joins
        them; each a style definition like "bold red" or a name of rich's default theme), "" for none,
        or None for a style this module does not know (rich must write it).
        """
        if self.color_system is None:
            return ""
        attributes = 0
        colour = None
        for name in names.split("+"):
            for word in _THEME.get(name, name).lower().split():
                if word in _ATTRIBUTES:
                    attributes |= 1 << _ATTRIBUTES[word]
                elif word in _COLOURS:
                    colour = str(30 + _COLOURS.index(word))  # a standard colour: the same in every system
                else:
                    return None
        codes = [code for bit, code in enumerate(_ATTRIBUTE_CODES) if attributes & (1 << bit)]
        if colour is not None and not self.no_color:
            codes.append(colour)
        return f"\x1b[{';'.join(codes)}m" if codes else ""

    def render(self, lines: list[list[tuple[str, str | None]]]) -> str | None:
        """Lines of (text, style) runs as rich writes them, or None if a style is beyond `sgr`."""
        out = []
        for line in lines:
            for text, names in line:
                if not names or not text:
                    out.append(text)
                    continue
                codes = self.sgr(names)
                if codes is None:
                    return None
                out.append(f"{codes}{text}\x1b[0m" if codes else text)
            out.append("\n")
        return "".join(out)

    def write(self, text: str) -> None:
        """One write and a flush, as rich's Console writes each print; a closed pipe ends as rich ends it."""
        try:
            self.file.write(text)
            self.file.flush()
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(1) from None


def _in_ipython() -> bool:
    """rich's _is_jupyter looks for IPython's `get_ipython`; under IPython rich decides, not this module."""
    import builtins

    return hasattr(builtins, "get_ipython")


def as_rich(console: Console | Terminal) -> Console:
    """The rich Console to hand what only rich draws (its Table, its Live display)."""
    return console.rich() if isinstance(console, Terminal) else console


def write_runs(console: Console | Terminal, lines: list[list[tuple[str, str | None]]]) -> bool:
    """Write lines of (text, style) runs on a Terminal that writes what rich would; False if it does not."""
    if not isinstance(console, Terminal) or not console.direct:
        return False
    text = console.render(lines)
    if text is None:
        return False
    console.write(text)
    return True
