"""The failures the drill provokes, and how each one is undone.

Every fault is applied to the node holding the VIP (or to one backend), and
returns its time on the same clock as the load (epoch seconds). Faults that
run a command on a node stamp it on the node itself, right before the
command, so the SSH round trip does not count as outage.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from .. import lab
from ..errors import RunbookError
from ..lab.layout import LabLayout
from ..lab.sysutil import run
from ..plan.steps import MAINTENANCE_FILE
from . import haproxy_events
from .sampler import VipSampler, holders_now


class DrillError(RunbookError):
    """A drill that cannot go on; the message is Spanish."""


@dataclass
class Cluster:
    site: object
    lay: LabLayout

    def node_command(self, node: str, command: str) -> float:
        """Run a shell command on a node over SSH; return the node's clock just before it ran."""
        done = lab.node_run(self.site, node, ["sh", "-c", f"date +%s.%N; {command}"], timeout=60)
        if done.returncode != 0:
            why = (done.stderr or done.stdout).strip()[-300:]
            raise DrillError(f"{node}: «{command}» falló (código {done.returncode}): {why}")
        return float(done.stdout.split()[0])

    def backend_link(self, backend: str, up: bool) -> float:
        """Cut or restore a backend's LAN cable (the bridge side of its veth): works whatever serves it."""
        peer = next(b.peer for b in self.lay.backends if backend in b.names)
        stamp = time.time()
        run(["ip", "-n", self.lay.netns, "link", "set", peer, "up" if up else "down"],
                          f"cambiar el enlace del backend {backend}")
        return stamp

    def node_link(self, node: str, up: bool) -> float:
        stamp = time.time()
        lab.set_link(self.site, node, up)
        return stamp

    def first_backend(self, mode: str = "http"):
        """The first backend of the site's first service of that mode (http or tcp)."""
        service = next(s for s in self.site.services if s.mode == mode)
        return service.backends[0]

    def backend_daemon(self, mode: str, up: bool) -> float:
        """Stop (as its unit would) or start again the daemon behind the first backend of the service."""
        backend = self.first_backend(mode)
        action = lab.start_daemon if up else lab.stop_daemon
        return action(self.site, backend.name, backend.port)

    def haproxy_transitions(self, node: str, mode: str, since: float) -> list[tuple[float, str]]:
        """When the node's HAProxy marked the service's first backend DOWN and UP (its journal)."""
        service = next(s for s in self.site.services if s.mode == mode)
        done = lab.node_run(self.site, node, ["sh", "-c", haproxy_events.journal_command(since)], timeout=30)
        return haproxy_events.transitions(done.stdout, service.name, service.backends[0].name)

    def _netns_by_node(self) -> dict[str, str]:
        return {n.name: n.netns for n in self.lay.nodes}

    def holders(self) -> tuple[str, ...]:
        """The nodes holding the VIP now."""
        return holders_now(self._netns_by_node(), self.site.network.lan.interface, str(self.site.vip))

    def sampler(self, seconds: float) -> VipSampler:
        """A sampler of the VIP's holders, read from the nodes' namespaces (`seconds`: unused here)."""
        return VipSampler(self._netns_by_node(), self.site.network.lan.interface, str(self.site.vip))


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str  # Spanish, for the table and the results page
    fault_text: str  # what is done, in Spanish
    fault: Callable[[Cluster, str], float]  # (cluster, VIP holder) -> fault time
    restore: Callable[[Cluster, str], float]  # -> restore time
    hold_s: float = 0.0  # the fault lasts at least this long before the restore
    mode: str = "http"  # the service the load goes to (its site's first of this mode)
    backend: bool = False  # a backend's fault: HAProxy's DOWN and UP of it are read from the journal


def _systemctl(action: str, unit: str) -> Callable[[Cluster, str], float]:
    return lambda cl, holder: cl.node_command(holder, f"systemctl {action} {shlex.quote(unit)}")


def crash_command(unit: str) -> str:
    """Kill every process of the unit at once, as a crash would: none of them cleans up.

    Frozen first, because `systemctl kill` signals one process after another:
    keepalived's VRRP child asks for SIGTERM when its parent dies, and if it
    runs between the two kills it removes the VIP and says goodbye to the
    peer (seen on a loaded CI machine), which is a clean stop, not a crash.
    """
    u = shlex.quote(unit)
    return f"systemctl kill --signal=SIGSTOP {u} && systemctl kill --signal=SIGKILL {u}"


def _kill(unit: str) -> Callable[[Cluster, str], float]:
    return lambda cl, holder: cl.node_command(holder, crash_command(unit))


def _start_unless_active(unit: str) -> Callable[[Cluster, str], float]:
    u = shlex.quote(unit)
    command = f"systemctl is-active --quiet {u} || systemctl start {u}"
    return lambda cl, holder: cl.node_command(holder, command)


# A backend's fault lasts long enough for health checks alone to mark a silent
# backend DOWN even with the slowest timers this project ever shipped
# (`inter 2s fall 3` without `timeout check`: each failed check waits 2 s for
# its answer and 2 s for the next one, after a check that may have just begun:
# 3 × (2 + 2) + 2 s), so that the whole cost of any configuration is measured.
# Today's template marks it DOWN at the first errors of the real traffic
# (`observe` + `on-error mark-down`), or by its checks within
# inter + 3 × (timeout connect + fastinter) = 2 + 3 × (0.5 + 0.5) s.
HEALTH_CHECK_WINDOW_S = 3 * (2 + 2) + 2


def _maintenance(value: str | None) -> Callable[[Cluster, str], float]:
    path = shlex.quote(MAINTENANCE_FILE)
    command = f"echo {value} > {path}" if value else f"rm -f {path}"
    return lambda cl, holder: cl.node_command(holder, command)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "planned",
            "Mantenimiento planificado",
            f"echo 1 > {MAINTENANCE_FILE} en el nodo con la IP virtual (baja su prioridad: el otro la "
            "toma antes de que este la suelte); después se borra el fichero",
            _maintenance("1"),
            _maintenance(None),
        ),
        Scenario(
            "haproxy-crash",
            "Caída de HAProxy",
            "SIGKILL a todos los procesos de haproxy a la vez (detenidos antes con SIGSTOP) en el nodo "
            "con la IP virtual (systemd lo vuelve a arrancar: Restart=always)",
            _kill("haproxy"),
            _start_unless_active("haproxy"),
        ),
        Scenario(
            "keepalived-crash",
            "Caída de Keepalived",
            "SIGKILL a todos los procesos de keepalived a la vez (detenidos antes con SIGSTOP, para que "
            "ninguno alcance a soltar la IP) en el nodo con la IP virtual; "
            "se recupera con systemctl start keepalived",
            _kill("keepalived"),
            _start_unless_active("keepalived"),
        ),
        Scenario(
            "node-crash",
            "Caída del nodo",
            "se corta el enlace LAN del nodo con la IP virtual (queda mudo); después se restablece",
            lambda cl, holder: cl.node_link(holder, False),
            lambda cl, holder: cl.node_link(holder, True),
        ),
        *(
            scenario
            for mode, label in (("http", "HTTP"), ("tcp", "TCP"))
            for scenario in (
                Scenario(
                    "backend-stop" + ("" if mode == "http" else "-tcp"),
                    f"Parada de un backend ({label})",
                    f"se detiene el servicio ({'nginx' if mode == 'http' else 'memcached'}) del primer "
                    f"backend del servicio {label}, como lo haría systemctl stop (rechaza las "
                    "conexiones); después se vuelve a arrancar",
                    lambda cl, holder, mode=mode: cl.backend_daemon(mode, False),
                    lambda cl, holder, mode=mode: cl.backend_daemon(mode, True),
                    HEALTH_CHECK_WINDOW_S + 2, mode, True,
                ),
                Scenario(
                    "backend-down" + ("" if mode == "http" else "-tcp"),
                    f"Caída de un backend ({label})",
                    f"se corta el enlace del primer backend del servicio {label} (queda mudo); "
                    "después se restablece",
                    lambda cl, holder, mode=mode: cl.backend_link(cl.first_backend(mode).name, False),
                    lambda cl, holder, mode=mode: cl.backend_link(cl.first_backend(mode).name, True),
                    HEALTH_CHECK_WINDOW_S + 2, mode, True,
                ),
            )
        ),
        Scenario(
            "planned-stop",
            "Parada de Keepalived",
            "systemctl stop keepalived en el nodo con la IP virtual; después, systemctl start",
            _systemctl("stop", "keepalived"),
            _systemctl("start", "keepalived"),
        ),
    )
}
# What `--scenario all` runs; planned-stop is measured for the VRRP timer comparison.
ALL = ("planned", "haproxy-crash", "keepalived-crash", "node-crash", "backend-stop", "backend-down",
       "backend-stop-tcp", "backend-down-tcp")
# Faults only the lab can undo: a real node whose link is cut over SSH cannot be reached to
# restore it, and a real site's backends are not the drill's to unplug.
LAB_ONLY = ("node-crash", "backend-stop", "backend-down", "backend-stop-tcp", "backend-down-tcp")
