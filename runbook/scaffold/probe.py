"""What a node says about itself over SSH, read-only: hostname, OS, addresses (`--from-nodes`).

One command per node, through the same OpenSSH connection as deploy and
verify (remote/sshmux.py): BatchMode=yes, StrictHostKeyChecking=yes,
UpdateHostKeys=no, so an unknown or changed host key is refused (in Spanish,
exit 2) and no known_hosts file is ever written. The command only reads
(`hostname`, /etc/os-release, `ip -j addr`, $SSH_CONNECTION for the address
the node was reached at); a master this command made is closed at the end.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Interface
from pathlib import Path

from ..errors import BadInputError
from ..remote.sshmux import MuxConnection, stop_master
from ..remote.target import NodeUnreachableError, SshTarget
from ..wording import shown

MARK = "@@runbook-new@@"
# Read-only, and the same on any Debian or Ubuntu: every part is a plain read.
COMMAND = (f"hostname; echo {MARK}; cat /etc/os-release; echo {MARK}; "
           f'echo "$SSH_CONNECTION"; echo {MARK}; ip -j addr show')
TIMEOUT_S = 20
_HOST_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$")
_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class ProbeError(BadInputError):
    """A node's answer could not be read as expected (Spanish, one line)."""


@dataclass(frozen=True)
class Address:
    interface: str
    address: IPv4Interface  # with its prefix: 10.20.0.11/24


@dataclass(frozen=True)
class NodeFacts:
    """What one node said."""

    target: str  # as given: root@10.30.0.11
    user: str | None
    hostname: str
    os: str | None  # debian12, ubuntu2204... (ID and VERSION_ID of /etc/os-release)
    reached_at: str | None  # the node's address of the SSH connection ($SSH_CONNECTION)
    addresses: tuple[Address, ...] = field(default=())
    # Every interface but loopback, in the kernel's order, with or without an address (the LAN
    # interface of a balancer not yet set up has none: the runbook's first step gives it one).
    interfaces: tuple[str, ...] = field(default=())


def parse_targets(text: str) -> list[tuple[str | None, str]]:
    """`root@lb1,10.30.0.12` -> [("root", "lb1"), (None, "10.30.0.12")]; BadInputError when not that."""
    out = []
    for part in text.split(","):
        part = part.strip()
        user, sep, host = part.rpartition("@")
        if not sep:
            user = None
        if not host or not _HOST_RE.match(host) or (user is not None and not _USER_RE.match(user)):
            raise BadInputError(f"--from-nodes: {shown(part)} no es usuario@equipo ni un equipo "
                                "(p. ej. root@10.30.0.11,root@10.30.0.12)")
        out.append((user, host))
    if len({h for _u, h in out}) != len(out):
        raise BadInputError("--from-nodes nombra dos veces el mismo equipo")
    return out


def probe(user: str | None, host: str, ssh_user: str, port: int, config: Path | None,
          identity: Path | None) -> NodeFacts:
    """Ask one node (NodeUnreachableError, Spanish, if it cannot be reached or its key is unknown)."""
    target = SshTarget(node=host, host=host, user=user or ssh_user, port=port, config=config,
                       identity=identity)
    conn = MuxConnection(target, lab_namespace=None)
    conn.open()
    try:
        result = conn.run(COMMAND, timeout=TIMEOUT_S)
    finally:
        if conn.made_master:
            stop_master(conn.control)  # a one-off command: no master left behind for ControlPersist
    if result.exited != 0:
        last = (result.stderr.strip().splitlines() or ["sin mensaje"])[-1]
        raise NodeUnreachableError(host, f"la lectura de sus datos falló (código {result.exited}: {last})")
    return parse(f"{user}@{host}" if user else host, user, result.stdout)


def parse(target: str, user: str | None, output: str) -> NodeFacts:
    parts = output.split(f"{MARK}\n")
    if len(parts) != 4:
        raise ProbeError(f"{target}: respuesta inesperada (¿no es Linux con iproute2?)")
    hostname, os_release, connection, addr_json = parts
    links = _links(target, addr_json)
    return NodeFacts(target=target, user=user, hostname=hostname.strip(), os=_os(os_release),
                     reached_at=_reached_at(connection), addresses=_addresses(links),
                     interfaces=tuple(str(link.get("ifname")) for link in links))


def _os(os_release: str) -> str | None:
    values = {}
    for line in os_release.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"').strip("'")
    ident, version = values.get("ID"), values.get("VERSION_ID")
    if not ident or not version:
        return None
    return f"{ident}{version.replace('.', '')}".lower()


def _reached_at(connection: str) -> str | None:
    fields = connection.split()  # client_ip client_port server_ip server_port
    return fields[2] if len(fields) == 4 else None


def _links(target: str, text: str) -> list[dict]:
    """The interfaces of `ip -j addr`, loopback left out."""
    try:
        links = json.loads(text or "[]")
    except json.JSONDecodeError:
        raise ProbeError(f"{target}: «ip -j addr» no dio JSON (¿iproute2 demasiado antiguo?)") from None
    if not isinstance(links, list):
        return []
    return [link for link in links if isinstance(link, dict) and link.get("link_type") != "loopback"
            and link.get("ifname")]


def _addresses(links: list[dict]) -> tuple[Address, ...]:
    out = []
    for link in links:
        for info in link.get("addr_info", []):
            if info.get("family") != "inet" or info.get("scope") != "global":
                continue
            try:
                address = IPv4Interface(f"{info['local']}/{info['prefixlen']}")
            except (KeyError, ValueError):
                continue
            out.append(Address(str(link.get("ifname")), address))
    return tuple(out)
