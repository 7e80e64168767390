"""`invoke drill`: failures under load on the lab, measured. Exit 0 fine, 1 failed, 2 bad input."""

from __future__ import annotations

from invoke.exceptions import Exit

from ..names import LAB_SITE
from .common import BAD_INPUT, FAILED, fail, out, plan_or_exit
from .errors import task

DEFAULT_RATE = "200"
DEFAULT_DURATION = "20"
RATE_LIMITS = (1.0, 2000.0)
DURATION_LIMITS = (6.0, 600.0)
REPEAT_LIMITS = (1, 20)


def _count(value, name: str, limits: tuple[int, int]) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise fail(f"--{name} debe ser un número entero (se recibió {value!r})", BAD_INPUT)
    number = int(text)
    if not limits[0] <= number <= limits[1]:
        raise fail(f"--{name} debe estar entre {limits[0]} y {limits[1]} (se recibió {value})", BAD_INPUT)
    return number


def _number(value, name: str, limits: tuple[float, float]) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise fail(f"--{name} debe ser un número (se recibió {value!r})", BAD_INPUT) from None
    if not limits[0] <= number <= limits[1]:
        raise fail(f"--{name} debe estar entre {limits[0]:g} y {limits[1]:g} (se recibió {value})", BAD_INPUT)
    return number


def scenario_names(scenario: str) -> list[str]:
    from ..drill import ALL, SCENARIOS

    if scenario == "all":
        return list(ALL)
    names = scenario.split(",")
    for name in names:
        if name not in SCENARIOS:
            raise fail(f"escenario desconocido {name!r}; usa uno de: {', '.join(SCENARIOS)} o all", BAD_INPUT)
    return list(dict.fromkeys(names))


def real_site_scenarios(site, names: list[str], every: bool, yes: bool) -> list[str]:
    """What may run on a site that is not the lab; refused (exit 2) before anything is touched."""
    from ..drill.scenarios import LAB_ONLY

    if not yes:
        raise fail(
            f"el sitio {site.name!r} no es un laboratorio: el simulacro tira servicios de verdad "
            "(keepalived, haproxy) en sus nodos; si es lo que quieres, repite con --yes", BAD_INPUT)
    if every:
        return [n for n in names if n not in LAB_ONLY]
    refused = [n for n in names if n in LAB_ONLY]
    if refused:
        raise fail(
            f"{', '.join(refused)} solo se ejecuta en el laboratorio: en el sitio {site.name!r} cortar el "
            "enlace de un nodo por SSH lo dejaría inalcanzable (nadie podría restablecerlo) y los backends "
            "no son del simulacro; usa planned, haproxy-crash, keepalived-crash o planned-stop", BAD_INPUT)
    return names


def real_site_warning(site, names: list[str], skipped: list[str]) -> str:
    """Said before anything happens on a real site: which site, which VIP, what will break."""
    nodes = ", ".join(n.name for n in site.nodes)
    return (
        f"AVISO: simulacro en el sitio {site.name!r}, que NO es el laboratorio: IP virtual {site.vip}, "
        f"nodos {nodes}. Se provocarán de verdad: {', '.join(names)} (en el nodo que tenga la IP "
        f"virtual), con carga enviada desde ESTA máquina a {site.vip}. "
        + (f"No se ejecutan aquí: {', '.join(skipped)} (solo en el laboratorio). " if skipped else "")
        + "Interrumpe con Ctrl+C y comprueba después con ./rb verify."
    )


@task(
    help={
        "site": f"sitio (por defecto, el laboratorio «{LAB_SITE}»; otro sitio exige --yes)",
        "scenario": "planned, haproxy-crash, keepalived-crash, node-crash, backend-stop, backend-down, "
        "backend-stop-tcp, backend-down-tcp, planned-stop (varios, separados por comas) o all (por "
        "defecto: todos menos planned-stop)",
        "rate": f"peticiones por segundo a través de la IP virtual (por defecto {DEFAULT_RATE})",
        "duration": f"segundos de carga por escenario (por defecto {DEFAULT_DURATION})",
        "repeat": "veces que se repite cada escenario (por defecto 1, como mucho 20); con más de una, "
        "cada cifra es la mediana y se da su rango",
        "json": "imprimir el resultado en JSON",
        "yes": "confirmar que se quieren provocar caídas en un sitio que no es el laboratorio "
        "(allí solo planned, haproxy-crash, keepalived-crash y planned-stop; la carga sale de esta máquina)",
    }
)
def drill(c, site=LAB_SITE, scenario="all", rate=DEFAULT_RATE, duration=DEFAULT_DURATION, json_=False,
          yes=False, repeat="1"):
    """Simulacro de fallos bajo carga: provoca cada caída, mide lo que ve el cliente y restablece."""
    names = scenario_names(scenario)
    rate = _number(rate, "rate", RATE_LIMITS)
    duration = _number(duration, "duration", DURATION_LIMITS)
    repeat = _count(repeat, "repeat", REPEAT_LIMITS)
    plan = plan_or_exit(site)
    from rich.console import Console

    console = Console(stderr=True)
    if plan.site.lab is None:
        names = real_site_scenarios(plan.site, names, scenario == "all", yes)
        skipped = [n for n in scenario_names("all") if n not in names] if scenario == "all" else []
        console.print(real_site_warning(plan.site, names, skipped), markup=False, highlight=False)
    from .. import lab
    from ..drill import DrillError, LoadSpec
    from ..drill.report import print_table, to_json
    from ..drill.runner import run_drill
    from ..verify.gather import lab_only_targets

    if plan.site.lab is not None:
        if not lab_only_targets(plan.site):
            raise fail("hay direcciones fuera de los rangos del laboratorio: no se genera carga", BAD_INPUT)
        running = lab.status(plan.site)["running"]  # a LabError keeps its own exit code
        if not running:
            raise fail("el laboratorio no está en marcha (usa ./rb lab.up y ./rb deploy)", FAILED)
    try:
        doc = run_drill(plan, names, LoadSpec(rate=rate, duration=duration),
                        log=lambda m: console.print(f"[dim]drill:[/] {m}", highlight=False),
                        real_site_confirmed=yes, repeat=repeat)
    except (DrillError, lab.LabError) as exc:
        raise fail(str(exc), FAILED) from None
    except KeyboardInterrupt:
        raise fail("interrumpido: comprueba el clúster con ./rb verify", FAILED) from None
    if json_:
        out(to_json(doc))
    else:
        print_table(doc, Console(width=max(Console().width, 120)))
    if any(s["verify_after"] != "ok" for s in doc["scenarios"]):
        raise Exit(code=FAILED)
