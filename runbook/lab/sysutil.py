"""Small helpers around processes, namespaces, mounts and cgroups.

Teardown must work from any state (a crashed or half-finished `lab.up`), so
these helpers find what exists on the system instead of trusting a record.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from .errors import LabError


def run(argv: list[str], what: str, *, input: str | None = None, check: bool = True) -> str:
    proc = subprocess.run(argv, input=input, capture_output=True, text=True)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-600:]
        raise LabError(f"no se pudo {what}: {detail}")
    return proc.stdout


def ip_batch(commands: list[str], what: str, netns: str | None = None) -> None:
    """Many `ip` commands in one process (one fork instead of dozens)."""
    if not commands:
        return
    argv = ["ip", *(["-n", netns] if netns else []), "-batch", "-"]
    run(argv, what, input="\n".join(commands) + "\n")


def netns_list() -> list[str]:
    # `ip netns list` prints "name (id: N)"; the first word is the name.
    out = run(["ip", "netns", "list"], "listar los espacios de red", check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_pids(netns: str) -> list[int]:
    out = run(["ip", "netns", "pids", netns], "listar procesos", check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def alive(pid: int) -> bool:
    """True if the process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def pids_matching(predicate) -> list[int]:
    result = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and predicate(cmdline(int(entry))):
            result.append(int(entry))
    return result


def kill_all(pids: set[int], timeout: float = 5.0) -> list[int]:
    """SIGKILL the processes and wait until they are gone; return survivors."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    remaining = {p for p in pids if alive(p)}
    while remaining and time.monotonic() < deadline:
        time.sleep(0.02)
        remaining = {p for p in remaining if alive(p)}
    _reap(pids)
    return sorted(remaining)


def _reap(pids: set[int]) -> None:
    # Nodes and backends started by this very process (e.g. a pytest session)
    # are our children: reap those (only those) so they do not stay zombies.
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def mounts_under(prefix: Path) -> list[str]:
    """Mount points at or below prefix, deepest first (unmount order)."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == str(prefix) or point.startswith(str(prefix).rstrip("/") + "/"):
            points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def unmount(point: str) -> None:
    proc = subprocess.run(["umount", point], capture_output=True, text=True)
    if proc.returncode != 0:
        # Busy (a process we could not see still holds it): detach it lazily
        # so nothing stays visible; the kernel frees it when released.
        subprocess.run(["umount", "-l", point], capture_output=True)


# --------------------------------------------------------------- cgroups
# PID 1 here is not systemd, so nothing gives each container its own cgroup:
# two containers in one cgroup would share every unit's cgroup (stopping
# keepalived on one node would wait for the other node's keepalived to exit).
# Each node's nspawn is therefore moved into its own cgroup before exec.


def cgroup_roots() -> list[Path]:
    """The hierarchies systemd cares about: cgroup2 and the v1 name=systemd."""
    roots = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _dev, point, fstype, opts, *_ = line.split()
        if fstype == "cgroup2" or (fstype == "cgroup" and "name=systemd" in opts.split(",")):
            roots.append(Path(point))
    return roots


def cgroup_create(relative: str) -> list[Path]:
    made = []
    for root in cgroup_roots():
        path = root / relative
        try:
            path.mkdir(parents=True, exist_ok=True)
            made.append(path)
        except OSError:
            pass  # read-only hierarchy: the node still boots, sharing the cgroup
    return made


def cgroup_pids(relative: str) -> set[int]:
    pids: set[int] = set()
    for root in cgroup_roots():
        base = root / relative
        if not base.is_dir():
            continue
        for procs in base.rglob("cgroup.procs"):
            try:
                pids.update(int(p) for p in procs.read_text().split())
            except OSError:
                pass
    return pids


def cgroup_remove(relative: str) -> None:
    for root in cgroup_roots():
        base = root / relative
        if not base.is_dir():
            continue
        dirs = sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: len(p.parts),
                      reverse=True)
        for d in [*dirs, base]:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)  # processes just killed leave it a moment later
