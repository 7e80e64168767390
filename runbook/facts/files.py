"""Facts about files: state (hash, mode, owner, copies), content, existence."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ..copies import copy_paths
from .base import Fact, FactsError, Probe

# The file is read by sha256sum, never printed; the copies deploy keeps of it
# (backup, temporary file) are listed after it, path last since it may hold spaces.
_FILE_STATE = (
    'f=$1; shift; if [ -f "$f" ]; then '
    "printf 'regular %s %s\\n' \"$(sha256sum < \"$f\" | cut -d' ' -f1)\" "
    "\"$(stat -c '%a %U %G' -- \"$f\")\"; "
    "elif [ -e \"$f\" ]; then echo other; else echo absent; fi; "
    "for c in \"$@\"; do if [ -e \"$c\" ]; then stat -c 'copy %a %U %G %n' -- \"$c\"; fi; done"
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
class FileState(Fact[FileFact]):
    path: str

    @property
    def key(self) -> str:
        return f"estado:{self.path}"

    def command(self) -> str:
        args = " ".join(shlex.quote(p) for p in (self.path, *copy_paths(self.path)))
        return f"bash -c {shlex.quote(_FILE_STATE)} rb-file {args}"

    def parse(self, probe: Probe) -> FileFact:
        lines = probe.output.splitlines()
        try:
            fact = _file_line(lines[0] if lines else "")
            copies = tuple(_copy_line(line) for line in lines[1:])
        except ValueError:
            raise FactsError(
                f"respuesta no válida sobre {self.path} (código {probe.exit_code}): {probe.output[:200]!r}"
            ) from None
        return FileFact(**{**fact.__dict__, "copies": copies})


def _file_line(line: str) -> FileFact:
    if line == "absent":
        return FileFact(exists=False)
    if line == "other":
        return FileFact(exists=True, not_regular=True)
    kind, sha, mode, owner, group = line.split(" ")
    if kind != "regular" or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise ValueError(line)
    return FileFact(exists=True, sha256=sha, mode=int(mode, 8), owner=owner, group=group)


def _copy_line(line: str) -> tuple[str, int, str, str]:
    kind, mode, owner, group, path = line.split(" ", 4)
    if kind != "copy":
        raise ValueError(line)
    return path, int(mode, 8), owner, group


@dataclass(frozen=True)
class FileContent(Fact["str | None"]):
    """The file's text as it is on the node; None when it is absent, not a regular file or unreadable."""

    path: str

    @property
    def key(self) -> str:
        return f"fichero:{self.path}"

    def command(self) -> str:
        quoted = shlex.quote(self.path)
        return f"[ -f {quoted} ] && cat -- {quoted}"

    def parse(self, probe: Probe) -> str | None:
        return probe.output if probe.exit_code == 0 else None


@dataclass(frozen=True)
class PathExists(Fact[bool]):
    """A step's `when`: the path exists (any kind)."""

    path: str

    @property
    def key(self) -> str:
        return f"existe:{self.path}"

    def command(self) -> str:
        return f"test -e {shlex.quote(self.path)}"

    def parse(self, probe: Probe) -> bool:
        return probe.exit_code == 0
