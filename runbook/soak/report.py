"""The soak's summary for people: a table of rounds (rich on a terminal, plain off it), then the figures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..output.table import plain_table
from ..output.terminal import Plain
from ..output.verbatim import emit
from .rules import seconds

if TYPE_CHECKING:
    from rich.console import Console

HEADERS = ["Ronda", "Fallo", "Nodo", "Reparación", "Fallidas", "Servicio de vuelta", "verify tras reparar",
           "Deploy siguiente", "Reglas"]
RIGHT = (0, 4)


def title(doc: dict) -> str:
    seed = "fallos dados" if doc["seed"] is None else f"semilla {doc['seed']}"
    return (f"Prueba de resistencia en el sitio {doc['site']}: {len(doc['rounds'])} rondas, {seed}, "
            f"{doc['rate']:g} peticiones/s")


def row(r: dict) -> list[str]:
    second = r["second_deploy"]
    green = r["verify_green_after_s"]
    return [
        str(r["round"]),
        r["fault"],
        r["node"],
        "deploy" if r["repair"] == "deploy" else "restaurar",
        str(r["failed"]),
        seconds(r["served_again_s"], "no volvió"),
        "no" if green is None else f"sí, {seconds(green)}",
        "sin cambios" if second["changed"] == 0 and second["exit"] == 0
        else f"{second['changed']} cambio(s), código {second['exit']}",
        "rotas" if r["broken"] else "cumplidas",
    ]


def print_summary(doc: dict, console: Console | Plain) -> None:
    rows = [row(r) for r in doc["rounds"]]
    if console.is_terminal:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=Text(title(doc), style="table.title"))
        for index, header in enumerate(HEADERS):
            table.add_column(header, overflow="fold", justify="right" if index in RIGHT else "left")
        for cells, r in zip(rows, doc["rounds"], strict=True):
            verdict = Text(cells[-1], style="bold red" if r["broken"] else "green")
            table.add_row(*(Text(c) for c in cells[:-1]), verdict)
        console.print(table)
    else:
        emit(console, plain_table(title(doc), HEADERS, rows, right=RIGHT))
    for r in doc["rounds"]:
        for rule in r["broken"]:
            emit(console, (f"✗ ronda {r['round']} ({r['fault']}): ", "bold red"), rule)
    s = doc["summary"]
    emit(console)
    emit(console, ("Por fallo:", "bold"))
    for name, f in sorted(s["per_fault"].items()):
        emit(console, f"  {name} ×{f['rounds']}: {f['failed']} fallidas (máx. {f['max_failed']}), "
                      f"servicio de vuelta en {seconds(f['max_served_again_s'], 'sin volver')} como mucho")
    broken = s["broken_rounds"]
    verdict = (f"{len(broken)} ronda(s) rompen las reglas: " + ", ".join(map(str, broken))
               if broken else "ninguna ronda rompe las reglas")
    mean = "—" if s["round_s_mean"] is None else f"{s['round_s_mean']:.0f} s".replace(".", ",")
    emit(console, (f"soak {doc['site']}: {s['rounds']} rondas, {s['failed']} peticiones fallidas, {verdict} "
                   f"(ronda media {mean})", "bold red" if s["broken_rounds"] else "green"))
