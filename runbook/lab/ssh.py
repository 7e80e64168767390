"""SSH into the lab like into production: keys, known_hosts, ssh_config.

The host has no lab address; `ProxyCommand ip netns exec <lab ns> nc %h %p`
opens the TCP connection from inside the lab namespace. If the lab is down
that command fails at once and nothing leaves the machine. Host keys are
checked strictly against the known_hosts written here, which lists every
node under both its name and its management address.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from .errors import LabError
from .layout import LabLayout, NodeLayout
from .sysutil import run


def ensure_key(lay: LabLayout) -> str:
    """The lab's client key (created once); returns the public key line."""
    pub = lay.key.with_name(lay.key.name + ".pub")
    if not lay.key.exists() or not pub.exists():
        lay.key.parent.mkdir(parents=True, exist_ok=True)
        lay.key.unlink(missing_ok=True)
        pub.unlink(missing_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"runbook-lab-{lay.site_name}",
             "-f", str(lay.key)], "generar la clave SSH del laboratorio")
    os.chmod(lay.key, 0o600)
    return pub.read_text()


def _host_patterns(lay: LabLayout, node: NodeLayout) -> list[str]:
    names = [node.name, str(node.management.ip)]
    if lay.ssh_port != 22:
        return [f"[{n}]:{lay.ssh_port}" for n in names]
    return names


def write_known_hosts(lay: LabLayout, host_keys: dict[str, dict]) -> None:
    lines = []
    for node in lay.ssh_hosts:
        patterns = ",".join(_host_patterns(lay, node))
        for keytype, blob in host_keys[node.name].values():
            lines.append(f"{patterns} {keytype} {blob}\n")
    _write(lay.known_hosts, "".join(lines))


def write_config(lay: LabLayout) -> None:
    text = [
        "# Escrito por `./rb lab.up`: acceso SSH a los nodos del laboratorio.\n",
        "# Uso: ssh -F este_fichero NODO   (o la dirección de gestión del nodo)\n\n",
    ]
    every = []
    for node in lay.ssh_hosts:
        addr = str(node.management.ip)
        every += [node.name, addr]
        text.append(f"Host {node.name} {addr}\n    HostName {addr}\n\n")
    text += [
        f"Host {' '.join(every)}\n",
        f"    User {lay.ssh_user}\n",
        f"    Port {lay.ssh_port}\n",
        f"    IdentityFile {lay.key}\n",
        "    IdentitiesOnly yes\n",
        f"    UserKnownHostsFile {lay.known_hosts}\n",
        "    GlobalKnownHostsFile /dev/null\n",
        "    StrictHostKeyChecking yes\n",
        "    CheckHostIP no\n",
        f"    ProxyCommand ip netns exec {lay.netns} nc %h %p\n",
        "    ConnectTimeout 5\n",
        "    LogLevel ERROR\n",
    ]
    _write(lay.ssh_config, "".join(text))


def _write(path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(content)
    os.replace(tmp, path)


def ssh_argv(lay: LabLayout, node: str, argv: list[str] | None = None, *,
             tty: bool = False) -> list[str]:
    base = ["ssh", "-F", str(lay.ssh_config), *(["-t"] if tty else ["-o", "BatchMode=yes"]), node]
    if not argv:
        return base
    # ssh joins its arguments with spaces for the remote shell: quote them.
    return [*base, "--", shlex.join(argv)]


def wait_ready(lay: LabLayout, names: list[str], timeout: float = 60.0,
               on_fail=None) -> None:
    """Wait until every node runs a command over SSH (strict host keys)."""
    deadline = time.monotonic() + timeout

    def one(name: str) -> str | None:
        last = ""
        while time.monotonic() < deadline:
            proc = subprocess.run(ssh_argv(lay, name, ["true"]), capture_output=True, text=True,
                                  timeout=max(1.0, deadline - time.monotonic()) + 5)
            if proc.returncode == 0:
                return None
            last = proc.stderr.strip()
            if on_fail is not None:
                on_fail(name)  # raises if the container died: no point waiting
            time.sleep(0.1)
        return last

    with ThreadPoolExecutor(len(names) or 1) as pool:
        errors = dict(zip(names, pool.map(one, names), strict=True))
    failed = {n: e for n, e in errors.items() if e is not None}
    if failed:
        detail = "; ".join(f"{n}: {e or 'sin respuesta'}" for n, e in failed.items())
        raise LabError(f"los nodos no responden por SSH en {timeout:.0f} s ({detail})")
