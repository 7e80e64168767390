"""The "Resultados medidos" page: tables and plots from the last saved drill and benchmarks.

The numbers come from a committed JSON file (benchmarks/measured.json,
written by `benchmarks/bench_summary.py --save`), so the site builds on any
machine, without the lab. Plots are inline SVG drawn here at build time: no
script, no CDN, nothing the reader's browser has to fetch.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from ..errors import BadInputError
from .blocks import BlockStash


class ResultsError(BadInputError, ValueError):
    """The results file is missing or malformed (Spanish message)."""


SCENARIO_KEYS = ("name", "title", "fault", "requests", "failed", "rate_rps", "longest_error_window_s",
                 "takeover_s", "vip_moved_s", "verify_after", "fault_at_s", "restore_at_s", "timeline")


def load_results(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ResultsError(f"no se puede leer {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ResultsError(f"{path} no es JSON válido: {exc}") from None
    try:
        for key in ("when", "machine", "drill"):
            data[key]  # noqa: B018 - presence check
        for s in data["drill"]["doc"]["scenarios"]:
            missing = [k for k in SCENARIO_KEYS if k not in s]
            if missing:
                raise ResultsError(f"{path}: al escenario {s.get('name')!r} le falta {', '.join(missing)}")
    except (KeyError, TypeError) as exc:
        raise ResultsError(f"{path}: falta el campo {exc}") from None
    return data


def seconds(value: float | None, none: str = "—") -> str:
    """Spanish decimal comma, two decimals: 3.576 -> "3,58 s"."""
    return none if value is None else f"{value:.2f} s".replace(".", ",")


def scenario(data: dict, name: str) -> dict:
    for s in data["drill"]["doc"]["scenarios"]:
        if s["name"] == name:
            return s
    raise ResultsError(f"los resultados no tienen el escenario {name!r}")


def measured(data: dict, name: str, key: str) -> str:
    """One figure for prose in other pages: `<!-- runbook:medida node-crash vip_moved_s -->`."""
    s = scenario(data, name)
    if key not in s:
        raise ResultsError(f"el escenario {name!r} no tiene la medida {key!r}")
    value = s[key]
    return seconds(value) if key.endswith("_s") else str(value)


def _md(text: str) -> str:
    """Data as Markdown table text: no markup interpretation, no column breaks."""
    return html.escape(str(text)).replace("|", "&#124;")


def results_markdown(data: dict, stash: BlockStash) -> str:
    doc = data["drill"]["doc"]
    machine = data["machine"]
    out = [
        f"Medido el **{_md(data['when'])}** en {_md(machine.get('description', ''))} "
        f"({machine.get('cpus', '?')} núcleos, núcleo Linux {_md(machine.get('kernel', '?'))}), "
        f"sobre el laboratorio del sitio `{_md(doc['site'])}`{_copy(doc['site'])}{_load(machine)}. "
        "Orden exacta:",
        "",
        f"```bash\n{data['drill']['command']}\n```",
        "",
        f"Carga: {doc['rate']:g} peticiones/s a la IP virtual desde el cliente del laboratorio, "
        f"{doc['duration_s']:g} s por escenario; una petición sin respuesta en "
        f"{seconds(doc['request_timeout_s'])} cuenta como fallida.",
        "",
        '<div class="rb-compacta" markdown>',
        "",
        "| Escenario | Peticiones | Fallidas | Ritmo | Mayor corte | Recuperación | IP movida "
        "| verify después |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in doc["scenarios"]:
        out.append(
            f"| **{_md(s['title'])}** (`{s['name']}`) | {s['requests']} | {s['failed']} "
            f"| {s['rate_rps']:.0f}/s | {seconds(s['longest_error_window_s'])} "
            f"| {seconds(s['takeover_s'], 'sin recuperar')} | {seconds(s['vip_moved_s'], 'no se movió')} "
            f"| {'correcto' if s['verify_after'] == 'ok' else 'falla'} |"
        )
    out += ["", "</div>"]
    out += ["", "## Cada conmutación, segundo a segundo", ""]
    for s in doc["scenarios"]:
        plot = stash.add(plot_svg(s, doc["rate"]))
        out += [f"### {_md(s['title'])} (`{s['name']}`)", "", _notes(s), "", plot, ""]
    timers = data.get("timers")
    if timers:
        out += _timers(timers)
    preemption = data.get("preemption")
    if preemption:
        out += _preemption(preemption)
    bench = data.get("benchmarks")
    if bench:
        out += _benchmarks(bench)
    return "\n".join(out) + "\n"


def _load(machine: dict) -> str:
    """The machine is shared with other work: how busy it was (load average, 1 min)."""
    load = machine.get("load")
    if not load:
        return ""
    before, after = (f"{v:.1f}".replace(".", ",") for v in load)
    return f", con una carga media de la máquina de {before} antes del simulacro y {after} después"


def _notes(s: dict) -> str:
    parts = [f"Qué se hace: {_md(s['fault'])}. Fallo a los {seconds(s['fault_at_s'])} de carga, "
             f"restablecido a los {seconds(s['restore_at_s'])}."]
    if s.get("new_holder"):
        parts.append(f"La IP virtual pasó de {s.get('holder_before')} a {s['new_holder']} en "
                     f"{seconds(s['vip_moved_s'])}.")
    else:
        parts.append("La IP virtual no se movió.")
    if s.get("two_holders_s"):
        parts.append(f"Dos nodos tuvieron la IP virtual a la vez durante {seconds(s['two_holders_s'])}.")
    cut = s.get("failed_at_vip_change")
    if cut:
        parts.append(f"Conexiones cortadas al pasar la IP virtual de un nodo a otro: {cut} "
                     "(peticiones fallidas que seguían abiertas en ese instante).")
    if s.get("failed_after_restore") == 1:
        parts.append("Al restablecer falló 1 petición.")
    elif s.get("failed_after_restore"):
        parts.append(f"Al restablecer fallaron {s['failed_after_restore']} peticiones.")
    elif "failed_after_restore" in s:
        parts.append("Al restablecer no falló ninguna petición.")
    return " ".join(parts)


def _timers(timers: dict) -> list[str]:
    when = f"Medido el **{_md(timers['when'])}**, con la orden:" if "when" in timers else "Orden:"
    out = ["## Temporizadores de VRRP", "", when, "", f"```bash\n{timers['command']}\n```", "",
           '<div class="rb-compacta" markdown>', "",
           "| Temporizadores | Caída del nodo: IP movida | recuperación | fallidas "
           "| Parada de Keepalived: fallidas | Mantenimiento: fallidas | Fallidas al volver el preferido |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for v in timers["variants"]:
        crash, stop, planned = v["node-crash"], v["planned-stop"], v["planned"]
        back = crash["failed_after_restore"] + stop["failed_after_restore"] + planned["failed_after_restore"]
        out.append(
            f"| {_md(v['label'])} | {seconds(crash['vip_moved_s'], 'no se movió')} "
            f"| {seconds(crash['takeover_s'], 'sin recuperar')} | {crash['failed']} | {stop['failed']} "
            f"| {planned['failed']} | {back} |"
        )
    return [*out, "", "</div>", ""]


def _preemption(p: dict) -> list[str]:
    out = ["## Volver al nodo preferido: `preempt`, `nopreempt`, `preempt_delay`", "",
           f"Medido el **{_md(p['when'])}** sobre el laboratorio del sitio `{_md(p.get('site', 'lab'))}`"
           f"{_copy(p.get('site', 'lab'))}, a {p['rate']:g} peticiones/s y {p['duration_s']:g} s por "
           "escenario, con la orden:", "", f"```bash\n{p['command']}\n```", "",
           '<div class="rb-compacta" markdown>', "",
           "| Variante | Parada de Keepalived: fallidas | el preferido recupera la IP tras "
           "| fallidas al recuperarla | Mantenimiento: IP movida | fallidas |",
           "|---|---:|---:|---:|---:|---:|"]
    for v in p["variants"]:
        stop, planned = v["planned-stop"], v["planned"]
        out.append(
            f"| `{_md(v['label'])}` | {stop['failed']} | {seconds(stop['took_back_s'], 'no la recupera')} "
            f"| {stop['failed_after_restore']} | {seconds(planned['vip_moved_s'], 'no se movió')} "
            f"| {planned['failed']} |"
        )
    return [*out, "", "</div>", ""]


def _copy(site: str) -> str:
    """Measured on a private copy of the lab (other node names), not on the lab site itself."""
    if site == "lab":
        return ""
    return " (una copia del laboratorio con otros nombres de nodo, para no ocupar el laboratorio compartido)"


def _benchmarks(bench: dict) -> list[str]:
    when = f"Medido el **{_md(bench['when'])}**, con la orden:" if "when" in bench else "Orden:"
    out = ["## Tiempos del proyecto", "", when, "", f"```bash\n{bench['command']}\n```", "",
           "| Qué | Tiempo (mediana) |", "|---|---:|"]
    for row in bench["rows"]:
        out.append(f"| {_md(row['label'])} | {seconds(row['seconds'])} |")
    return [*out, ""]


# ------------------------------------------------------------------ plot

WIDTH, HEIGHT = 680, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 34


def plot_svg(s: dict, rate: float) -> str:
    """Requests/s answered (green) and failed (red) over the scenario, fault and restore marked."""
    points = s["timeline"][:-1] or s["timeline"]  # the last time bin is only partly filled
    t_max = max([p["t"] for p in points] + [s["restore_at_s"], 1.0])
    y_max = max([p["ok_rps"] for p in points] + [p["failed_rps"] for p in points] + [rate]) * 1.1
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return round(LEFT + w * t / t_max, 1)

    def y(v: float) -> float:
        return round(TOP + h * (1 - v / y_max), 1)

    def line(key: str) -> str:
        return " ".join(f"{x(p['t'])},{y(p[key])}" for p in points)

    label = (f"{s['title']}: peticiones por segundo correctas y fallidas; "
             f"{s['failed']} fallidas de {s['requests']}")
    parts = [
        f'<figure class="rb-plot"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{html.escape(label)}" data-scenario="{html.escape(s["name"])}">',
        f"<title>{html.escape(label)}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" fill="none" stroke="#9e9e9e"/>',
    ]
    step = 2 if t_max <= 30 else 5
    for i in range(0, int(t_max) + 1, step):
        parts.append(f'<text x="{x(i)}" y="{HEIGHT - BOTTOM + 14}" font-size="11" '
                     f'text-anchor="middle">{i}</text>')
    parts.append(f'<text x="{LEFT + w / 2}" y="{HEIGHT - 4}" font-size="11" text-anchor="middle">'
                 "segundos de carga</text>")
    for v in (0, rate):
        parts.append(f'<text x="{LEFT - 4}" y="{y(v) + 4}" font-size="11" text-anchor="end">{v:g}</text>')
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + w}" y1="{y(v)}" y2="{y(v)}" stroke="#e0e0e0"/>')
    for t, text in ((s["fault_at_s"], "fallo"), (s["restore_at_s"], "restablecido")):
        parts.append(f'<line x1="{x(t)}" x2="{x(t)}" y1="{TOP}" y2="{TOP + h}" stroke="#616161" '
                     'stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x(t) + 3}" y="{TOP + 11}" font-size="11">{text}</text>')
    parts.append(f'<polyline fill="none" stroke="#2e7d32" stroke-width="1.6" points="{line("ok_rps")}">'
                 "<title>correctas/s</title></polyline>")
    parts.append(f'<polyline fill="none" stroke="#c62828" stroke-width="1.6" points="{line("failed_rps")}">'
                 "<title>fallidas/s</title></polyline>")
    parts.append("</svg>")
    parts.append('<figcaption><span style="color:#2e7d32">━ correctas/s</span> · '
                 '<span style="color:#c62828">━ fallidas/s</span> (por envío, en tramos de '
                 f"{_bin(points)} s)</figcaption></figure>")
    return "".join(parts)


def _bin(points: list[dict]) -> str:
    width = points[1]["t"] - points[0]["t"] if len(points) > 1 else 0.25
    return f"{width:g}".replace(".", ",")


def soak_markdown(data: dict) -> str:
    """The soak's figures (`<!-- runbook:resistencia -->`): its runs, each fault's cost, what was fixed."""
    soak = data.get("soak")
    if not soak:
        raise ResultsError("los resultados no tienen la prueba de resistencia "
                           "(benchmarks/soak_summary.py --save)")
    machine = soak["machine"]
    runs = soak["runs"]
    rounds = sum(r["rounds"] for r in runs)
    broken = sum(len(r["broken_rounds"]) for r in runs)
    mean = "—" if soak["round_s_mean"] is None else f"{soak['round_s_mean']:.0f} s"
    out = [
        f"Medido el **{_md(soak['when'])}** en `{_md(machine.get('host', '?'))}` ({machine.get('cpus', '?')} "
        f"núcleos, núcleo Linux {_md(machine.get('kernel', '?'))}), sobre el laboratorio del sitio "
        f"`{_md(soak['site'])}`{_copy(soak['site'])}: {len(runs)} pruebas, {rounds} rondas, "
        f"{broken} rondas que rompieron las reglas; una ronda dura {mean} de media.",
        "",
        "| Prueba | Rondas | Peticiones fallidas | Rondas rotas | Ronda media |",
        "|---|---:|---:|---|---:|",
    ]
    for r in runs:
        command = f"./rb soak --rounds {r['rounds']} --seed {r['seed']} --rate {r['rate']:g}"
        rotas = ", ".join(map(str, r["broken_rounds"])) or "ninguna"
        out.append(f"| `{_md(command)}` | {r['rounds']} | {r['failed']} | {_md(rotas)} "
                   f"| {r['round_s_mean']:.0f} s |")
    out += ["", '<div class="rb-compacta" markdown>', "",
            "| Fallo | Rondas | Fallidas (total) | Fallidas (peor ronda) | Servicio de vuelta (peor) |",
            "|---|---:|---:|---:|---:|"]
    for name, f in sorted(soak["per_fault"].items(), key=lambda item: -item[1]["failed"]):
        out.append(f"| `{_md(name)}` | {f['rounds']} | {f['failed']} | {f['max_failed']} "
                   f"| {seconds(f['max_served_again_s'], 'no volvió')} |")
    out += ["", "</div>", ""]
    if soak.get("fixes"):
        out += ["Lo que las pruebas encontraron y se arregló:", ""]
        out += [f"- {_md(fix)}" for fix in soak["fixes"]]
        out.append("")
    return "\n".join(out)
