"""keepalived's own view of its VRRP instances and track scripts (its data dump)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .base import Fact, FactCommandError, Probe

# keepalived writes its state to /tmp/keepalived.data when sent its DATA
# signal (SIGUSR1, what `keepalived --signum=DATA` answers; asking it costs an
# exec of keepalived, ~14 ms of CPU). The file appears at once but is written
# in pieces: it is whole once no keepalived process holds it open (its VRRP
# child writes it). The daemon is found by its pid file, checked against
# /proc (a stale file names another process), else by systemd; the waiting
# is done with bash builtins (`read -t` on a pipe nobody writes as the
# sleep, `-ef` against /proc/PID/fd as the "still open?" test), so the fact
# costs two processes instead of a dozen. Debian's unit has no PrivateTmp.
KEEPALIVED_DATA_COMMAND = r"""
f=/tmp/keepalived.data pid= comm=
if [ -r /run/keepalived.pid ]; then read -r pid </run/keepalived.pid; fi
if [ -n "$pid" ]; then { read -r comm <"/proc/$pid/comm"; } 2>/dev/null; fi
if [ "$comm" != keepalived ]; then pid=$(systemctl show -p MainPID --value keepalived.service 2>/dev/null); fi
if [ -z "$pid" ] || [ "$pid" = 0 ]; then echo "keepalived no está en marcha"; exit 3; fi
rm -f "$f"
kill -s USR1 "$pid" || exit 4
exec {nap}<> <(:)
for i in {1..1500}; do
  read -r -t 0.002 -u "$nap"
  [ -s "$f" ] || continue
  kids= open=
  { read -r kids <"/proc/$pid/task/$pid/children"; } 2>/dev/null
  for p in "$pid" $kids; do
    for fd in /proc/"$p"/fd/*; do if [ "$fd" -ef "$f" ]; then open=1; break 2; fi; done
  done
  [ -z "$open" ] && break
done
cat "$f"
""".strip()


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
    # How it sends its adverts: "Using unicast" among its flags, else multicast
    # (224.0.0.18); the peers it sends them to, its own address.
    unicast: bool = False
    unicast_peers: list[str] = field(default_factory=list)
    source: str | None = None


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
    in_tracked = in_peers = False
    for raw in text.splitlines():
        header = re.match(r"^-+<\s*(.+?)\s*>-+$", raw.strip())
        if header:
            section, current_instance, current_script, in_tracked = header.group(1), None, None, False
            in_peers = False
            continue
        line = raw.strip()
        if section == "VRRP Topology":
            match = re.match(r"^VRRP Instance = (\S+)", line)
            if match and raw.startswith(" ") and not raw.startswith("  "):
                current_instance = instances.setdefault(match.group(1), VrrpInstance(match.group(1), ""))
                in_tracked = in_peers = False
                continue
            if current_instance is None:
                continue
            indent = len(raw) - len(raw.lstrip())
            if in_tracked and indent >= 5:
                current_instance.tracked_scripts.append(line.split()[0])
                continue
            if in_peers and indent >= 5:
                # "198.51.100.111 min_ttl 0 max_ttl 255"
                current_instance.unicast_peers.append(line.split()[0])
                continue
            in_tracked = in_peers = False
            if line.startswith("Tracked scripts"):
                in_tracked = True
            elif line.startswith("Unicast Peer"):
                in_peers = True
            elif line == "Using unicast":
                current_instance.unicast = True
            elif line.startswith("Using src_ip = "):
                current_instance.source = line.split("=", 1)[1].split()[0]
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



@dataclass(frozen=True)
class KeepalivedState(Fact[KeepalivedData]):
    @property
    def key(self) -> str:
        return "keepalived-datos"

    def command(self) -> str:
        return KEEPALIVED_DATA_COMMAND

    def parse(self, probe: Probe) -> KeepalivedData:
        if probe.exit_code != 0:
            raise FactCommandError(
                probe.output.strip() or f"no se obtuvo el volcado de keepalived (código {probe.exit_code})"
            )
        return keepalived_data(probe.output)
