"""The rehearsal's summary, in Spanish: one row per stage, then what to do next. Pure text."""

from __future__ import annotations

from pathlib import Path

from ..output.table import plain_table
from .run import Stage

WORDS = {True: "ok", False: "FALLA", None: "no ejecutada"}


def summary(name: str, stages: list[Stage], site_file: Path, seconds: float) -> str:
    rows = [[s.title, WORDS[s.ok], "-" if s.seconds is None else f"{s.seconds:.1f} s", s.detail]
            for s in stages]
    lines = [plain_table(f"Ensayo del sitio {name} en el laboratorio",
                         ["etapa", "resultado", "tiempo", "detalle"], rows, right={2}), ""]
    drills = [s for s in stages if s.requests is not None]
    if drills:
        lines.append("Peticiones fallidas a través de la IP virtual: " + ", ".join(
            f"{s.failed_requests} de {s.requests} ({s.title.split(': ', 1)[-1]})" for s in drills) + ".")
    took = _duration(seconds)
    if all(s.ok for s in stages):
        lines.append(f"Todo en verde en {took}. El ensayo sigue en marcha (su sitio: {site_file}):")
    else:
        failed = ", ".join(s.title for s in stages if s.ok is False)
        lines.append(f"El ensayo falla en {took} ({failed}). El laboratorio sigue en marcha para que lo "
                     f"mires (su sitio: {site_file}):")
    lines += [
        f"  ./rb lab.ssh --site {name} NODO       entra en un balanceador del ensayo",
        f"  ./rb lab.down --site {name}           lo detiene (o ./rb rehearse {name} --down)",
    ]
    if all(s.ok for s in stages):
        lines.append(f"Después, en tus nodos: ./rb deploy --site {name} --check")
    return "\n".join(lines)


def document(name: str, stages: list[Stage], site_file: Path, seconds: float) -> dict:
    """The same, for machines (--json)."""
    return {"site": name, "ok": all(s.ok for s in stages), "seconds": round(seconds, 1),
            "site_file": str(site_file), "stages": [s.to_json() for s in stages]}


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
