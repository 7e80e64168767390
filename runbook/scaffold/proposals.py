"""The answers the nodes suggest (`--from-nodes`): names, NICs, addresses, subnets and OS.

The management network is the one SSH came in by: the interface holding the
address each node was reached at. The LAN is the node's other interface with
a global IPv4 address (a /32 is a VIP that Keepalived added, not the LAN);
on a balancer not yet set up it may have none (the runbook's first step
gives it its address): then the first other interface is proposed, by name
only, and its addresses are the user's to give.
A name is the node's hostname (its first label) when it can be one. Where the
nodes disagree (not the same interface names, subnets or OS) the first node's
value is proposed and a note says so: the procedure uses one name per network
for every balancer. The proposals are only defaults: flags, an answers file
and the terminal's answers win, and the loader judges the result.
"""

from __future__ import annotations

from typing import Any

from ..names import NAME_RE
from .probe import Address, NodeFacts


def propose(facts: list[NodeFacts]) -> tuple[dict[str, Any], list[str]]:
    """(answers the nodes suggest, Spanish notes on what could not be told)."""
    notes: list[str] = []
    nodes: list[dict[str, Any]] = []
    per_net: dict[str, list[Address]] = {"lan": [], "management": []}
    lan_names: list[str] = []
    for f in facts:
        management = _management(f)
        lan = _lan(f, management)
        if management is None:
            notes.append(f"{f.target}: no se sabe por qué interfaz llegó SSH; di tú la red de gestión")
        if lan is None:
            spare = [i for i in f.interfaces if management is None or i != management.interface]
            if spare:
                lan_names.append(spare[0])
                notes.append(f"{f.target}: {spare[0]} no tiene dirección IPv4: se propone como interfaz de "
                             "la LAN; di tú su subred y la dirección de cada nodo")
            else:
                notes.append(f"{f.target}: no tiene otra interfaz para la LAN")
        else:
            lan_names.append(lan.interface)
        name = f.hostname.split(".")[0].lower()
        nodes.append({k: v for k, v in {
            "name": name if NAME_RE.match(name) else None,
            "lan": str(lan.address.ip) if lan else None,
            "management": str(management.address.ip) if management else None,
        }.items() if v is not None})
        for key, found in (("lan", lan), ("management", management)):
            if found is not None:
                per_net[key].append(found)
    proposed: dict[str, Any] = {"nodes": nodes}
    if lan_names and not per_net["lan"]:
        proposed["lan_interface"] = lan_names[0]
        if len(set(lan_names)) > 1:
            notes.append(f"los nodos no llaman igual a la interfaz de la red LAN "
                         f"({', '.join(sorted(set(lan_names)))}): se propone {lan_names[0]}")
    for key, found in per_net.items():
        if not found:
            continue
        first = found[0]
        proposed[f"{key}_interface"] = first.interface
        proposed[f"{key}_subnet"] = str(first.address.network)
        if any(a.interface != first.interface for a in found):
            notes.append(f"los nodos no llaman igual a la interfaz de la red {_word(key)} "
                         f"({', '.join(sorted({a.interface for a in found}))}): se propone {first.interface}")
        if any(a.address.network != first.address.network for a in found):
            notes.append(f"los nodos no están en la misma subred {_word(key)}: "
                         f"se propone {first.address.network}")
    systems = [f.os for f in facts if f.os]
    if systems:
        proposed["os"] = systems[0]
        if len(set(systems)) > 1:
            notes.append(f"los nodos no tienen el mismo sistema ({', '.join(sorted(set(systems)))})")
    users = {f.user for f in facts}
    if len(users) == 1 and None not in users:
        proposed["ssh_user"] = users.pop()
    return proposed, notes


def summary(facts: list[NodeFacts]) -> list[str]:
    """One line per node: what it said (printed before the questions)."""
    lines = []
    for f in facts:
        addresses = ", ".join(f"{a.interface} {a.address}" for a in f.addresses) or "ninguna dirección IPv4"
        lines.append(f"{f.target}: {f.hostname}, {f.os or 'sistema desconocido'}; {addresses}")
    return lines


def _management(f: NodeFacts) -> Address | None:
    for a in f.addresses:
        if str(a.address.ip) == f.reached_at:
            return a
    return None


def _lan(f: NodeFacts, management: Address | None) -> Address | None:
    for a in f.addresses:
        if a.address.network.prefixlen == 32:
            continue  # a VIP (Keepalived adds it as /32), not the node's own address
        if management is not None and a.interface == management.interface:
            continue
        return a
    return None


def _word(key: str) -> str:
    return "LAN" if key == "lan" else "de gestión"
