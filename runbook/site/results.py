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
    return seconds(value) if key.endswith("_s") else _count(value)


def _md(text: str) -> str:
    """Data as Markdown table text: no markup interpretation, no column breaks."""
    return html.escape(str(text)).replace("|", "&#124;")


def _count(value) -> str:
    return "—" if value is None else f"{value:g}".replace(".", ",")


def number(value: float | None, none: str = "—", digits: int = 2) -> str:
    """A bare number with a decimal comma (the unit goes in the column's title): 3.576 -> "3,58"."""
    return none if value is None else f"{value:.{digits}f}".replace(".", ",")


def millis(value: float | None) -> str:
    """Seconds shown as whole milliseconds: 0.4705 -> "471"."""
    return "—" if value is None else f"{value * 1000:.0f}"


def figure(s: dict, key: str, show=seconds) -> str:
    """A figure as the page shows it: the median, and with several runs its range (lowest a highest)."""
    if key not in s:
        return "—"
    text = show(s[key])
    spread = (s.get("spread") or {}).get(key)
    if not spread or s.get("runs", 1) < 2:
        return text
    low, high = show(spread["min"]), show(spread["max"])
    return text if low == high else f"{text} <small>({low} a {high})</small>"


def _own(s: dict, key: str):
    """The representative run's own value (the run the plot shows), not the median."""
    spread = (s.get("spread") or {}).get(key)
    if spread and "representative_run" in s:
        return spread["values"][s["representative_run"] - 1]
    return s.get(key)


def results_markdown(data: dict, stash: BlockStash) -> str:
    doc = data["drill"]["doc"]
    machine = data["machine"]
    repeat = doc.get("repeat", 1)
    runs = (f"Cada escenario se ejecutó **{repeat} veces**; cada cifra es la mediana y, entre paréntesis, "
            "la menor y la mayor de esas ejecuciones." if repeat > 1 else
            "Cada escenario se ejecutó una vez.")
    out = [
        f"Medido el **{_md(data['when'])}** en {_md(machine.get('description', ''))} "
        f"({machine.get('cpus', '?')} núcleos, núcleo Linux {_md(machine.get('kernel', '?'))})"
        f"{_load(machine)}. "
        + (_md(machine["note"]) + " " if machine.get("note") else "") + "Orden exacta:",
        "",
        f"```bash\n{data['drill']['command']}\n```",
        "",
        f"Carga: {doc['rate']:g} peticiones/s a la IP virtual desde el cliente del laboratorio, "
        f"{doc['duration_s']:g} s por escenario (los fallos de un backend duran más: ver cada uno); "
        f"una petición sin respuesta en {seconds(doc['request_timeout_s'])} cuenta como fallida. {runs}",
        "",
        "### Lo que ve un cliente",
        "",
        '<div class="rb-compacta" markdown>',
        "",
        "| Escenario | Fallidas | de | Latencia añadida p50 (ms) | p99 (ms) | verify después |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for s in doc["scenarios"]:
        out.append(
            f"| **{_md(s['title'])}** | {figure(s, 'failed', _count)} | {figure(s, 'requests', _count)} "
            f"| {figure(s, 'added_p50_s', millis)} | {figure(s, 'added_p99_s', millis)} "
            f"| {'correcto' if s['verify_after'] == 'ok' else 'falla'} |"
        )
    out += ["", "</div>", "", "### Lo que hace el clúster", "",
            "Tiempos en segundos: desde el fallo, salvo «de nuevo sano», desde que se restableció.", "",
            '<div class="rb-compacta" markdown>', "",
            "| Escenario | Servicio de nuevo tras | IP virtual movida tras | HAProxy lo da por caído tras "
            "| y de nuevo sano tras |",
            "|---|---:|---:|---:|---:|"]
    for s in doc["scenarios"]:
        backend = "marked_down_s" in s
        out.append(
            f"| **{_md(s['title'])}** | {figure(s, 'takeover_s', lambda v: number(v, 'sin recuperar'))} "
            f"| {figure(s, 'vip_moved_s', lambda v: number(v, 'no se movió'))} "
            f"| {figure(s, 'marked_down_s', lambda v: number(v, 'nunca')) if backend else '—'} "
            f"| {figure(s, 'marked_up_s', lambda v: number(v, 'nunca')) if backend else '—'} |"
        )
    out += ["", "</div>", ""]
    before = data.get("before")
    if before:
        out += _before(before, doc)
    out += ["## Cada fallo, segundo a segundo", "",
            "Cada gráfica es una ejecución (la de fallidas más cercana a la mediana): peticiones por "
            "segundo correctas y fallidas, contadas por el momento en que salieron, en tramos de un cuarto "
            "de segundo; la zona gris es el tiempo que dura el fallo.", ""]
    for s in doc["scenarios"]:
        plot = stash.add(plot_svg(s, doc["rate"]))
        out += [f"### {_md(s['title'])}", "", _notes(s), "", plot, ""]
    timers = data.get("timers")
    if timers:
        out += _timers(timers)
    preemption = data.get("preemption")
    if preemption:
        out += _preemption(preemption)
    handover = data.get("handover")
    if handover:
        out += _handover(handover)
    return "\n".join(out) + "\n"


def _before(before: dict, doc: dict) -> list[str]:
    after = {s["name"]: s for s in doc["scenarios"]}
    out = ["### Antes y después de ajustar HAProxy", "", _md(before["what"]), "",
           '<div class="rb-compacta" markdown>', "",
           "| Escenario | Fallidas antes | después | Latencia añadida p99 antes (ms) | después "
           "| Caído tras, antes (s) | después |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for b in before["scenarios"]:
        a = after.get(b["name"])
        if a is None:
            continue
        out.append(
            f"| **{_md(a['title'])}** | {figure(b, 'failed', _count)} | {figure(a, 'failed', _count)} "
            f"| {figure(b, 'added_p99_s', millis)} | {figure(a, 'added_p99_s', millis)} "
            f"| {figure(b, 'marked_down_s', number)} | {figure(a, 'marked_down_s', number)} |"
        )
    return [*out, "", "</div>", ""]


def _load(machine: dict) -> str:
    """The machine is shared with other work: how busy it was (load average, 1 min)."""
    load = machine.get("load")
    if not load:
        return ""
    before, after = (f"{v:.1f}".replace(".", ",") for v in load)
    return f", con una carga media de la máquina de {before} antes del simulacro y {after} después"


def _notes(s: dict) -> str:
    parts = [f"Qué se hace: {_md(s['fault'])}. Fallo a los {seconds(_own(s, 'fault_at_s'))} de carga, "
             f"restablecido a los {seconds(_own(s, 'restore_at_s'))}."]
    if s.get("new_holder"):
        parts.append(f"La IP virtual pasó de {s.get('holder_before')} a {s['new_holder']} en "
                     f"{seconds(_own(s, 'vip_moved_s'))}.")
    else:
        parts.append("La IP virtual no se movió.")
    if _own(s, "marked_down_s") is not None:
        parts.append(f"HAProxy dio el backend por caído a los {seconds(_own(s, 'marked_down_s'))} del fallo "
                     f"y por sano a los {seconds(_own(s, 'marked_up_s'), '—')} de restablecerlo.")
    if _own(s, "two_holders_s"):
        both = seconds(_own(s, "two_holders_s"))
        parts.append(f"Dos nodos tuvieron la IP virtual a la vez durante {both}.")
    cut = _own(s, "failed_at_vip_change")
    if cut:
        parts.append(f"Conexiones cortadas al pasar la IP virtual de un nodo a otro: {cut} "
                     "(peticiones fallidas que seguían abiertas en ese instante).")
    after = _own(s, "failed_after_restore")
    if after == 1:
        parts.append("Al restablecer falló 1 petición.")
    elif after:
        parts.append(f"Al restablecer fallaron {after} peticiones.")
    elif after is not None:
        parts.append("Al restablecer no falló ninguna petición.")
    return " ".join(parts)


def _timers(timers: dict) -> list[str]:
    when = f"Medido el **{_md(timers['when'])}**, una ejecución por variante." if "when" in timers else ""
    out = ["## Temporizadores de VRRP", "", when, "",
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
           f"Medido el **{_md(p['when'])}** sobre el laboratorio, a {p['rate']:g} peticiones/s y "
           f"{p['duration_s']:g} s por escenario, una ejecución por variante.", "",
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


def _handover(h: dict) -> list[str]:
    """The same handover again and again: every run's figures, none summed up into a median."""
    out = ["## Conmutaciones repetidas", "",
           f"Medido el **{_md(h['when'])}** sobre el laboratorio, a {h['rate']:g} peticiones/s y "
           f"{h['duration_s']:g} s por ejecución. Cada cifra es la de una ejecución, en orden.", "",
           '<div class="rb-compacta" markdown>', "",
           "| Escenario | Ejecuciones sin fallidas | Fallidas | IP virtual movida tras (s) "
           "| Dos nodos con la IP virtual (s) |",
           "|---|---:|---|---|---|"]
    for s in h["scenarios"]:
        clean = sum(1 for v in s["failed"] if v == 0)
        out.append(
            f"| **{_md(s['title'])}** | {clean} de {len(s['failed'])} | {', '.join(map(str, s['failed']))} "
            f"| {'; '.join(number(v, 'no se movió') for v in s['vip_moved_s'])} "
            f"| {'; '.join(number(v) for v in s['two_holders_s'])} |"
        )
    return [*out, "", "</div>", ""]


# ------------------------------------------------------------------ plot

# Drawn in a small box with large type: the figure is scaled to the column (at most
# 720 px, docs/assets/stylesheets/runbook.css), so that 14 units of type stay readable on
# a 390 px phone (about 10 px) and a 1280 px screen (about 21 px).
WIDTH, HEIGHT = 480, 300
LEFT, RIGHT, TOP, BOTTOM = 62, 14, 40, 50
FONT = 14
# Okabe and Ito's palette, safe for the common colour blindness: blue and vermilion,
# told apart also by the line (solid, dashed) and the marker (circle, square).
OK_COLOUR, FAILED_COLOUR, MARK_COLOUR, FAULT_FILL = "#0072B2", "#D55E00", "#000000", "#E6E6E6"


def _steps(points: list[dict], key: str, width: float, x, y) -> str:
    """An SVG path drawing each time bin as a flat step: a value holds for its whole bin, no slope
    between bins (a line joined across bins would start a drop before the fault that caused it)."""
    parts = []
    for i, p in enumerate(points):
        x0, x1, v = x(p["t"]), x(p["t"] + width), y(p[key])
        parts.append(f"M{x0},{v}H{x1}" if i == 0 else f"V{v}H{x1}")
    return "".join(parts)


def plot_svg(s: dict, rate: float) -> str:
    """Requests/s answered and failed over one run of the scenario, as steps; the fault shaded."""
    timeline = s["timeline"]
    points = timeline[:-1] or timeline  # the last time bin is only partly filled
    width = points[1]["t"] - points[0]["t"] if len(points) > 1 else 0.25
    fault, restore = _own(s, "fault_at_s"), _own(s, "restore_at_s")
    t_max = max([p["t"] + width for p in points] + [restore, 1.0])
    y_max = max([p["ok_rps"] for p in points] + [p["failed_rps"] for p in points] + [rate]) * 1.1
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return round(LEFT + w * t / t_max, 1)

    def y(v: float) -> float:
        return round(TOP + h * (1 - v / y_max), 1)

    label = (f"{s['title']}: peticiones por segundo correctas y fallidas en una ejecución; "
             f"{_own(s, 'failed')} fallidas de {_own(s, 'requests')}")
    text = f'font-size="{FONT}" fill="{MARK_COLOUR}"'
    parts = [
        f'<figure class="rb-plot"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{html.escape(label)}" data-scenario="{html.escape(s["name"])}">',
        f"<title>{html.escape(label)}</title>",
        f'<rect x="{x(fault)}" y="{TOP}" width="{round(x(restore) - x(fault), 1)}" height="{h}" '
        f'fill="{FAULT_FILL}"><title>fallo</title></rect>',
        f'<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" fill="none" stroke="#757575"/>',
    ]
    step = 2 if t_max <= 16 else 5 if t_max <= 40 else 10
    for i in range(0, int(t_max) + 1, step):
        parts.append(f'<line x1="{x(i)}" x2="{x(i)}" y1="{TOP + h}" y2="{TOP + h + 5}" stroke="#757575"/>')
        parts.append(f'<text x="{x(i)}" y="{TOP + h + 20}" {text} text-anchor="middle">{i}</text>')
    parts.append(f'<text x="{LEFT + w / 2}" y="{HEIGHT - 8}" {text} text-anchor="middle">'
                 "tiempo desde el inicio de la carga (s)</text>")
    for v in (0, rate / 2, rate):
        parts.append(f'<text x="{LEFT - 6}" y="{y(v) + 5}" {text} text-anchor="end">{v:g}</text>')
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + w}" y1="{y(v)}" y2="{y(v)}" stroke="#d0d0d0"/>')
    parts.append(f'<text transform="translate(16 {TOP + h / 2}) rotate(-90)" {text} text-anchor="middle">'
                 "peticiones por segundo</text>")
    for t, word, anchor, dx in ((fault, "fallo", "end", -4), (restore, "restablecido", "start", 4)):
        parts.append(f'<line x1="{x(t)}" x2="{x(t)}" y1="{TOP}" y2="{TOP + h}" stroke="{MARK_COLOUR}" '
                     'stroke-dasharray="2 3"/>')
        parts.append(f'<text x="{x(t) + dx}" y="{TOP - 6}" {text} text-anchor="{anchor}">{word}</text>')
    every = max(1, round(1 / width))  # one marker a second on each series
    series = ((OK_COLOUR, "ok_rps", "", "correctas/s"),
              (FAILED_COLOUR, "failed_rps", ' stroke-dasharray="6 3"', "fallidas/s"))
    for colour, key, dash, name in series:
        parts.append(f'<path class="rb-serie" data-serie="{key}" fill="none" stroke="{colour}" '
                     f'stroke-width="2"{dash} d="{_steps(points, key, width, x, y)}">'
                     f"<title>{name}</title></path>")
        for p in points[every // 2::every]:
            parts.append(_marker(key, x(p["t"] + width / 2), y(p[key]), colour))
    # The legend, inside the figure so that it is read with the same marks.
    lx, ly = LEFT + 8, TOP + 14
    for i, (colour, key, dash, name) in enumerate(series):
        ox = lx + i * 150
        parts.append(f'<line x1="{ox}" x2="{ox + 30}" y1="{ly}" y2="{ly}" stroke="{colour}" '
                     f'stroke-width="2"{dash}/>')
        parts.append(_marker(key, ox + 15, ly, colour))
        parts.append(f'<text x="{ox + 36}" y="{ly + 5}" {text}>{name}</text>')
    parts.append("</svg>")
    parts.append(f"<figcaption>Correctas (azul, línea continua, círculos) y fallidas (bermellón, línea "
                 f"discontinua, cuadrados) por segundo, en tramos de {_bin(width)} s; en gris, el fallo."
                 "</figcaption></figure>")
    return "".join(parts)


def _marker(key: str, cx: float, cy: float, colour: str) -> str:
    if key == "ok_rps":
        return f'<circle cx="{cx}" cy="{cy}" r="3.5" fill="{colour}"/>'
    return f'<rect x="{round(cx - 3.5, 1)}" y="{round(cy - 3.5, 1)}" width="7" height="7" fill="{colour}"/>'


def _bin(width: float) -> str:
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
        f"núcleos, núcleo Linux {_md(machine.get('kernel', '?'))}), sobre el laboratorio (contenedores en un "
        f"mismo núcleo): {len(runs)} pruebas, {rounds} rondas, "
        f"{broken} rondas que rompieron las reglas; una ronda dura {mean} de media.",
        "",
        "Cada prueba es `./rb soak --rounds RONDAS --seed SEMILLA --rate RITMO`, con los valores de su fila:",
        "",
        '<div class="rb-compacta" markdown>',
        "",
        "| Semilla | Rondas | Ritmo (peticiones/s) | Peticiones fallidas | Rondas rotas | Ronda media |",
        "|---:|---:|---:|---:|---|---:|",
    ]
    for r in runs:
        rotas = ", ".join(map(str, r["broken_rounds"])) or "ninguna"
        out.append(f"| {r['seed']} | {r['rounds']} | {r['rate']:g} | {r['failed']} | {_md(rotas)} "
                   f"| {r['round_s_mean']:.0f} s |")
    out += ["", "</div>", "", '<div class="rb-compacta" markdown>', "",
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
