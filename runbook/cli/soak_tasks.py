"""`invoke soak`: faults in a row on the lab, each repaired and judged.

Exit 0 every round kept the rules, 1 a round broke them (or the soak could not go on), 2 bad input.
"""

from __future__ import annotations

from pathlib import Path

from invoke.exceptions import Exit

from ..names import LAB_SITE
from .common import BAD_INPUT, FAILED, fail, plan_or_exit
from .errors import task

DEFAULT_ROUNDS = 50
DEFAULT_RATE = "100"
ROUNDS_LIMITS = (1, 10000)
RATE_LIMITS = (1.0, 2000.0)


def _integer(value, name: str, low: int, high: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise fail(f"--{name} debe ser un número entero (se recibió {value!r})", BAD_INPUT) from None
    if not low <= number <= high:
        raise fail(f"--{name} debe estar entre {low} y {high} (se recibió {value})", BAD_INPUT)
    return number


def fault_names(faults: str | None, rounds: int, seed: int | None) -> tuple[list[str], int | None]:
    """The faults of every round: given (--faults, replayed as they are) or drawn from the seed."""
    from ..soak.faults import catalogue
    from ..soak.picking import new_seed, pick_faults

    known = list(catalogue())
    if faults:
        names = faults.split(",")
        unknown = [n for n in names if n not in known]
        if unknown:
            raise fail(f"fallo desconocido {unknown[0]!r}; usa uno de: {', '.join(known)}", BAD_INPUT)
        return names, None
    seed = new_seed() if seed is None else seed
    return pick_faults(known, rounds, seed), seed


@task(
    help={
        "site": f"sitio de laboratorio (por defecto «{LAB_SITE}»; solo laboratorios)",
        "rounds": f"número de rondas (por defecto {DEFAULT_ROUNDS})",
        "seed": "semilla del sorteo de fallos, para repetir una prueba "
        "(por defecto, una nueva, que se muestra)",
        "faults": "los fallos de cada ronda, separados por comas, en vez de sortearlos",
        "rate": "peticiones por segundo a través de la IP virtual durante toda la prueba "
        f"(por defecto {DEFAULT_RATE})",
        "json": "escribir los resultados en este fichero "
        "(por defecto, en la carpeta de estado del laboratorio)",
    }
)
def soak(c, site=LAB_SITE, rounds=DEFAULT_ROUNDS, seed=None, faults=None, rate=DEFAULT_RATE, json_=None):
    """Prueba de resistencia: fallos seguidos bajo carga, cada uno reparado y juzgado."""
    rounds = _integer(rounds, "rounds", *ROUNDS_LIMITS)
    seed = None if seed is None else _integer(seed, "seed", 0, 2**63)
    try:
        rate = float(rate)
    except ValueError:
        raise fail(f"--rate debe ser un número (se recibió {rate!r})", BAD_INPUT) from None
    if not RATE_LIMITS[0] <= rate <= RATE_LIMITS[1]:
        raise fail(f"--rate debe estar entre {RATE_LIMITS[0]:g} y {RATE_LIMITS[1]:g} (se recibió {rate:g})",
                   BAD_INPUT)
    if json_ is not None and not Path(json_).parent.is_dir():
        raise fail(f"no existe la carpeta de {json_}", BAD_INPUT)
    plan = plan_or_exit(site)
    if plan.site.lab is None:
        raise fail(f"el sitio {plan.site.name!r} no es un laboratorio: la prueba de resistencia solo se "
                   "ejecuta en el laboratorio (rompe nodos, cables y backends)", BAD_INPUT)
    names, seed = fault_names(faults, rounds, seed)
    from .. import lab
    from ..drill.scenarios import Cluster, DrillError
    from ..lab.layout import layout
    from ..output.terminal import choose_console
    from ..output.verbatim import emit
    from ..plan.secrets import read_secrets
    from ..soak.report import print_summary
    from ..soak.runner import results_path, run_soak
    from ..verify.gather import lab_only_targets

    if not lab_only_targets(plan.site):
        raise fail("hay direcciones fuera de los rangos del laboratorio: no se genera carga", BAD_INPUT)
    if not lab.status(plan.site)["running"]:
        raise fail("el laboratorio no está en marcha (usa ./rb lab.up y ./rb deploy)", FAILED)
    lay = layout(plan.site)
    save = Path(json_) if json_ is not None else results_path(lay.state_dir)
    err = choose_console(stderr=True)
    emit(err, f"soak: {len(names)} rondas" + ("" if seed is None else f", semilla {seed}")
         + ", resultados en ", str(save))
    try:
        cluster = Cluster(site=plan.site, lay=lay)
        doc = run_soak(plan, cluster, read_secrets(plan.site), names, seed, rate, save,
                       log=lambda m: emit(err, ("soak: ", "dim"), m))
    except (DrillError, lab.LabError) as exc:
        raise fail(str(exc), FAILED) from None
    except KeyboardInterrupt:
        raise fail(f"interrumpido: comprueba el clúster con ./rb verify; resultados hasta aquí en {save}",
                   FAILED) from None
    print_summary(doc, choose_console())
    if doc["summary"]["broken_rounds"]:
        raise Exit(code=FAILED)
