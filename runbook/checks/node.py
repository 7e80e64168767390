"""Checks of one node's state: files, units, persisted sysctl, keepalived's health check, backends."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..facts.base import FactCommandError, FactError
from ..facts.files import FileContent, FileState
from ..facts.haproxy import HaproxyStat
from ..facts.keepalived import KeepalivedState
from ..facts.sysctl import PersistedSysctl
from ..facts.units import UnitState
from ..plan.copies import too_open
from ..plan.masking import SecretMask
from .base import NodeCheck, NodeFacts, Outcome

# --------------------------------------------------------------------- files


@dataclass
class FileMatches(NodeCheck):
    """A managed file on the node is byte for byte the one the site renders for it.

    Also its mode and owner, and those of the copies deploy keeps of it (backup,
    temporary file): none may be more open than the file, since they hold the same
    content (haproxy.cfg: the stats password).
    """

    path: str
    mode: str
    owner: str
    group: str
    expected: dict[str, str]  # node -> content with real secrets (never shown)
    shown: dict[str, str]  # node -> content with secret markers (for diffs)
    secret_error: str | None = None
    mask: SecretMask = field(default_factory=lambda: SecretMask({}))  # hides secrets in diffs

    def facts(self, node: str) -> list:
        return [FileContent(self.path), FileState(self.path)]

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        try:
            content = facts.value(FileContent(self.path))
            state = facts.value(FileState(self.path))
        except FactError as exc:
            return Outcome.error(str(exc))
        if content is None or state.mode is None:  # both read in the same instant, in parallel
            return Outcome.fail(f"{self.path} no existe en el nodo")
        if self.secret_error is not None and "@@SECRETO_" in self.shown[node]:
            return Outcome.error(f"no se puede comparar {self.path}: {self.secret_error}")
        problems = []
        # Judged by the node's own sha256 of the file's bytes, as deploy judges it: the
        # text read back may carry a multibyte character cut between two reads of the
        # SSH channel (invoke decodes each chunk alone), the hash cannot.
        differs = state.sha256 != hashlib.sha256(self.expected[node].encode("utf-8")).hexdigest()
        if differs:
            problems.append("el contenido difiere del generado por el sitio")
        want = f"{int(self.mode, 8):o} {self.owner} {self.group}"
        if state.permissions != want:
            problems.append(f"permisos {state.permissions!r}, se esperaba {want!r}")
        problems += self._open_copies(state.copies)
        if not problems:
            return Outcome.ok(f"idéntico al del sitio ({want})")
        diff = ""
        if differs:
            # '-' lines are on the node, '+' lines in the site; secrets masked as deploy masks them.
            diff = self.mask.file_diff(content, self.shown[node], f"{node}:{self.path}",
                                       f"sitio:{self.path}")
        return Outcome.fail(f"{self.path}: " + "; ".join(problems), diff)

    def _open_copies(self, copies: tuple[tuple[str, int, str, str], ...]) -> list[str]:
        problems = []
        for path, mode, owner, group in copies:
            if too_open(mode, owner, group, int(self.mode, 8), self.owner, self.group):
                problems.append(f"la copia {path} tiene permisos {mode:o} {owner} {group}, más abiertos "
                                f"que los del fichero ({int(self.mode, 8):o} {self.owner} {self.group})")
        return problems


# --------------------------------------------------------------------- units


@dataclass
class UnitActiveEnabled(NodeCheck):
    """A systemd unit of the procedure is running and starts at boot."""

    unit: str

    def facts(self, node: str) -> list:
        return [UnitState(self.unit)]

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        fact = UnitState(self.unit)
        try:
            props = facts.value(fact)
        except FactError as exc:
            return Outcome.error(str(exc))
        if props is None:
            said = facts.probe(fact.key).output.strip()[:200]
            return Outcome.error(f"systemctl no informó de {self.unit}: {said}")
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
    try:
        props = facts.value(UnitState(unit)) or {}
    except FactError:
        return None
    return props.get("ActiveState") == "active"


# --------------------------------------------------------------------- sysctl


@dataclass
class SysctlPersisted(NodeCheck):
    """A kernel setting keeps its value after a reboot (the sysctl.d file that wins sets it)."""

    key: str
    value: str

    def facts(self, node: str) -> list:
        return [PersistedSysctl(self.key)]

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        try:
            setting = facts.value(PersistedSysctl(self.key))
        except FactError as exc:
            return Outcome.error(str(exc))
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
    if KeepalivedState().key not in facts.probes:
        return None
    try:
        data = facts.value(KeepalivedState())
    except FactError as exc:
        return [str(exc)]
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
    try:
        data = facts.value(KeepalivedState())
    except FactError:
        return "sin estado de keepalived"
    for name in instances:
        instance = data.instances.get(name)
        if instance is None or instance.state in ("FAULT", "STOP", ""):
            return f"{name} en {instance.state if instance else 'ningún estado'}"
    return None


def tracking_summary(facts: NodeFacts) -> str:
    data = facts.value(KeepalivedState())
    scripts = ", ".join(f"{s.name} {s.status}" for s in data.scripts.values())
    instances = ", ".join(f"{i.name} {i.state}" for i in data.instances.values())
    return "; ".join(x for x in (scripts, instances) if x)


@dataclass
class KeepalivedTracking(NodeCheck):
    """keepalived runs every health-check script the site's config names, and its instances are up."""

    scripts: dict[str, list[str]]  # node -> vrrp_script names in its rendered config
    instances: dict[str, list[str]]

    def facts(self, node: str) -> list:
        return [KeepalivedState()]

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        problems = tracking_problems(facts, self.scripts[node], self.instances[node])
        if problems is None:
            return Outcome.error(f"no se obtuvo el dato «{KeepalivedState().key}» del nodo")
        if problems:
            return Outcome.fail("; ".join(problems))
        return Outcome.ok(f"según keepalived: {tracking_summary(facts)}")


@dataclass
class VrrpUnicast(NodeCheck):
    """keepalived really sends its adverts by unicast to every other node (its own data dump says so).

    keepalived with a unicast block it cannot use (misspelt, outside the
    instance, an address it does not own) goes on in multicast without a
    word: the config file would look right, the network would not carry it.
    """

    instances: dict[str, list[str]]  # node -> VRRP instances in its rendered config
    peers: dict[str, list[str]]  # node -> the other nodes' LAN addresses
    sources: dict[str, str]  # node -> its own LAN address

    def facts(self, node: str) -> list:
        return [KeepalivedState()]

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        try:
            data = facts.value(KeepalivedState())
        except FactCommandError as exc:
            return Outcome.fail(str(exc))
        except FactError as exc:
            return Outcome.error(str(exc))
        expected = self.peers[node]
        problems, fine = [], []
        for name in self.instances[node]:
            instance = data.instances.get(name)
            if instance is None:
                problems.append(f"keepalived no tiene la instancia {name}")
            elif not instance.unicast:
                problems.append(
                    f"{name} envía sus anuncios por multicast (224.0.0.18), no por unicast a "
                    f"{', '.join(expected)}: keepalived no está usando unicast_peer (si no lo entiende, "
                    "vuelve al multicast sin avisar) y en una red sin multicast cada nodo se queda con "
                    "la IP virtual")
            elif sorted(instance.unicast_peers) != sorted(expected):
                shown = ", ".join(instance.unicast_peers) or "nadie"
                problems.append(f"{name} envía sus anuncios por unicast a {shown}, "
                                f"no a {', '.join(expected)}")
            elif instance.source not in (None, self.sources[node]):
                problems.append(f"{name} envía sus anuncios desde {instance.source}, no desde "
                                f"{self.sources[node]}")
            else:
                fine.append(f"{name} envía sus anuncios por unicast a {', '.join(expected)}")
        if problems:
            return Outcome.fail("según keepalived: " + "; ".join(problems))
        return Outcome.ok("según keepalived: " + "; ".join(fine))


# --------------------------------------------------------------------- HAProxy backends


@dataclass
class BackendsUp(NodeCheck):
    """HAProxy on the node sees every backend server of a service as up."""

    service: str
    backends: list[str]
    socket: str

    def facts(self, node: str) -> list:
        return [HaproxyStat(self.socket)]

    def outside(self) -> str:
        # The backends are other machines: the procedure configures HAProxy, not them.
        return (f"los servidores de {self.service} no son nodos de este sitio; revísalos "
                "(HAProxy los da por buenos en cuanto respondan)")

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        try:
            rows = [r for r in facts.value(HaproxyStat(self.socket)) if r.proxy == self.service]
        except FactCommandError as exc:
            return Outcome.fail(str(exc))
        except FactError as exc:
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
