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
            raise fail(f"escenario desconocido {name!r}; use uno de: {', '.join(SCENARIOS)} o all", BAD_INPUT)
    return list(dict.fromkeys(names))


@task(
    help={
        "site": f"sitio (por defecto, el laboratorio «{LAB_SITE}»; otro sitio exige --yes)",
        "scenario": "planned, haproxy-crash, keepalived-crash, node-crash, backend-down, planned-stop "
        "(varios, separados por comas) o all (por defecto: los cinco primeros)",
        "rate": f"peticiones por segundo a través de la IP virtual (por defecto {DEFAULT_RATE})",
        "duration": f"segundos de carga por escenario (por defecto {DEFAULT_DURATION})",
        "json": "imprimir el resultado en JSON",
        "yes": "confirmar que se quieren provocar caídas en un sitio que no es el laboratorio",
    }
)
def drill(c, site=LAB_SITE, scenario="all", rate=DEFAULT_RATE, duration=DEFAULT_DURATION, json_=False,
          yes=False):
    """Simulacro de fallos bajo carga: provoca cada caída, mide lo que ve el cliente y restablece."""
    names = scenario_names(scenario)
    rate = _number(rate, "rate", RATE_LIMITS)
    duration = _number(duration, "duration", DURATION_LIMITS)
    plan = plan_or_exit(site)
    if plan.site.lab is None:
        if not yes:
            raise fail(
                f"el sitio {plan.site.name!r} no es un laboratorio: el simulacro tira servicios de verdad "
                "(keepalived, haproxy, enlaces); si es lo que quiere, repita con --yes", BAD_INPUT)
        raise fail(
            f"el sitio {plan.site.name!r} no tiene cliente de laboratorio: el simulacro solo genera carga "
            "desde el espacio de red del cliente del laboratorio, nunca desde esta máquina hacia su red",
            BAD_INPUT)
    from rich.console import Console

    from .. import lab
    from ..drill import DrillError, LoadSpec
    from ..drill.report import print_table, to_json
    from ..drill.runner import run_drill
    from ..verify.gather import lab_only_targets

    if not lab_only_targets(plan.site):
        raise fail("hay direcciones fuera de los rangos del laboratorio: no se genera carga", BAD_INPUT)
    running = lab.status(plan.site)["running"]  # a LabError keeps its own exit code
    if not running:
        raise fail("el laboratorio no está en marcha (use ./rb lab.up y ./rb deploy)", FAILED)
    console = Console(stderr=True)
    try:
        doc = run_drill(plan, names, LoadSpec(rate=rate, duration=duration),
                        log=lambda m: console.print(f"[dim]drill:[/] {m}", highlight=False))
    except (DrillError, lab.LabError) as exc:
        raise fail(str(exc), FAILED) from None
    except KeyboardInterrupt:
        raise fail("interrumpido: compruebe el clúster con ./rb verify", FAILED) from None
    if json_:
        out(to_json(doc))
    else:
        print_table(doc, Console(width=max(Console().width, 120)))
    if any(s["verify_after"] != "ok" for s in doc["scenarios"]):
        raise Exit(code=FAILED)
