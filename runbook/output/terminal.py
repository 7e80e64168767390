"""Where output goes: a terminal, printed by rich, or anything else, written as plain text.

On a terminal rich is the right tool (colour, tables wrapped to its width).
Off one (a pipe, a file, a CI log) nothing needs it: text is written as it
is and tables take our own plain layout (table.py), so `./rb verify | cat`
and a no-op `./rb deploy` in CI never import rich.
"""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def is_terminal(file: IO[str]) -> bool:
    """A terminal, or output that FORCE_COLOR asks to treat as one (CI logs that show colour)."""
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return file.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


class Plain:
    """Output that is not a terminal: text written as it is, no escape codes, nothing of rich."""

    is_terminal = False

    def __init__(self, file: IO[str] | None = None, *, stderr: bool = False) -> None:
        self._file = file
        self.stderr = stderr

    @property
    def file(self) -> IO[str]:
        # Looked up at each write, as rich does: the stream may have been replaced since (tests capture it).
        return self._file or (sys.stderr if self.stderr else sys.stdout)

    def write(self, text: str) -> None:
        """Write and flush (progress shows as it happens); a reader gone (`| head`) ends the command."""
        try:
            self.file.write(text)
            self.file.flush()
        except BrokenPipeError:
            # As rich does: later writes (and the interpreter's last flush) go nowhere, exit 1.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(1) from None


def choose_console(file: IO[str] | None = None, *, stderr: bool = False) -> Console | Plain:
    """rich's Console on a terminal (rich decides colour, NO_COLOR included, and width); else Plain."""
    plain = Plain(file, stderr=stderr)
    if not is_terminal(plain.file):
        return plain
    from rich.console import Console  # only on a terminal

    return Console(file=file, stderr=stderr, force_terminal=True)
