"""Tables and the topology diagram of a site, as page Markdown.

Generated from the same `Site` object deploy uses, so the addresses a reader
sees in the table, the diagram and the configuration files cannot disagree.
"""

from __future__ import annotations

import html
import posixpath
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..data.records import Site
from ..plan.steps import Plan
from ..vocabulary import Scope
from .steps import node_label

if TYPE_CHECKING:
    from ..checks import Check


def _role(site: Site, name: str) -> str:
    return "MASTER" if name == site.vip_owner.name else "BACKUP"


def node_table(site: Site) -> str:
    lan, mgmt = site.network.lan, site.network.management
    rows = [
        f"| Equipo | Papel | LAN «pública» (`{lan.interface}`) | Red interna (`{mgmt.interface}`) "
        "| VRRP: prioridad, estado al arrancar |",
        "|---|---|---|---|---|",
    ]
    for node in site.nodes_by_priority:
        rows.append(
            f"| **{node_label(node.name)}** | balanceador "
            f"| {node.lan_address}/{lan.subnet.prefixlen} | {node.management_address} "
            f"| {node.priority}, {_role(site, node.name)} |"
        )
    for srv in site.servers:
        internal = str(srv.management_address) if srv.management_address else "—"
        rows.append(f"| {node_label(srv.name)} | servidor | {srv.lan_address} | {internal} | — |")
    rows.append(
        f"| *IP virtual* | recurso del clúster | **{site.vip}** | — "
        f"| id {site.vrrp.router_id}, en el MASTER |"
    )
    facts = [f"máscara {lan.subnet.netmask}"]
    if lan.gateway:
        facts.append(f"puerta de enlace {lan.gateway}")
    if lan.dns:
        facts.append("DNS " + ", ".join(str(d) for d in lan.dns))
    return (
        "\n".join(rows)
        + "\n\nLos balanceadores llevan HAProxy y Keepalived; los servidores son los equipos "
        f"que hay detrás. Red LAN {lan.subnet}: " + ", ".join(facts) + ".\n"
    )


def _backend_label(site: Site, address) -> str:
    for srv in site.servers:
        if srv.lan_address == address:
            return f"{node_label(srv.name)}<br/>{address}"
    return str(address)


def topology(site: Site) -> str:
    """A Mermaid flowchart, top to bottom so that it stays readable on a phone:
    clients → VIP → balancers → backends (one edge per backend, naming its services)."""
    lines = ["```mermaid", "flowchart TB"]
    lines.append('    cliente(["Clientes de la LAN"])')
    lines.append(f'    vip{{{{"IP virtual<br/>{site.vip}"}}}}')
    lines.append('    subgraph lb["Balanceadores"]')
    for node in site.nodes_by_priority:
        lines.append(
            f'        n_{node.name}["{node_label(node.name)}<br/>{node.lan_address}<br/>'
            f'{_role(site, node.name)}<br/>prioridad {node.priority}"]'
        )
    lines.append("    end")
    backends: dict[str, str] = {}
    services: dict[str, list[str]] = {}
    for svc in site.services:
        for b in svc.backends:
            backends.setdefault(str(b.address), _backend_label(site, b.address))
            services.setdefault(str(b.address), []).append(f"{svc.name} :{b.port}")
    lines.append('    subgraph srv["Servidores"]')
    for i, label in enumerate(backends.values()):
        lines.append(f'        b{i}["{label}"]')
    lines.append("    end")
    lines.append("    cliente --> vip")
    for node in site.nodes_by_priority:
        style = "==>|tiene la IP|" if node.name == site.vip_owner.name else '-.->|"si cae<br/>el MASTER"|'
        lines.append(f"    vip {style} n_{node.name}")
    for i, address in enumerate(backends):
        lines.append(f'    lb -->|"{"<br/>".join(services[address])}"| b{i}')
    lines.append("```")
    return "\n".join(lines) + "\n"


def services_table(site: Site) -> str:
    rows = [
        "| Servicio | Escucha en | Reparto | Salud | Servidores |",
        "|---|---|---|---|---|",
    ]
    for svc in site.services:
        if svc.health_check:
            health = f"`GET {svc.health_check.path}`"
        else:
            health = "conexión TCP"
        if svc.sticky_cookie:
            health += f"; cookie `{svc.sticky_cookie}`"
        servers = "<br/>".join(
            f"{_backend_label(site, b.address).split('<br/>')[0]} `{b.address}:{b.port}`"
            for b in svc.backends
        )
        listen = f"`{site.vip}:{svc.port}`"
        rows.append(f"| **{svc.name}** ({svc.mode}) | {listen} | {svc.balance} | {health} | {servers} |")
    return "\n".join(rows) + "\n"


_SCOPES = {Scope.NODE: "en cada nodo", Scope.CLUSTER: "del clúster"}
StepPage = Callable[[str], tuple[str, str] | None]  # step id -> (page, title)


def _link(page: str, current_page: str) -> str:
    """A step's page as a link from the page being built."""
    return posixpath.relpath(page, posixpath.dirname(current_page) or ".")


def verify_checks(items: list[Check], step_page: StepPage, current_page: str) -> str:
    """The checks `invoke verify` runs beyond the documented ones, each linked to its step."""
    out = []
    for item in items:
        attrs = (
            f'class="rb-verify-check" data-check-id="{html.escape(item.id, quote=True)}" '
            f'data-scope="{item.scope.value}"'
        )
        where = _SCOPES[item.scope]
        body = [f"**{item.title}** (`{item.id}`, {where})", "", item.description.strip()]
        if item.step:
            found = step_page(item.step)
            if found is None:
                raise ValueError(f"la comprobación {item.id!r} cita el paso desconocido {item.step!r}")
            page, title = found
            body += ["", f"Paso relacionado: [{title}]({_link(page, current_page)}#{item.step})."]
        out.append(f"<div {attrs} markdown>\n\n" + "\n".join(body) + "\n\n</div>\n")
    return "\n".join(out)


def step_checks_list(plan: Plan, step_page: StepPage, current_page: str) -> str:
    """Every documented check as a command to run by hand, linked to its step."""
    out = []
    for step in plan.steps:
        found = step_page(step.id)
        for i, check in enumerate(step.checks[plan.node_names[0]]):
            commands = list(dict.fromkeys(step.checks[n][i].command for n in plan.node_names))
            if found is None:
                raise ValueError(f"el paso {step.id!r} no está en ninguna página")
            link = _link(found[0], current_page)
            where = f" Solo donde exista `{step.when_file_exists}`." if step.when_file_exists else ""
            shown = " / ".join(f"`{c}`" for c in commands)
            out.append(f"- [{check.title}]({link}#{step.id}): {shown}.{where}")
    return "\n".join(out) + "\n"
