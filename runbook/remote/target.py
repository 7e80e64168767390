"""Who a node is over SSH and how a failure to reach it is told: shared by both transports.

Two transports reach a node: OpenSSH with connection multiplexing
(sshmux.py: every command of verify and deploy) and Fabric/paramiko
(transport.py: deploy's file uploads, the drill). Both build the target
from the site's data only and refuse a node with the same Spanish
messages, kept here once. This module imports nothing heavy, so a command
that only needs the OpenSSH path never loads paramiko.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInputError

if TYPE_CHECKING:
    from ..data.records import Node, Site

CONNECT_TIMEOUT = 5  # seconds; a lab node answers in ~0.2 s
# What the lab writes (runbook/lab/ssh.py), once %h %p are filled in.
LAB_PROXY = re.compile(r"ip netns exec ([A-Za-z0-9_.-]+) nc (\S+) (\d+)")


class NodeUnreachableError(BadInputError):
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


def require_config(t: SshTarget) -> None:
    """The site's ssh_config must exist (the lab writes it when it comes up)."""
    if t.config is not None and not t.config.is_file():
        raise NodeUnreachableError(
            t.node, f"no existe el ssh_config {t.config} (¿está levantado el laboratorio?)")


# The messages a user sees when a node cannot be used, whichever transport failed.


def no_lab_proxy(t: SshTarget) -> NodeUnreachableError:
    # Lab addresses exist only inside the lab's namespaces: without the
    # ProxyCommand the host would send them out of its default route.
    return NodeUnreachableError(
        t.node,
        f"{t.host} no tiene ProxyCommand en {t.config}: un nodo del laboratorio solo se alcanza "
        "a través de su espacio de red (no se abre ninguna conexión)",
    )


def changed_host_key(t: SshTarget) -> NodeUnreachableError:
    return NodeUnreachableError(
        t.node, f"la clave de host de {t.host} NO coincide con known_hosts (posible suplantación)"
    )


def unknown_host_key(t: SshTarget) -> NodeUnreachableError:
    return NodeUnreachableError(
        t.node, f"{t.host} no está en known_hosts; no se acepta una clave desconocida")


def auth_refused(t: SshTarget) -> NodeUnreachableError:
    return NodeUnreachableError(t.node, f"autenticación rechazada como {t.user}@{t.host}")


def cannot_connect(t: SshTarget, reason: str) -> NodeUnreachableError:
    return NodeUnreachableError(t.node, f"no se puede conectar con {t.host}:{t.port} ({reason})")


def out_of_time(t: SshTarget, seconds: float) -> NodeUnreachableError:
    """The project's own bound on reaching a node (reach.py) ran out."""
    return cannot_connect(t, f"sin respuesta en {seconds:g} s, el límite para alcanzar un nodo")


def ssh_failed(t: SshTarget, text: str) -> NodeUnreachableError:
    return NodeUnreachableError(t.node, f"SSH falló con {t.host}: {text}")


def close_all(connections: dict) -> None:
    """Close every connection of a run (either transport's); a failure to close is not the outcome."""
    for conn in connections.values():
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing must never mask the real outcome
            pass
