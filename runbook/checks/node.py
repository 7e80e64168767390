"""Checks of one node's state: files, units, persisted sysctl, keepalived's health check, backends."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from ..copies import stat_copies_command, too_open
from ..masking import SecretMask
from . import parse
from .base import NodeCheck, NodeFacts, Outcome, missing_probe

UNITS_PROBE = "unidades"
KEEPALIVED_DATA_PROBE = "keepalived-datos"
HAPROXY_STAT_PROBE = "haproxy-show-stat"
SYSCTL_PROBE = "sysctl-persistente"


def units_command(units: tuple[str, ...]) -> str:
    names = " ".join(shlex.quote(f"{u}.service") for u in units)
    return f"systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState {names}"


# keepalived writes its state to /tmp/keepalived.data when sent its DATA
# signal (SIGUSR1); the file appears at once but is written in pieces, so
# wait until its size stops changing. Debian's unit has no PrivateTmp.
KEEPALIVED_DATA_COMMAND = r"""
pid=$(systemctl show -p MainPID --value keepalived.service 2>/dev/null)
if [ -z "$pid" ] || [ "$pid" = 0 ]; then echo "keepalived no está en marcha"; exit 3; fi
f=/tmp/keepalived.data
rm -f "$f"
kill -s "$(keepalived --signum=DATA 2>/dev/null || echo USR1)" "$pid" || exit 4
prev=-1
for i in $(seq 300); do
  size=$(stat -c %s "$f" 2>/dev/null || echo -1)
  if [ "$size" -gt 0 ] && [ "$size" = "$prev" ]; then break; fi
  prev=$size
  sleep 0.01
done
cat "$f"
""".strip()


def haproxy_stat_command(socket: str) -> str:
    # perl-base is Essential in Debian: always there, unlike socat or python3.
    script = (
        '$s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "no se puede abrir $ARGV[0]: $!\\n";'
        ' print $s "show stat\\n"; print while <$s>;'
    )
    return f"perl -MIO::Socket::UNIX -e {shlex.quote(script)} {shlex.quote(socket)}"


def file_probe(path: str) -> str:
    return f"fichero:{path}"


def stat_probe(path: str) -> str:
    return f"permisos:{path}"


def copies_probe(path: str) -> str:
    return f"copias:{path}"


# --------------------------------------------------------------------- files


@dataclass
class FileMatches(NodeCheck):
    """A managed file on the node is byte for byte the one the site renders for it.

    Also its mode and owner, and those of the copies deploy keeps of it (backup,
    temporary file): none may be more open than the file, since they hold the same
    content (haproxy.cfg: the stats password).
    """

    id: str
    title: str
    step: str | None
    path: str
    mode: str
    owner: str
    group: str
    expected: dict[str, str]  # node -> content with real secrets (never shown)
    shown: dict[str, str]  # node -> content with secret markers (for diffs)
    secret_error: str | None = None
    mask: SecretMask = field(default_factory=lambda: SecretMask({}))  # hides secrets in diffs

    def probes(self, node: str) -> dict[str, str]:
        quoted = shlex.quote(self.path)
        return {
            file_probe(self.path): f"cat -- {quoted}",
            stat_probe(self.path): f"stat -c '%a %U %G' -- {quoted}",
            copies_probe(self.path): stat_copies_command(self.path),
        }

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        content = facts.probe(file_probe(self.path))
        perms = facts.probe(stat_probe(self.path))
        if content is None or perms is None:
            return missing_probe(self.path)
        if content.exit_code != 0:
            return Outcome.fail(f"{self.path} no existe en el nodo")
        if self.secret_error is not None and "@@SECRETO_" in self.shown[node]:
            return Outcome.error(f"no se puede comparar {self.path}: {self.secret_error}")
        problems = []
        if content.output != self.expected[node]:
            problems.append("el contenido difiere del generado por el sitio")
        want = f"{int(self.mode, 8):o} {self.owner} {self.group}"
        if perms.output.strip() != want:
            problems.append(f"permisos {perms.output.strip()!r}, se esperaba {want!r}")
        problems += self._open_copies(facts)
        if not problems:
            return Outcome.ok(f"idéntico al del sitio ({want})")
        diff = ""
        if content.output != self.expected[node]:
            # '-' lines are on the node, '+' lines in the site; secrets masked as deploy masks them.
            diff = self.mask.file_diff(content.output, self.shown[node], f"{node}:{self.path}",
                                       f"sitio:{self.path}")
        return Outcome.fail(f"{self.path}: " + "; ".join(problems), diff)

    def _open_copies(self, facts: NodeFacts) -> list[str]:
        probe = facts.probe(copies_probe(self.path))
        if probe is None:
            return [f"no se obtuvieron los permisos de las copias de {self.path}"]
        problems = []
        for line in probe.output.splitlines():
            parts = line.split()
            if len(parts) != 4 or not parts[1].isdigit():
                continue
            path, mode, owner, group = parts[0], int(parts[1], 8), parts[2], parts[3]
            if too_open(mode, owner, group, int(self.mode, 8), self.owner, self.group):
                problems.append(f"la copia {path} tiene permisos {mode:o} {owner} {group}, más abiertos "
                                f"que los del fichero ({int(self.mode, 8):o} {self.owner} {self.group})")
        return problems


# --------------------------------------------------------------------- units


@dataclass
class UnitActiveEnabled(NodeCheck):
    id: str
    title: str
    step: str | None
    unit: str
    all_units: tuple[str, ...]

    def probes(self, node: str) -> dict[str, str]:
        return {UNITS_PROBE: units_command(self.all_units)}

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        probe = facts.probe(UNITS_PROBE)
        if probe is None:
            return missing_probe(UNITS_PROBE)
        props = parse.systemctl_show(probe.output).get(self.unit)
        if props is None:
            return Outcome.error(f"systemctl no informó de {self.unit}: {probe.output.strip()[:200]}")
        if props.get("LoadState") == "not-found":
            return Outcome.fail(f"{self.unit} no está instalado")
        active, sub = props.get("ActiveState", "?"), props.get("SubState", "?")
        enabled = props.get("UnitFileState", "?")
        state = f"{active} ({sub}), {enabled}"
        if active == "active" and enabled == "enabled":
            return Outcome.ok(state)
        problems = []
        if active != "active":
            problems.append(f"{self.unit} no está en marcha: {active} ({sub})")
        if enabled != "enabled":
            problems.append(f"{self.unit} no arrancará con el sistema: {enabled}")
        return Outcome.fail("; ".join(problems))


def unit_active(facts: NodeFacts, unit: str) -> bool | None:
    probe = facts.probe(UNITS_PROBE)
    if probe is None:
        return None
    props = parse.systemctl_show(probe.output).get(unit, {})
    return props.get("ActiveState") == "active"


# --------------------------------------------------------------------- sysctl


@dataclass
class SysctlPersisted(NodeCheck):
    id: str
    title: str
    step: str | None
    key: str
    value: str

    def probes(self, node: str) -> dict[str, str]:
        return {SYSCTL_PROBE: parse.sysctl_grep_command(self.key)}

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        probe = facts.probe(SYSCTL_PROBE)
        if probe is None:
            return missing_probe(SYSCTL_PROBE)
        setting = parse.effective_sysctl(probe.output, self.key)
        if setting is None:
            return Outcome.fail(
                f"ningún fichero de /etc/sysctl.d/ fija {self.key}: tras un reinicio volvería a 0"
            )
        where = f"{setting.path}:{setting.line}"
        if setting.value != self.value:
            return Outcome.fail(f"tras un reinicio valdría {setting.value} (lo fija {where})")
        return Outcome.ok(f"{self.key} = {self.value} en {where}")


# --------------------------------------------------------------------- keepalived


def tracking_problems(facts: NodeFacts, scripts: list[str], instances: list[str]) -> list[str] | None:
    """Spanish problems with keepalived's health checks on a node; None when unknown."""
    probe = facts.probe(KEEPALIVED_DATA_PROBE)
    if probe is None:
        return None
    if probe.exit_code != 0:
        return [probe.output.strip() or f"no se obtuvo el volcado de keepalived (código {probe.exit_code})"]
    data = parse.keepalived_data(probe.output)
    problems = []
    for name in scripts:
        script = data.scripts.get(name)
        tracked_by = [i for i in data.instances.values() if name in i.tracked_scripts]
        if script is None or not tracked_by:
            problems.append(
                f"keepalived ha desactivado la comprobación {name} (no la ejecuta: "
                "script no encontrado o no accesible)"
            )
        elif script.status != "GOOD":
            problems.append(f"la comprobación {name} falla (estado {script.status}): HAProxy no responde")
    for name in instances:
        instance = data.instances.get(name)
        if instance is None:
            problems.append(f"keepalived no tiene la instancia {name}")
        elif instance.state in ("FAULT", "INIT", "STOP", ""):
            problems.append(f"la instancia {name} está en {instance.state or 'un estado desconocido'}")
    return problems


def gives_up_vip(facts: NodeFacts, instances: list[str]) -> str | None:
    """Why keepalived on this node would not take the VIP (Spanish), or None if it competes.

    Mirrors keepalived: a stopped daemon or an instance in FAULT (a failing
    track script with weight 0) gives the VIP up; a *disabled* script does
    not, keepalived simply stops consulting it.
    """
    if not unit_active(facts, "keepalived"):
        return "sin keepalived"
    probe = facts.probe(KEEPALIVED_DATA_PROBE)
    if probe is None or probe.exit_code != 0:
        return "sin estado de keepalived"
    data = parse.keepalived_data(probe.output)
    for name in instances:
        instance = data.instances.get(name)
        if instance is None or instance.state in ("FAULT", "STOP", ""):
            return f"{name} en {instance.state if instance else 'ningún estado'}"
    return None


def tracking_summary(facts: NodeFacts) -> str:
    probe = facts.probe(KEEPALIVED_DATA_PROBE)
    data = parse.keepalived_data(probe.output if probe else "")
    scripts = ", ".join(f"{s.name} {s.status}" for s in data.scripts.values())
    instances = ", ".join(f"{i.name} {i.state}" for i in data.instances.values())
    return "; ".join(x for x in (scripts, instances) if x)


@dataclass
class KeepalivedTracking(NodeCheck):
    id: str
    title: str
    step: str | None
    scripts: dict[str, list[str]]  # node -> vrrp_script names in its rendered config
    instances: dict[str, list[str]]

    def probes(self, node: str) -> dict[str, str]:
        return {KEEPALIVED_DATA_PROBE: KEEPALIVED_DATA_COMMAND}

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        problems = tracking_problems(facts, self.scripts[node], self.instances[node])
        if problems is None:
            return missing_probe(KEEPALIVED_DATA_PROBE)
        if problems:
            return Outcome.fail("; ".join(problems))
        return Outcome.ok(f"según keepalived: {tracking_summary(facts)}")


# --------------------------------------------------------------------- HAProxy backends


@dataclass
class BackendsUp(NodeCheck):
    id: str
    title: str
    step: str | None
    service: str
    backends: list[str]
    socket: str

    def probes(self, node: str) -> dict[str, str]:
        return {HAPROXY_STAT_PROBE: haproxy_stat_command(self.socket)}

    def outside(self) -> str:
        # The backends are other machines: the procedure configures HAProxy, not them.
        return (f"los servidores de {self.service} no son nodos de este sitio; revíselos "
                "(HAProxy los da por buenos en cuanto respondan)")

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        probe = facts.probe(HAPROXY_STAT_PROBE)
        if probe is None:
            return missing_probe(HAPROXY_STAT_PROBE)
        if probe.exit_code != 0:
            return Outcome.fail(
                f"no se pudo leer el socket de HAProxy {self.socket}: {probe.output.strip()[:200]}"
            )
        try:
            rows = [r for r in parse.show_stat(probe.output) if r.proxy == self.service]
        except ValueError as exc:
            return Outcome.error(str(exc))
        by_name = {r.server: r for r in rows}
        problems, fine = [], []
        for name in self.backends:
            row = by_name.get(name)
            if row is None:
                problems.append(f"{name} no aparece en HAProxy")
            elif not row.up:
                why = ": ".join(x for x in (row.check_status, row.check_desc) if x)
                problems.append(f"{name} {row.status}" + (f" ({why})" if why else ""))
            else:
                fine.append(f"{name} {row.status}")
        if problems:
            return Outcome.fail(f"{self.service}: " + "; ".join(problems))
        return Outcome.ok(", ".join(fine))
