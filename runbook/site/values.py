"""The tutorial's own values (interface, addresses, VIP, router id, names) and where each first appears.

A reader builds the cluster on their own network: every value that is this site's and not
theirs is listed once, from the same `Site` the plan is built from, in the table «valores
de este tutorial → los tuyos»; the first step whose commands or files use a value says so
and links to that table. Both read the same list, so neither can drift from the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..data.records import Site
from ..plan.steps import FileAction, Plan
from .steps import node_label

TABLE_PAGE = "antes.md"
TABLE_ANCHOR = "tus-valores"


@dataclass(frozen=True)
class TutorialValue:
    what: str  # Spanish: what it is ("IP virtual")
    value: str  # as the pages write it
    pattern: str  # how it is found in a command or a file (regex)


def _address(text: str) -> str:
    return rf"(?<![\d.]){re.escape(text)}(?![\d])"


def _word(text: str) -> str:
    return rf"(?<![\w.-]){re.escape(text)}(?![\w-])"


def _at(what: str, address) -> TutorialValue:
    return TutorialValue(what, str(address), _address(str(address)))


def tutorial_values(site: Site) -> list[TutorialValue]:
    lan, mgmt = site.network.lan, site.network.management
    out = [
        TutorialValue("Interfaz de la LAN (la del modo puente)", lan.interface, _word(lan.interface)),
        TutorialValue("Interfaz de la red interna (de gestión)", mgmt.interface, _word(mgmt.interface)),
        _at("Subred de la LAN", lan.subnet),
    ]
    if lan.gateway:
        out.append(_at("Puerta de enlace de la LAN", lan.gateway))
    for dns in lan.dns:
        out.append(_at("Servidor DNS", dns))
    out += [
        _at("IP virtual (libre en tu LAN: nadie debe usarla)", site.vip),
        TutorialValue("Identificador del router virtual (VRRP; libre en tu LAN)", str(site.vrrp.router_id),
                      rf"virtual_router_id {site.vrrp.router_id}\b"),
    ]
    for node in site.nodes_by_priority:
        label = node_label(node.name)
        out += [
            TutorialValue(f"{label}: nombre", node.name, rf"router_id {re.escape(node.name)}\b"),
            _at(f"{label}: dirección en la LAN", node.lan_address),
            _at(f"{label}: dirección en la red interna", node.management_address),
            TutorialValue(f"{label}: prioridad VRRP", str(node.priority), rf"priority {node.priority}\b"),
        ]
    for srv in site.servers:
        out.append(_at(f"{node_label(srv.name)} (servidor): dirección en la LAN", srv.lan_address))
    out.append(TutorialValue("Usuario de la página de estadísticas", site.stats.user,
                             rf"stats auth {re.escape(site.stats.user)}:"))
    return out


def _texts(plan: Plan, step_id: str) -> str:
    step = plan.step(step_id)
    texts = []
    for node, actions in step.actions.items():
        for action in actions:
            if isinstance(action, FileAction):
                texts += [action.path, action.content, action.validate or "", action.on_change or ""]
            else:
                texts += [action.command, action.unless or ""]
        texts += [c.command for c in step.checks[node]]
    return "\n".join(texts)


def first_steps(plan: Plan) -> dict[str, str]:
    """For each value (by `value`+`what`), the id of the first step that uses it, in procedure order."""
    out: dict[str, str] = {}
    values = tutorial_values(plan.site)
    for step in plan.steps:
        text = _texts(plan, step.id)
        for v in values:
            if v.what not in out and re.search(v.pattern, text):
                out[v.what] = step.id
    return out


def values_table(plan: Plan, find_step, page: str) -> str:
    """The table «valores de este tutorial → los tuyos» (Markdown), key column first."""
    first = first_steps(plan)
    rows = ["| Qué | En este tutorial | Lo usa primero el paso | El tuyo |", "|---|---|---|---|"]
    for v in tutorial_values(plan.site):
        step_id = first.get(v.what)
        where = "—"
        if step_id is not None:
            found = find_step(step_id)
            if found is not None:
                target, title = found
                where = f"[{title}]({_relative(page, target)}#{step_id})"
        rows.append(f"| {v.what} | `{v.value}` | {where} | |")
    return "\n".join(rows) + "\n"


def values_note(plan: Plan, step_id: str, page: str) -> str | None:
    """The note a step gets when it is the first to use some of the tutorial's values."""
    first = first_steps(plan)
    mine = [v for v in tutorial_values(plan.site) if first.get(v.what) == step_id]
    if not mine:
        return None
    listed = "; ".join(f"{v.what}, `{v.value}`" for v in mine)
    link = f"{_relative(page, TABLE_PAGE)}#{TABLE_ANCHOR}"
    return (
        f"Este paso es el primero que usa estos valores del tutorial. {listed}. Escribe los tuyos "
        f"donde aparezcan, aquí y en los pasos siguientes ([tus valores]({link}))."
    )


def _relative(page: str, target: str) -> str:
    # Every page lives in the top folder of docs/.
    return "" if page == target else target
