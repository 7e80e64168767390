"""SSH connections to a site's nodes, built only from the site's data.

A Fabric `Connection` is an invoke `Context`, so the executor and the
verifier are written against `.run()`/`.put()` and never care whether they
talk to a lab node or a real server. Host keys are always checked: Fabric's
default is to accept unknown keys, which we turn off.

A lab node is reached through its namespace: the lab's ssh_config says so
with `ProxyCommand ip netns exec <ns> nc %h %p`. Running that command costs
two processes per connection (tens of milliseconds, more on a busy
machine), so where we may (root) the TCP connection is made by a thread
that enters that same namespace, with the same effect: the socket lives in
the lab's namespace, which has no route out. Elsewhere the ProxyCommand runs.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import fabric
import paramiko

from .errors import BadInput
from .model import Node, Site

CONNECT_TIMEOUT = 5  # seconds; a lab node answers in ~0.2 s
# What the lab writes (runbook/lab/ssh.py), once Fabric has filled in %h %p.
LAB_PROXY = re.compile(r"ip netns exec ([A-Za-z0-9_.-]+) nc (\S+) (\d+)")
CLONE_NEWNET = 0x40000000  # linux/sched.h


class NodeUnreachable(BadInput):
    """The node could not be reached or refused us; the message is Spanish (exit code 2, as bad input)."""

    def __init__(self, node: str, message: str) -> None:
        super().__init__(f"{node}: {message}")
        self.node = node


@dataclass(frozen=True)
class SshTarget:
    node: str
    host: str
    user: str
    port: int
    config: Path | None
    identity: Path | None


def target(site: Site, node: Node) -> SshTarget:
    """Where and how to reach a node: its management address, as documented."""
    config = Path(os.path.expanduser(site.ssh.config)) if site.ssh.config else None
    identity = Path(os.path.expanduser(site.ssh.identity)) if site.ssh.identity else None
    return SshTarget(
        node=node.name,
        host=str(node.management_address),
        user=site.ssh.user,
        port=site.ssh.port,
        config=config,
        identity=identity,
    )


def connect(site: Site, node: Node) -> fabric.Connection:
    """Open one connection to the node (reused for all its work)."""
    t = target(site, node)
    if t.config is not None and not t.config.is_file():
        raise NodeUnreachable(
            node.name, f"no existe el ssh_config {t.config} (¿está levantado el laboratorio?)"
        )
    overrides = {"load_ssh_configs": t.config is None}
    config = fabric.Config(runtime_ssh_path=str(t.config) if t.config else None, overrides=overrides)
    connect_kwargs: dict = {}
    if t.identity is not None:
        connect_kwargs["key_filename"] = [str(t.identity)]
    conn = fabric.Connection(
        t.host,
        user=t.user,
        port=t.port,
        config=config,
        connect_timeout=CONNECT_TIMEOUT,
        connect_kwargs=connect_kwargs,
    )
    _strict_host_keys(conn)
    if site.lab is not None and not conn.gateway:
        # Lab addresses exist only inside the lab's namespaces: without the
        # ProxyCommand the host would send them out of its default route.
        raise NodeUnreachable(
            node.name,
            f"{t.host} no tiene ProxyCommand en {t.config}: un nodo del laboratorio solo se alcanza "
            "a través de su espacio de red (no se abre ninguna conexión)",
        )
    try:
        _through_lab_namespace(conn)
        conn.open()
    except paramiko.BadHostKeyException:
        raise NodeUnreachable(
            node.name, f"la clave de host de {t.host} NO coincide con known_hosts (posible suplantación)"
        ) from None
    except paramiko.SSHException as exc:
        text = str(exc)
        if "not found in known_hosts" in text:
            raise NodeUnreachable(
                node.name, f"{t.host} no está en known_hosts; no se acepta una clave desconocida"
            ) from None
        if "Authentication failed" in text or isinstance(exc, paramiko.AuthenticationException):
            raise NodeUnreachable(node.name, f"autenticación rechazada como {t.user}@{t.host}") from None
        raise NodeUnreachable(node.name, f"SSH falló con {t.host}: {text}") from None
    except (TimeoutError, OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise NodeUnreachable(node.name, f"no se puede conectar con {t.host}:{t.port} ({reason})") from None
    return conn


def _through_lab_namespace(conn: fabric.Connection) -> None:
    """Replace the lab's ProxyCommand by a socket opened inside its namespace, when we can."""
    match = LAB_PROXY.fullmatch(conn.gateway.strip()) if isinstance(conn.gateway, str) else None
    if match is None:
        return
    namespace, host, port = match.group(1), match.group(2), int(match.group(3))
    sock = namespace_socket(namespace, host, port)
    if sock is not None:
        conn.connect_kwargs["sock"] = sock
        conn.gateway = None  # Fabric would start the ProxyCommand otherwise


def namespace_socket(namespace: str, host: str, port: int) -> socket.socket | None:
    """A TCP connection made from inside network namespace `namespace`; None if we may not enter it.

    setns() moves only the calling thread, so a short-lived thread enters
    the namespace and connects; the socket stays in that namespace for its
    whole life, whichever thread uses it. Connection errors are raised
    (OSError), as they would be from the ProxyCommand.
    """
    outcome: dict = {}

    def enter_and_connect() -> None:
        try:
            fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            outcome["error"] = exc
            return
        try:
            if _libc().setns(fd, CLONE_NEWNET) != 0:
                outcome["refused"] = ctypes.get_errno()
                return
        finally:
            os.close(fd)
        try:
            outcome["sock"] = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=enter_and_connect, name=f"netns-{namespace}")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    if "refused" in outcome:
        if outcome["refused"] in (errno.EPERM, errno.EACCES, errno.ENOSYS):
            return None  # not root: the ProxyCommand (ip netns exec) says why, as before
        raise OSError(outcome["refused"], os.strerror(outcome["refused"]))
    return outcome["sock"]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _strict_host_keys(conn: fabric.Connection) -> None:
    # Known hosts come from the ssh_config's UserKnownHostsFile when it has one
    # (the lab writes its own), else from the user's ~/.ssh/known_hosts.
    client = conn.client
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    files = conn.ssh_config.get("userknownhostsfile", "~/.ssh/known_hosts").split()
    for name in files:
        path = Path(os.path.expanduser(name))
        if path.is_file():
            client.get_host_keys().load(str(path))


def close_all(connections: dict[str, fabric.Connection]) -> None:
    for conn in connections.values():
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing must never mask the real outcome
            pass
