"""Facts about files: state (hash, mode, owner, copies), content, existence."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ..plan.copies import copy_paths
from .base import Fact, FactError, Probe, T

# The file is read by sha256sum, never printed. Its kind comes first
# (sha256sum's `HASH  -` for a regular file, else `other` or `absent`), then
# one `stat` line (`mode owner group path`) for the file itself when regular
# and for each copy deploy keeps of it (backup, temporary file) that exists,
# path last since it may hold spaces. Tests are bash builtins: a regular file
# costs two processes (sha256sum, stat), an absent one with no copies none.
_FILE_STATE = (
    'set --; for c in {copies}; do if [ -e "$c" ]; then set -- "$@" "$c"; fi; done; '
    'if [ -f {path} ]; then sha256sum <{path} && set -- {path} "$@"; '
    "elif [ -e {path} ]; then echo other; else echo absent; fi; "
    "if [ $# -gt 0 ]; then stat -c '%a %U %G %n' -- \"$@\"; fi"
)


@dataclass(frozen=True)
class FileFact:
    exists: bool
    sha256: str | None = None
    mode: int | None = None
    owner: str | None = None
    group: str | None = None
    not_regular: bool = False
    copies: tuple[tuple[str, int, str, str], ...] = ()  # (path, mode, owner, group) of backup/temp

    @property
    def permissions(self) -> str:
        """`640 root haproxy`, as `stat -c '%a %U %G'` prints it."""
        return f"{self.mode:o} {self.owner} {self.group}"


@dataclass(frozen=True)
class _PathFact(Fact[T]):
    """A question about one path that reads local state only: it runs in the shared subshell."""

    quick = True
    path: str


@dataclass(frozen=True)
class FileState(_PathFact[FileFact]):
    @property
    def key(self) -> str:
        return f"estado:{self.path}"

    def command(self) -> str:
        copies = " ".join(shlex.quote(p) for p in copy_paths(self.path))
        return _FILE_STATE.format(path=shlex.quote(self.path), copies=copies)

    def parse(self, probe: Probe) -> FileFact:
        lines = probe.output.splitlines()
        try:
            fact, rest = _file_lines(lines, self.path)
            copies = tuple(_stat_line(line) for line in rest)
        except ValueError:
            raise FactError(
                f"respuesta no válida sobre {self.path} (código {probe.exit_code}): {probe.output[:200]!r}"
            ) from None
        return FileFact(**{**fact.__dict__, "copies": copies})


def _file_lines(lines: list[str], path: str) -> tuple[FileFact, list[str]]:
    """The file's own state from the first line(s); the copies' stat lines are the rest."""
    first = lines[0] if lines else ""
    if first == "absent":
        return FileFact(exists=False), lines[1:]
    if first == "other":
        return FileFact(exists=True, not_regular=True), lines[1:]
    sha = re.fullmatch(r"([0-9a-f]{64})  -", first)
    if sha is None or len(lines) < 2:
        raise ValueError(first)
    _, mode, owner, group = _stat_line(lines[1], path)
    return FileFact(exists=True, sha256=sha.group(1), mode=mode, owner=owner, group=group), lines[2:]


def _stat_line(line: str, path: str | None = None) -> tuple[str, int, str, str]:
    """`640 root haproxy /etc/haproxy/haproxy.cfg` -> (path, mode, owner, group)."""
    mode, owner, group, name = line.split(" ", 3)
    if path is not None and name != path:
        raise ValueError(line)
    return name, int(mode, 8), owner, group


@dataclass(frozen=True)
class FileContent(_PathFact["str | None"]):
    """The file's text as it is on the node; None when it is absent, not a regular file or unreadable."""

    @property
    def key(self) -> str:
        return f"fichero:{self.path}"

    def command(self) -> str:
        quoted = shlex.quote(self.path)
        return f"[ -f {quoted} ] && cat -- {quoted}"

    def parse(self, probe: Probe) -> str | None:
        return probe.output if probe.exit_code == 0 else None


@dataclass(frozen=True)
class PathExists(_PathFact[bool]):
    """A step's `when`: the path exists (any kind)."""

    @property
    def key(self) -> str:
        return f"existe:{self.path}"

    def command(self) -> str:
        return f"test -e {shlex.quote(self.path)}"

    def parse(self, probe: Probe) -> bool:
        return probe.exit_code == 0
