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
LAN cable flapping, the LAN addresses flushed (the issue's sixth fault), a
node rebooted (`systemctl reboot` inside it: the lab boots it again, see
lab/nodes.py) and a full /var/log (a small tmpfs mounted over it and filled:
the host's disk is never filled).

Clock jumps are not in the catalogue: the nodes are containers that share the
host's CLOCK_REALTIME, and a time namespace only offsets CLOCK_MONOTONIC and
CLOCK_BOOTTIME, fixed when it is created (time_namespaces(7)). The only way to
jump a node's wall clock is to jump the host's, which would jump every node at
once and the machine's other work with it: not a fault of one node.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..drill.scenarios import SCENARIOS, Cluster, DrillError, Scenario
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


REBOOT_BACK_S = 120.0  # a rebooted node answers again within this, or the round cannot go on
# The mark of the tmpfs a full /var/log is made of: the restore unmounts only this.
FULL_LOG_SOURCE = "runbook-log-lleno"
FULL_LOG_SIZE = "4m"


def reboot_command() -> str:
    """The node reboots itself a second after the command returns (so SSH gets its answer first)."""
    return "systemd-run --quiet --on-active=1 systemctl reboot"


def back_command() -> str:
    """This boot's id, once the node has finished booting (`--wait`: until it is running or degraded)."""
    return "cat /proc/sys/kernel/random/boot_id; systemctl is-system-running --wait || true"


def _reboot(role: str) -> Callable[[Target], float]:
    """Reboot the node, then wait as a sysadmin would before repairing: until it has booted again."""
    def apply(t: Target) -> float:
        from .. import lab

        node = t.node(role)

        def boot_id() -> str | None:
            done = lab.node_run(t.cluster.site, node, ["sh", "-c", back_command()], timeout=60)
            lines = done.stdout.split()
            booted = done.returncode == 0 and lines and lines[-1] in ("running", "degraded")
            return lines[0] if booted else None

        before = boot_id()
        if before is None:  # without it, the node still up before its reboot would pass for back
            raise DrillError(f"{node}: no se pudo leer su arranque actual antes de reiniciarlo")
        stamp = t.cluster.node_command(node, reboot_command()) + 1.0
        deadline = time.time() + REBOOT_BACK_S
        while time.time() < deadline:
            time.sleep(1.0)
            now = boot_id()
            if now is not None and now != before:
                return stamp
        raise DrillError(f"{node} no volvió a arrancar en {REBOOT_BACK_S:g} s tras reiniciarlo")
    return apply


def fill_log_command() -> str:
    """A small tmpfs over /var/log with its folders (owners and modes kept), filled to the last byte,
    and journald told to start new files there (as it would on a disk that filled up)."""
    source, size = shlex.quote(FULL_LOG_SOURCE), shlex.quote(FULL_LOG_SIZE)
    return ('tree=$(find /var/log -mindepth 1 -type d -printf "%m %u %g %p\\n") && '
            f"mount -t tmpfs -o size={size},mode=0755 {source} /var/log && "
            'printf "%s\\n" "$tree" | while read -r mode user group dir; do '
            'mkdir -p "$dir" && chmod "$mode" "$dir" && chown "$user:$group" "$dir"; done && '
            "{ dd if=/dev/zero of=/var/log/relleno bs=64k status=none 2>/dev/null || true; } && "
            "journalctl --rotate")


def free_log_command() -> str:
    """Unmount the full /var/log (only the soak's own tmpfs) and let journald move back to it."""
    source = shlex.quote(FULL_LOG_SOURCE)
    return (f'if [ "$(findmnt -n -o SOURCE /var/log)" = {source} ]; then '
            "umount /var/log || umount -l /var/log; fi && journalctl --flush && journalctl --rotate")


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
    Fault("reinicio-titular", "tampering", "systemctl reboot en el nodo con la IP virtual; se espera "
          "a que vuelva a arrancar", "holder", _reboot("holder"), "deploy"),
    Fault("reinicio-otro", "tampering", "systemctl reboot en el otro nodo; se espera a que vuelva a arrancar",
          "peer", _reboot("peer"), "deploy"),
    Fault("var-log-lleno", "tampering", f"/var/log lleno en el nodo con la IP virtual (un tmpfs de "
          f"{FULL_LOG_SIZE.upper()} montado encima y llenado); se desmonta", "holder",
          _on("holder", fill_log_command()), "restore",
          restore=_on("holder", free_log_command())),
    Fault("enlace-otro-intermitente", "tampering",
          f"el cable LAN del otro nodo se corta y vuelve {FLAPS} veces ({FLAP_S:g} s cada vez)", "peer",
          _flap_peer, "deploy"),
)


def catalogue() -> dict[str, Fault]:
    """Every fault a round may pick, by name: the drill's scenarios, then the tamperings."""
    faults = [_from_scenario(s) for s in SCENARIOS.values()] + list(TAMPERINGS)
    return {f.name: f for f in faults}
