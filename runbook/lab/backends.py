"""Start the lab's backends: real nginx and memcached in each backend's namespace.

The daemons are Debian's own binaries from this machine (installed by ./rb,
their system services disabled), each instance with its own configuration,
pid and log under the lab's state dir and bound to its namespace's address.
`lab.down` kills them with everything else in the lab's namespaces.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from . import backend_config
from .errors import LabError
from .layout import BACKEND_KEY, BackendLayout, LabLayout
from .sysutil import alive, run

READY_SCRIPT = Path(__file__).with_name("backend_ready.py")
READY_TIMEOUT = 10.0  # seconds for every backend to answer after start


def prepare(backend: BackendLayout) -> None:
    """Write the backend's files anew (its folder is the lab's, nothing else lives there)."""
    shutil.rmtree(backend.dir, ignore_errors=True)
    backend.dir.mkdir(parents=True)
    backend.log.parent.mkdir(parents=True, exist_ok=True)
    for kind in backend_config.NGINX_TEMP_DIRS:
        (backend.dir / "tmp" / kind).mkdir(parents=True)
    for path, text in backend_config.files(backend).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)


def start(lay: LabLayout) -> dict[str, dict[str, int]]:
    """Start every daemon, wait until each backend answers; {backend: {daemon label: pid}}."""
    pids: dict[str, dict[str, int]] = {}
    for backend in lay.backends:
        prepare(backend)
        allow_low_ports(backend)
        pids[backend.name] = {d.label: spawn(backend, d) for d in backend_config.daemons(backend)}
    wait_ready(lay, pids)
    return pids


def allow_low_ports(backend: BackendLayout) -> None:
    """memcached leaves root before it binds (-u): a TCP service below 1024 (a rehearsed site's LDAP
    on 389) needs the backend's namespace to let any user bind it. Per namespace: the host keeps its own."""
    if any(port < 1024 for port in backend.tcp):
        run(["ip", "netns", "exec", backend.netns, "sysctl", "-qw", "net.ipv4.ip_unprivileged_port_start=0"],
            f"abrir los puertos bajos del backend {backend.name}")


def spawn(backend: BackendLayout, daemon: backend_config.Daemon) -> int:
    # `ip netns exec` execs the daemon itself: the pid is the daemon's (nginx's master).
    argv = ["ip", "netns", "exec", backend.netns, *daemon.argv]
    with open(backend.log, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    return proc.pid


def ready_request(lay: LabLayout) -> dict:
    """What backend_ready.py checks, from the layout only."""
    return {
        "timeout": READY_TIMEOUT,
        "source": str(lay.client.addresses[0].ip),
        "key": BACKEND_KEY,
        "backends": [
            {
                "name": b.name,
                "address": str(b.address.ip),
                "http": [{"port": a.port, "entry": a.entry, "status": a.status,
                          "redirect": a.redirect if a.horizon else None}
                         for a in backend_config.http_apps(b)],
                "memcached": list(b.tcp),
            }
            for b in lay.backends
        ],
    }


def wait_ready(lay: LabLayout, pids: dict[str, dict[str, int]], timeout: float = READY_TIMEOUT) -> None:
    """Until every backend answers from the LAN as it should; LabError naming the first that does not."""
    request = {**ready_request(lay), "timeout": timeout}
    argv = ["ip", "netns", "exec", lay.client.netns, sys.executable, "-I", str(READY_SCRIPT),
            json.dumps(request)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 20)
    try:
        problems = json.loads(done.stdout)
    except ValueError:
        raise LabError("no se pudo comprobar los backends: " + done.stderr.strip()[-400:]) from None
    for backend in lay.backends:
        problem = problems.get(backend.name)
        if problem:
            dead = [label for label, pid in pids.get(backend.name, {}).items() if not alive(pid)]
            why = f" ({', '.join(dead)} no está en marcha)" if dead else ""
            raise LabError(f"el backend {backend.name} no responde{why}: {problem}" + _log_tail(backend))


def _log_tail(backend: BackendLayout, lines: int = 5) -> str:
    try:
        tail = backend.log.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return ("\n  " + "\n  ".join(tail)) if tail else ""


def daemon_states(backend: BackendLayout, pids: dict[str, int]) -> list[dict]:
    """Each daemon of the backend with its pid and whether that process still runs."""
    out = []
    for daemon in backend_config.daemons(backend):
        pid = pids.get(daemon.label) if isinstance(pids, dict) else None
        running = bool(pid) and alive(pid) and _comm(pid) == daemon.program
        out.append({"label": daemon.label, "program": daemon.program, "ports": list(daemon.ports),
                    "pid": pid if running else None, "state": "running" if running else "stopped"})
    return out


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def pids_of(state: dict) -> list[int] | None:
    """Every backend daemon pid recorded in the lab's state; None if the record is not this format."""
    found = []
    for daemons in state.get("backends", {}).values():
        if not isinstance(daemons, dict):
            return None  # written by an older lab: not one this code can vouch for
        found += [pid for pid in daemons.values() if isinstance(pid, int)]
    return found

