"""Pure parsers for what the probes print on a node.

Each one reads the real tool's own output (systemctl show, HAProxy's
`show stat` CSV, keepalived's data dump, grep over sysctl files, `ip -o
addr`), so a check judges what the daemon itself reports, not a guess from
the process list.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

# ------------------------------------------------------------------ systemctl


def systemctl_show(text: str) -> dict[str, dict[str, str]]:
    """`systemctl show -p Id,... UNIT...` -> {unit name without .service: {Property: value}}."""
    units: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if "Id" in props:
            units[props["Id"].removesuffix(".service")] = props
    return units


# ------------------------------------------------------------------ HAProxy


@dataclass(frozen=True)
class ServerStat:
    proxy: str
    server: str
    status: str  # UP, DOWN, MAINT, "UP 1/3", "no check"...
    check_status: str  # e.g. L7OK, L4CON, L4TOUT
    check_desc: str

    @property
    def up(self) -> bool:
        return self.status == "UP" or self.status.startswith("UP ")


def show_stat(text: str) -> list[ServerStat]:
    """HAProxy's `show stat` CSV (header starts with '# ') -> the server rows."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ValueError("la salida de «show stat» no tiene la cabecera CSV de HAProxy")
    reader = csv.DictReader(io.StringIO("\n".join([lines[0][2:], *lines[1:]])))
    rows = []
    for row in reader:
        if row.get("svname") in ("FRONTEND", "BACKEND") or not row.get("svname"):
            continue
        rows.append(
            ServerStat(
                proxy=row.get("pxname", ""),
                server=row.get("svname", ""),
                status=row.get("status", ""),
                check_status=row.get("check_status", ""),
                check_desc=row.get("check_desc", ""),
            )
        )
    return rows


def haproxy_stats_socket(config: str) -> str | None:
    """The admin socket path declared in haproxy.cfg (`stats socket PATH ...`)."""
    match = re.search(r"^\s*stats\s+socket\s+(\S+)", config, re.MULTILINE)
    return match.group(1) if match else None


# ------------------------------------------------------------------ keepalived


@dataclass
class VrrpScript:
    name: str
    status: str  # GOOD, BAD, INIT, INIT/FAILED (keepalived's own words)
    command: str = ""


@dataclass
class VrrpInstance:
    name: str
    state: str  # MASTER, BACKUP, FAULT, INIT, STOP
    tracked_scripts: list[str] = field(default_factory=list)
    priority: int | None = None
    effective_priority: int | None = None


@dataclass
class KeepalivedData:
    instances: dict[str, VrrpInstance]
    scripts: dict[str, VrrpScript]


def keepalived_data(text: str) -> KeepalivedData:
    """keepalived's data dump (SIGUSR1 -> /tmp/keepalived.data), VRRP part."""
    instances: dict[str, VrrpInstance] = {}
    scripts: dict[str, VrrpScript] = {}
    section = ""
    current_instance: VrrpInstance | None = None
    current_script: VrrpScript | None = None
    in_tracked = False
    for raw in text.splitlines():
        header = re.match(r"^-+<\s*(.+?)\s*>-+$", raw.strip())
        if header:
            section, current_instance, current_script, in_tracked = header.group(1), None, None, False
            continue
        line = raw.strip()
        if section == "VRRP Topology":
            match = re.match(r"^VRRP Instance = (\S+)", line)
            if match and raw.startswith(" ") and not raw.startswith("  "):
                current_instance = instances.setdefault(match.group(1), VrrpInstance(match.group(1), ""))
                in_tracked = False
                continue
            if current_instance is None:
                continue
            indent = len(raw) - len(raw.lstrip())
            if in_tracked and indent >= 5:
                current_instance.tracked_scripts.append(line.split()[0])
                continue
            in_tracked = False
            if line.startswith("Tracked scripts"):
                in_tracked = True
            elif line.startswith("State = "):
                current_instance.state = line.split("=", 1)[1].strip()
            elif line.startswith("Priority = "):
                current_instance.priority = _int(line)
            elif line.startswith("Effective priority = "):
                current_instance.effective_priority = _int(line)
        elif section == "VRRP Scripts":
            match = re.match(r"^VRRP Script = (\S+)", line)
            if match:
                current_script = scripts.setdefault(match.group(1), VrrpScript(match.group(1), ""))
            elif current_script is not None and line.startswith("Status = "):
                current_script.status = line.split("=", 1)[1].strip()
            elif current_script is not None and line.startswith("Command = "):
                current_script.command = line.split("=", 1)[1].strip()
    return KeepalivedData(instances=instances, scripts=scripts)


def _int(line: str) -> int | None:
    try:
        return int(line.split("=", 1)[1].strip())
    except ValueError:
        return None


def keepalived_config_names(config: str) -> tuple[list[str], list[str]]:
    """(vrrp_script names, vrrp_instance names) declared in a keepalived.conf."""
    scripts = re.findall(r"^\s*vrrp_script\s+(\S+)", config, re.MULTILINE)
    instances = re.findall(r"^\s*vrrp_instance\s+(\S+)", config, re.MULTILINE)
    return scripts, instances


# ------------------------------------------------------------------ sysctl

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
    return f"grep -HnE '{pattern}' {globs} {SYSCTL_CONF} 2>/dev/null; true"


# ------------------------------------------------------------------ ip


def ipv4_addresses(text: str) -> dict[str, list[str]]:
    """`ip -4 -o addr show` -> {interface: ["198.51.100.110/24", ...]}."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] == "inet":
            out.setdefault(parts[1], []).append(parts[3])
    return out
