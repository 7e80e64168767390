"""Bring the lab up, take it down, report its state.

`up` is idempotent and starts by removing leftovers of any earlier lab (a
crash, a kill -9 in the middle of an `up`); `down` finds what exists on the
system (namespaces, processes, mounts, cgroups) rather than trusting a record,
so it always leaves nothing behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import signal
import string
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from ..facts.net import Ipv4Addresses, addresses_only, vip_held
from ..remote.sshmux import close_masters
from . import backend_config, backends, network, nodes, server_machines, ssh
from .base import ensure_base, suite_of
from .errors import LabError, PrerequisiteError
from .layout import LabLayout, layout
from .sysutil import alive, cgroup_pids, cgroup_remove, kill_all, mounts_under, netns_list

TOOLS = {
    "systemd-nspawn": "systemd-container",
    "ip": "iproute2",
    "nc": "netcat-openbsd",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "mount": "mount",
    "nginx": "nginx",  # the backends' web server (Horizon's shape)
    "memcached": "memcached",
}


def check_prerequisites() -> None:
    if os.geteuid() != 0:
        raise PrerequisiteError(
            "el laboratorio necesita root (espacios de red, montajes y contenedores): "
            "ejecútalo con sudo o como root"
        )
    for tool, package in TOOLS.items():
        if shutil.which(tool) is None:
            raise PrerequisiteError(f"falta {tool}: instálalo con «apt-get install {package}»")


@contextmanager
def _locked(lay: LabLayout):
    # One lab operation at a time (a test session and a CLI call may overlap).
    lay.state_dir.mkdir(parents=True, exist_ok=True)
    with open(lay.lock_file, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _read_state(lay: LabLayout) -> dict:
    try:
        return json.loads(lay.state_file.read_text())
    except (OSError, ValueError):
        return {}


def _write_state(lay: LabLayout, state: dict) -> None:
    tmp = lay.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, lay.state_file)


def ensure_secrets(lay: LabLayout) -> None:
    """Create missing file secrets (random, 20 alphanumerics, mode 0600).

    Never printed: deploy and the tests read the file.
    """
    alphabet = string.ascii_letters + string.digits
    for path in lay.secrets.values():
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("".join(secrets.choice(alphabet) for _ in range(20)) + "\n")


def _is_running(lay: LabLayout, state: dict) -> bool:
    if state.get("phase") != "running":
        return False
    existing = set(netns_list())
    if not set(lay.all_netns) <= existing:
        return False
    pids = [n.get("pid", 0) for n in state.get("nodes", {}).values()]
    daemons = backends.pids_of(state)
    if daemons is None or set(state.get("backends", {})) != {b.name for b in lay.backends}:
        return False
    names = {n.name for n in lay.nodes}
    return set(state.get("nodes", {})) == names and all(p and alive(p) for p in pids + daemons)


def up(site, log=None) -> dict:
    log = log or (lambda message: None)
    check_prerequisites()
    lay = layout(site)
    with _locked(lay):
        state = _read_state(lay)
        if _is_running(lay, state):
            try:
                ssh.wait_ready(lay, [n.name for n in lay.ssh_hosts], timeout=10)
                if not lay.backend_machines:
                    backends.wait_ready(lay, state["backends"], timeout=3)
                log("el laboratorio ya estaba en marcha")
                return {**status(site), "already_running": True}
            except LabError:
                log("el laboratorio estaba a medias: se vuelve a crear")
        _cleanup(lay)
        try:
            _up(lay, site, log)
        except BaseException:
            # Half a lab is worse than none: remove everything, then report.
            _cleanup(lay)
            raise
    return {**status(site), "already_running": False}


def _up(lay: LabLayout, site, log) -> None:
    started = time.monotonic()
    ensure_secrets(lay)
    base = ensure_base(log, suite_of(lay.os))
    servers_repo = server_machines.ensure_repo(suite_of(lay.os), log) if lay.backend_machines else None
    # Recorded first, so that a crash from here on can be cleaned by name.
    state = {"site": lay.site_name, "phase": "starting", "base": str(base),
             "netns": list(lay.all_netns), "nodes": {}, "backends": {}}
    _write_state(lay, state)
    network.create(lay)
    public_key = ssh.ensure_key(lay)
    dns = [str(a) for a in getattr(site.network.lan, "dns", [])]
    hosts = lay.ssh_hosts
    with ThreadPoolExecutor(len(hosts)) as pool:
        keys = dict(zip(
            [n.name for n in hosts],
            pool.map(lambda n: nodes.prepare(n, base, public_key, dns), hosts),
            strict=True,
        ))
    for machine in lay.machines:
        server_machines.add_repo(machine, servers_repo)
    ssh.write_known_hosts(lay, keys)
    ssh.write_config(lay)
    for node in lay.nodes:
        state["nodes"][node.name] = {"pid": nodes.start(lay, node), "netns": node.netns}
    _write_state(lay, state)
    if lay.backend_machines:
        state["backends"] = {m.name: {"machine": nodes.start(lay, m)} for m in lay.machines}
    else:
        state["backends"] = backends.start(lay)
    _write_state(lay, state)
    pids = {n: state["nodes"][n]["pid"] for n in state["nodes"]}
    pids |= {name: daemons["machine"] for name, daemons in state["backends"].items() if "machine" in daemons}
    ssh.wait_ready(lay, list(pids), timeout=90,
                   on_fail=lambda name: nodes.check_started(lay.host(name), pids[name]))
    if lay.backend_machines:
        server_machines.install(lay)
    state["phase"] = "running"
    state["up_seconds"] = round(time.monotonic() - started, 2)
    _write_state(lay, state)
    log(f"laboratorio en marcha en {state['up_seconds']:.1f} s")


def down(site, log=None) -> None:
    log = log or (lambda message: None)
    check_prerequisites()
    lay = layout(site)
    with _locked(lay):
        _cleanup(lay)
    log("laboratorio detenido: sin espacios de red, montajes ni procesos")


def _kill_everything(lay: LabLayout, namespaces: list[str]) -> list[int]:
    """SIGKILL every process of the lab; return those that would not die.

    A daemon's master (nginx) may fork a new worker between the listing and
    its own SIGKILL: list again until nothing is left (a few rounds at most).
    """
    survivors: list[int] = []
    for _ in range(5):
        pids = network.pids(namespaces) | nodes.nspawn_pids(lay) | cgroup_pids(lay.netns)
        pids.discard(os.getpid())
        if not pids:
            break
        survivors = kill_all(pids)
    return survivors


def _cleanup(lay: LabLayout) -> None:
    # SSH masters (sshmux.py) to these nodes go first: none may outlive its
    # node, nor keep a ProxyCommand running in a namespace about to go.
    close_masters(lay.ssh_config)
    state = _read_state(lay)
    namespaces = network.ours(lay, state.get("netns", []))
    survivors = _kill_everything(lay, namespaces)
    nodes.unmount_all(lay)
    network.destroy(namespaces)
    cgroup_remove(lay.netns)
    problems = []
    if survivors:
        problems.append(f"procesos que no terminan: {survivors}")
    if mounts_under(lay.state_dir / "nodes"):
        problems.append("montajes bajo " + str(lay.state_dir / "nodes"))
    left = network.ours(lay, state.get("netns", []))
    if left:
        problems.append("espacios de red: " + ", ".join(left))
    if problems:
        raise LabError("no se pudo limpiar el laboratorio: " + "; ".join(problems))
    nodes.wipe(lay)
    shutil.rmtree(lay.state_dir / "run", ignore_errors=True)
    lay.state_file.unlink(missing_ok=True)


def status(site) -> dict:
    lay = layout(site)
    state = _read_state(lay)
    existing = set(netns_list())
    vip = str(site.vip)
    node_list = []
    for node in lay.nodes:
        pid = state.get("nodes", {}).get(node.name, {}).get("pid")
        running = bool(pid) and alive(pid) and node.netns in existing
        lan = Ipv4Addresses(node.lan_if).local(node.netns) if running else {}
        node_list.append({
            "name": node.name,
            "state": "running" if running else "stopped",
            "pid": pid if running else None,
            "netns": node.netns,
            "management_address": str(node.management.ip),
            "lan_address": str(node.lan_address),
            "lan_interface": node.lan_if,
            "lan_addresses_now": addresses_only(lan),
            "lan_link": ("up" if network.link_is_up(lay, node.name) else "down")
            if running else None,
            "holds_vip": vip_held(lan, vip),
        })
    backend_list = []
    for b in lay.backends:
        recorded = state.get("backends", {}).get(b.name) or {}
        daemons = (server_machines.daemon_states(b, recorded) if lay.backend_machines
                   else backends.daemon_states(b, recorded))
        up = b.netns in existing and all(d["state"] == "running" for d in daemons)
        backend_list.append({
            "name": b.name,
            "names": list(b.names),
            "address": str(b.address.ip),
            "netns": b.netns,
            "http_ports": sorted({port for port, _, _ in b.http}),
            "tcp_ports": list(b.tcp),
            "daemons": daemons,
            "state": "running" if up else "stopped",
        })
    running = state.get("phase") == "running" and all(
        n["state"] == "running" for n in node_list
    ) and all(b["state"] == "running" for b in backend_list)
    return {
        "site": lay.site_name,
        "running": running,
        "phase": state.get("phase", "down"),
        "namespace": lay.netns,
        "vip": vip,
        "management_gateway": str(lay.mgmt_gateway.ip),
        "lan_gateway": str(lay.lan_gateway.ip) if lay.lan_gateway else None,
        "nodes": node_list,
        "client": {
            "name": lay.client.name,
            "netns": lay.client.netns,
            "addresses": [str(a.ip) for a in lay.client.addresses],
        },
        "backends": backend_list,
        "base": state.get("base"),
        "up_seconds": state.get("up_seconds"),
        "paths": lay.paths(),
    }


def client_run(site, argv: list[str], **kw) -> subprocess.CompletedProcess:
    lay = layout(site)
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(["ip", "netns", "exec", lay.client.netns, *argv], **kw)


def node_run(site, node_name: str, argv: list[str], **kw) -> subprocess.CompletedProcess:
    lay = layout(site)
    lay.host(node_name)
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(ssh.ssh_argv(lay, node_name, argv), **kw)


def set_link(site, node_name: str, up: bool) -> None:
    network.set_link(layout(site), node_name, up)


# How each daemon is stopped, as its Debian unit does: nginx finishes the requests it
# holds and closes its sockets (SIGQUIT, `systemctl stop nginx`); memcached on SIGTERM.
STOP_SIGNAL = {"nginx": signal.SIGQUIT, "memcached": signal.SIGTERM}
STOP_TIMEOUT_S = 10.0


def _backend_daemon(lay: LabLayout, backend: str, port: int):
    """(backend layout, daemon) serving `port` on the backend named `backend`; LabError if none."""
    if lay.backend_machines:
        raise LabError(f"el backend {backend} es una máquina: sus servicios se paran y arrancan "
                       "con systemctl")
    for b in lay.backends:
        if backend in b.names:
            for d in backend_config.daemons(b):
                if port in d.ports:
                    return b, d
    raise LabError(f"ningún servicio del backend {backend} escucha en el puerto {port}")


def stop_daemon(site, backend: str, port: int) -> float:
    """Stop the daemon serving `port` on a backend, as its unit would; the time it was told (epoch s)."""
    lay = layout(site)
    b, daemon = _backend_daemon(lay, backend, port)
    with _locked(lay):
        state = _read_state(lay)
        pid = (state.get("backends", {}).get(b.name) or {}).get(daemon.label)
        if not pid or not alive(pid):
            raise LabError(f"{daemon.label} de {b.name} no está en marcha")
        stamp = time.time()
        os.kill(pid, STOP_SIGNAL[daemon.program])
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while alive(pid):
            if time.monotonic() > deadline:
                raise LabError(f"{daemon.label} de {b.name} no se detuvo en {STOP_TIMEOUT_S:g} s")
            time.sleep(0.02)
    return stamp


def start_daemon(site, backend: str, port: int) -> float:
    """Start again the daemon serving `port` on a backend and wait until it answers; when it was started."""
    lay = layout(site)
    b, daemon = _backend_daemon(lay, backend, port)
    with _locked(lay):
        state = _read_state(lay)
        pids = state.setdefault("backends", {}).setdefault(b.name, {})
        stamp = time.time()
        pids[daemon.label] = backends.spawn(b, daemon)
        _write_state(lay, state)
        backends.wait_ready(lay, state["backends"])
    return stamp


def lab_paths(site) -> dict[str, Path]:
    lay = layout(site)
    return {"state_dir": lay.state_dir, "ssh_config": lay.ssh_config,
            "known_hosts": lay.known_hosts, "key": lay.key}
