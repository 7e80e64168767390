"""The faults a soak round may pick: the drill's scenarios and the tampering catalogue.

Every fault knows whom it hits (the VIP's holder or its peer, chosen when the
round starts), what it does (Spanish, for the report) and what a sysadmin
runs to repair it: `deploy` (the fault is drift the procedure owns) or the
drill scenario's own `restore` (a cut cable, a maintenance file: things
deploy does not own), followed by a deploy that must change nothing.

The drill's scenarios are imported, never copied: a scenario added there is
a fault here. The tamperings are those of tests/lab/test_tampering_lab.py
that chain well (each one the way an operator or a failure breaks a node),
plus what no single test covered: both daemons killed at once, the peer's
LAN cable flapping, the LAN addresses flushed (the issue's sixth fault).
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..drill.scenarios import SCENARIOS, Cluster, Scenario
from ..plan.steps import FileAction, Plan

HOLD_S = 4.0  # how long a fault lasts before the repair: longer than a VRRP master timeout
FLAPS = 4  # the peer's LAN cable: down, up, this many times
FLAP_S = 0.7  # each half of a flap
# Scenarios whose fault deploy repairs (a unit dead or stopped); the others are undone by their
# restore (a maintenance file, a cable, a backend: not the procedure's to fix).
DEPLOY_REPAIRS = frozenset({"haproxy-crash", "keepalived-crash", "planned-stop"})


@dataclass(frozen=True)
class Target:
    """Whom a round's fault hits, and what it may touch."""

    cluster: Cluster
    plan: Plan
    holder: str  # the node holding the VIP when the round started
    peer: str  # another node

    def node(self, role: str) -> str:
        return self.holder if role == "holder" else self.peer


@dataclass(frozen=True)
class Fault:
    name: str
    source: str  # "drill" or "tampering"
    text: str  # what is done, Spanish
    role: str  # "holder", "peer" or "both": whom it hits
    apply: Callable[[Target], float]  # -> the fault's time (epoch seconds)
    repair: str  # "deploy" or "restore"
    restore: Callable[[Target], float] | None = None
    hold_s: float = HOLD_S


def managed_path(plan: Plan, step: str) -> str:
    """The file a step writes (from the plan, never typed here)."""
    return next(a.path for a in plan.actions() if isinstance(a, FileAction) and a.step == step)


def _from_scenario(s: Scenario) -> Fault:
    repair = "deploy" if s.name in DEPLOY_REPAIRS else "restore"
    return Fault(
        name=s.name, source="drill", text=s.fault_text, role="holder",
        apply=lambda t: s.fault(t.cluster, t.holder),
        repair=repair,
        restore=None if repair == "deploy" else (lambda t: s.restore(t.cluster, t.holder)),
        hold_s=max(HOLD_S, s.hold_s),
    )


def _on(role: str, command: Callable[[Plan], str] | str) -> Callable[[Target], float]:
    def apply(t: Target) -> float:
        text = command(t.plan) if callable(command) else command
        nodes = t.plan.node_names if role == "both" else (t.node(role),)
        stamps = [t.cluster.node_command(node, text) for node in nodes]
        return min(stamps)
    return apply


def _flap_peer(t: Target) -> float:
    first = t.cluster.node_link(t.peer, False)
    try:
        time.sleep(FLAP_S)
        for flap in range(FLAPS):
            t.cluster.node_link(t.peer, True)
            time.sleep(FLAP_S)
            if flap < FLAPS - 1:
                t.cluster.node_link(t.peer, False)
                time.sleep(FLAP_S)
    finally:
        t.cluster.node_link(t.peer, True)
    return first


def _both_killed() -> str:
    """haproxy and keepalived killed together, as a crash would (frozen first: see crash_command)."""
    units = "haproxy keepalived"
    return f"systemctl kill --signal=SIGSTOP {units} && systemctl kill --signal=SIGKILL {units}"


def _edit(step: str) -> Callable[[Plan], str]:
    return lambda plan: f"echo '# editado a mano' >> {shlex.quote(managed_path(plan, step))}"


def _chmod(step: str) -> Callable[[Plan], str]:
    def command(plan: Plan) -> str:
        path = shlex.quote(managed_path(plan, step))
        return f"chmod 600 {path} && chown nobody:nogroup {path}"
    return command


def _lan(plan: Plan) -> str:
    return shlex.quote(plan.site.network.lan.interface)


TAMPERINGS: tuple[Fault, ...] = (
    Fault("haproxy-parado", "tampering", "systemctl stop haproxy en el nodo con la IP virtual", "holder",
          _on("holder", "systemctl stop haproxy"), "deploy"),
    Fault("ambos-parados", "tampering", "systemctl stop haproxy keepalived en el nodo con la IP virtual",
          "holder", _on("holder", "systemctl stop haproxy keepalived"), "deploy"),
    Fault("ambos-matados", "tampering",
          "SIGKILL a la vez a haproxy y keepalived (detenidos antes con SIGSTOP) "
          "en el nodo con la IP virtual",
          "holder", _on("holder", _both_killed()), "deploy"),
    Fault("keepalived-parado-en-los-dos", "tampering", "systemctl stop keepalived en los dos nodos", "both",
          _on("both", "systemctl stop keepalived"), "deploy"),
    Fault("keepalived-deshabilitado", "tampering", "systemctl disable keepalived en el otro nodo", "peer",
          _on("peer", "systemctl disable -q keepalived"), "deploy"),
    Fault("sysctl-en-vivo", "tampering", "sysctl -w net.ipv4.ip_nonlocal_bind=0 en el otro nodo", "peer",
          _on("peer", "sysctl -qw net.ipv4.ip_nonlocal_bind=0"), "deploy"),
    Fault("sysctl-chmod", "tampering", "chmod 600 y chown nobody del fichero sysctl "
          "en el nodo con la IP virtual", "holder", _on("holder", _chmod("ip-no-local")), "deploy"),
    Fault("keepalived-editado", "tampering", "keepalived.conf editado a mano en el otro nodo", "peer",
          _on("peer", _edit("keepalived")), "deploy"),
    Fault("haproxy-editado", "tampering", "haproxy.cfg editado a mano en el nodo con la IP virtual", "holder",
          _on("holder", _edit("haproxy")), "deploy"),
    Fault("lan-vaciada-titular", "tampering", "ip addr flush en la interfaz LAN del nodo con la IP virtual",
          "holder", _on("holder", lambda plan: f"ip addr flush dev {_lan(plan)}"), "deploy"),
    Fault("lan-vaciada-otro", "tampering", "ip addr flush en la interfaz LAN del otro nodo", "peer",
          _on("peer", lambda plan: f"ip addr flush dev {_lan(plan)}"), "deploy"),
    Fault("lan-caida-otro", "tampering", "ip link set down en la interfaz LAN del otro nodo", "peer",
          _on("peer", lambda plan: f"ip link set {_lan(plan)} down"), "deploy"),
    Fault("enlace-otro-intermitente", "tampering",
          f"el cable LAN del otro nodo se corta y vuelve {FLAPS} veces ({FLAP_S:g} s cada vez)", "peer",
          _flap_peer, "deploy"),
)


def catalogue() -> dict[str, Fault]:
    """Every fault a round may pick, by name: the drill's scenarios, then the tamperings."""
    faults = [_from_scenario(s) for s in SCENARIOS.values()] + list(TAMPERINGS)
    return {f.name: f for f in faults}
