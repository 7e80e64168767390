"""The persisted value of a kernel setting: which file wins at boot."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

from .base import Fact, Probe

# Where systemd-sysctl (and `sysctl --system`) read settings, most important
# first for files of the same name; /etc/sysctl.conf is read last of all.
SYSCTL_DIRS = (
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)
SYSCTL_CONF = "/etc/sysctl.conf"


@dataclass(frozen=True)
class SysctlSetting:
    value: str
    path: str
    line: int


def effective_sysctl(grep_output: str, key: str) -> SysctlSetting | None:
    """Which persisted value wins at boot, from `grep -Hn KEY` over the sysctl files.

    Files are applied in lexical order of their names; a name in /etc hides
    the same name in /run or /usr/lib; the last assignment wins.
    """
    by_file: dict[str, list[SysctlSetting]] = {}
    pattern = re.compile(r"^(/[^:]+):(\d+):\s*-?\s*([\w./-]+)\s*=\s*(\S*)\s*$")
    wanted = {key, key.replace(".", "/")}
    for line in grep_output.splitlines():
        match = pattern.match(line)
        if not match or match.group(3) not in wanted:
            continue
        path, number, _key, value = match.groups()
        by_file.setdefault(path, []).append(SysctlSetting(value, path, int(number)))
    chosen: dict[str, str] = {}  # file name -> path that wins for that name
    for directory in SYSCTL_DIRS:
        for path in by_file:
            pure = PurePosixPath(path)
            if str(pure.parent) == directory and pure.suffix == ".conf":
                chosen.setdefault(pure.name, path)
    order = [chosen[name] for name in sorted(chosen)]
    if SYSCTL_CONF in by_file and SYSCTL_CONF not in order:
        order.append(SYSCTL_CONF)
    last: SysctlSetting | None = None
    for path in order:
        last = by_file[path][-1]
    return last


def sysctl_grep_command(key: str) -> str:
    """The probe matching effective_sysctl(): every file that could set the key."""
    globs = " ".join(f"{d}/*.conf" for d in SYSCTL_DIRS)
    pattern = r"^[[:space:]]*-?[[:space:]]*" + key.replace(".", "[./]") + r"[[:space:]]*="
    return f"grep -HnE {shlex.quote(pattern)} {globs} {SYSCTL_CONF} 2>/dev/null; true"


@dataclass(frozen=True)
class PersistedSysctl(Fact["SysctlSetting | None"]):
    """The setting that wins at boot for `name`; None when no file sets it."""

    quick = True  # reads local state only: runs in the shared subshell

    name: str

    @property
    def key(self) -> str:
        return f"sysctl-persistente:{self.name}"

    def command(self) -> str:
        return sysctl_grep_command(self.name)

    def parse(self, probe: Probe) -> SysctlSetting | None:
        return effective_sysctl(probe.output, self.name)
