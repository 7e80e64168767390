"""The drill's report: a Spanish table for people, JSON for machines."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

# The keys every scenario has in the JSON document (more may follow).
KEYS = ("name", "requests", "failed", "rate_rps", "longest_error_window_s", "takeover_s",
        "vip_moved_s", "verify_after")


def to_json(doc: dict) -> str:
    scenarios = [{**{k: s[k] for k in KEYS}, **s} for s in doc["scenarios"]]
    return json.dumps({"site": doc["site"], **doc, "scenarios": scenarios}, ensure_ascii=False, indent=2)


def seconds(value: float | None, none: str = "—") -> str:
    return none if value is None else f"{value:.2f} s".replace(".", ",")


def _range(s: dict, key: str, show) -> str:
    """The value, and with several runs its range: «0 (0–3)»."""
    text = show(s[key])
    spread = s.get("spread", {}).get(key)
    if not spread or s.get("runs", 1) < 2 or spread["min"] == spread["max"]:
        return text
    return f"{text} ({show(spread['min'])}–{show(spread['max'])})"


def _count(value) -> str:
    return f"{value:g}".replace(".", ",")


def print_table(doc: dict, console: Console) -> None:
    repeat = doc.get("repeat", 1)
    runs = f"; mediana de {repeat} ejecuciones y, entre paréntesis, su rango" if repeat > 1 else ""
    table = Table(title=f"Simulacro de fallos en el sitio {doc['site']} "
                        f"({doc['rate']:g} peticiones/s, {doc['duration_s']:g} s por escenario{runs})")
    for column in ("Escenario", "Peticiones", "Fallidas", "Ritmo", "Mayor corte", "Recuperación",
                   "IP movida", "Latencia añadida p50/p99", "HAProxy: DOWN/UP", "verify"):
        table.add_column(column, overflow="fold")
    for s in doc["scenarios"]:
        haproxy = "—"
        if "marked_down_s" in s:
            haproxy = (_range(s, "marked_down_s", lambda v: seconds(v, "no")) + " / "
                       + _range(s, "marked_up_s", lambda v: seconds(v, "no")))
        table.add_row(
            s["name"], _range(s, "requests", _count), _range(s, "failed", _count),
            f"{s['rate_rps']:.0f}/s".replace(".", ","),
            _range(s, "longest_error_window_s", seconds),
            _range(s, "takeover_s", lambda v: seconds(v, "sin recuperar")),
            _range(s, "vip_moved_s", lambda v: seconds(v, "no se movió")),
            _range(s, "added_p50_s", seconds) + " / " + _range(s, "added_p99_s", seconds)
            if "added_p50_s" in s else "—",
            haproxy,
            "correcto" if s["verify_after"] == "ok" else "falla",
        )
    console.print(table)
    for s in doc["scenarios"]:
        notes = []
        if s["failed_after_restore"]:
            notes.append(f"{s['failed_after_restore']} fallidas tras restablecer")
        if s["two_holders_s"]:
            notes.append(f"IP virtual en dos nodos durante {seconds(s['two_holders_s'])}")
        if s.get("verify_during"):
            notes.append("verify durante el fallo: " + ", ".join(s["verify_during"]))
        if s["verify_after_failures"]:
            notes.append("verify después: " + ", ".join(s["verify_after_failures"]))
        if s["errors"]:
            notes.append("errores: " + ", ".join(f"{k} ×{v}" for k, v in s["errors"].items()))
        if notes:
            console.print(f"{s['name']}: " + "; ".join(notes), markup=False, highlight=False)
