"""`invoke deploy`: run on the nodes exactly the plan the site shows.

Data, plan and secrets are checked before any connection is opened.
Exit codes: 0 everything ok or changed (also `--check`, whatever it found);
1 an action failed, or a problem remains after the deploy (named in the
output, with those deploy cannot fix said to be so); 2 bad input
(data, unknown node/step, missing secret), a node that could not be
reached, or another deploy running for the same site (lock).
"""

from __future__ import annotations

import json

from invoke.exceptions import Exit

from ..names import LAB_SITE
from .common import FAILED, check_node, fail, out, plan_or_exit
from .errors import task


@task(
    help={
        "site": f"sitio a desplegar (por defecto el laboratorio, {LAB_SITE}); otro hay que nombrarlo",
        "node": "solo este nodo",
        "step": "solo este paso (id del paso, como en el sitio)",
        "check": "simulacro: muestra qué cambiaría (con diferencias) sin tocar nada",
        "json": "imprimir el resultado como JSON (para máquinas)",
    }
)
def deploy(c, site=None, node=None, step=None, check=False, json_=False):
    """Aplica en los nodos el plan que muestra el sitio (por SSH)."""
    from ..deploy import DeployOptions
    from ..deploy import deploy as run_deploy
    from ..deploy.report import ConsoleReporter, print_recap
    from ..output.terminal import choose_console
    from ..output.verbatim import emit
    from ..plan.secrets import read_secrets

    site = LAB_SITE if site is None else site  # `--site ""` is an error, not the lab
    the_plan = plan_or_exit(site)
    check_node(the_plan, node)
    step_ids = [s.id for s in the_plan.steps]
    if step is not None and step not in step_ids:
        raise fail(f"el plan no tiene el paso {step!r} (pasos: {', '.join(step_ids)})")
    secrets = read_secrets(the_plan.site)  # a missing secret (exit 2) stops us before any connection
    options = DeployOptions(node=node, step=step, check=check)
    console = choose_console(stderr=json_)
    nodes = [n for n in the_plan.node_names if node in (None, n)]
    try:
        if json_:
            result = run_deploy(the_plan, secrets, options)
        else:
            verb = "Comprobando (--check)" if check else "Desplegando"
            emit(console, (f"{verb} el sitio {the_plan.site.name}", "bold"), f" ({the_plan.site.title})")
            with ConsoleReporter(console, nodes, check) as reporter:
                result = run_deploy(the_plan, secrets, options, reporter=reporter)
    except KeyboardInterrupt:
        # Deploy's own advice: a half-applied run is what --check shows next.
        raise fail("interrumpido: revisa el resumen de la próxima ejecución (--check)", FAILED) from None
    if json_:
        out(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        print_recap(console, result)
    if result.exit_code:
        raise Exit(code=result.exit_code)
