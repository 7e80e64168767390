"""Backends as Debian machines (a lab site with `lab.backends: machines`).

Each backend boots like a node (systemd-nspawn on the lab's base image, its
own overlay, on the LAN only: the lab sets its address from outside, as a
provider's network would) and gets nginx and memcached installed by
`apt-get install` from a local repository of their own, so each runs under
systemd with Debian's own configuration: memcached listening on 127.0.0.1
only, nginx's default site. Nothing here prepares them: that is the reader's
job, as «Antes de empezar» shows. The lab reaches them over SSH at their LAN
address (the lab's namespace holds the LAN gateway).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import base as base_image
from .errors import LabError
from .layout import CACHE_DIR, BackendLayout, LabLayout, NodeLayout
from .ssh import ssh_argv
from .sysutil import alive

PACKAGES = ("memcached", "nginx")
REPO_IN_MACHINE = "var/local/lab-servers"
SOURCES = "etc/apt/sources.list.d/lab-servers.list"
INSTALL = ("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
           + " ".join(PACKAGES) + " >/dev/null && systemctl is-active " + " ".join(PACKAGES))
INSTALL_TIMEOUT = 240.0


def repo_dir(suite: str) -> Path:
    recipe = {"suite": suite, "packages": PACKAGES, "mirror": base_image.MIRROR}
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    return CACHE_DIR / f"servers-{digest}"


def ensure_repo(suite: str, log=print) -> Path:
    """The local repository of PACKAGES for `suite` (downloaded once, cached beside the base)."""
    target = repo_dir(suite)
    if (target / "repo" / "Packages").exists():
        return target / "repo"
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / ".servers.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "repo" / "Packages").exists():
            return target / "repo"
        log(f"descargando {', '.join(PACKAGES)} para los servidores del laboratorio")
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        base_image.local_repo(tmp / "repo", tmp / "repo.log", suite, tmp / "apt", PACKAGES)
        shutil.rmtree(tmp / "apt", ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        os.rename(tmp, target)
    return target / "repo"


def add_repo(machine: NodeLayout, repo: Path) -> None:
    """Put the servers' repository in a machine's (mounted) overlay, as one more apt source."""
    shutil.copytree(repo, machine.root / REPO_IN_MACHINE)
    (machine.root / SOURCES).write_text(f"deb [trusted=yes] file:/{REPO_IN_MACHINE} ./\n")


def install(lay: LabLayout) -> None:
    """apt-get install PACKAGES on every backend machine, in parallel; LabError naming the first failure."""
    def one(machine: NodeLayout) -> str | None:
        proc = subprocess.run(ssh_argv(lay, machine.name, ["sh", "-c", INSTALL]), capture_output=True,
                              text=True, timeout=INSTALL_TIMEOUT)
        if proc.returncode == 0:
            return None
        return (proc.stdout + proc.stderr).strip()[-400:] or f"código {proc.returncode}"

    machines = lay.machines
    with ThreadPoolExecutor(len(machines) or 1) as pool:
        problems = dict(zip([m.name for m in machines], pool.map(one, machines), strict=True))
    for name, problem in problems.items():
        if problem:
            raise LabError(f"no se pudo instalar {', '.join(PACKAGES)} en el servidor {name}: {problem}")


def daemon_states(backend: BackendLayout, pids: dict) -> list[dict]:
    """A machine backend as status shows it: the machine itself (its services are systemd's)."""
    pid = pids.get("machine") if isinstance(pids, dict) else None
    running = bool(pid) and alive(pid)
    ports = sorted({port for port, _, _ in backend.http} | set(backend.tcp))
    return [{"label": "machine", "program": "systemd-nspawn", "ports": ports,
             "pid": pid if running else None, "state": "running" if running else "stopped"}]
