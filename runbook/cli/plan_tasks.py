"""`invoke plan`: the exact actions deploy would perform, in order.

Every command, guard, path and title is printed verbatim and whole (see
verbatim.py): at any terminal width the plain output holds, character for
character, what `--json` holds and what deploy runs.
"""

from __future__ import annotations

import json

from .common import check_node, out, plan_or_exit
from .errors import task


@task(
    help={
        "site": "sitio a planificar (por defecto, el publicado)",
        "node": "solo este nodo",
        "json": "imprimir un array JSON (para máquinas)",
    }
)
def plan(c, site=None, node=None, json_=False):
    """Muestra, en orden, las acciones que ejecutará deploy."""
    from rich.console import Console

    from ..output.verbatim import emit
    from ..plan.steps import FileAction

    the_plan = plan_or_exit(site)
    check_node(the_plan, node)
    if json_:
        out(json.dumps(the_plan.to_json(node), ensure_ascii=False, indent=2))
        return
    console = Console(highlight=False)
    emit(console, ("Plan del sitio ", "bold"), (the_plan.site.name, "bold"), f" ({the_plan.site.title})")
    for step in the_plan.steps:
        emit(console)
        emit(console, (step.id, "bold cyan"), " · ", step.title)
        if step.when_file_exists:
            emit(console, ("  solo donde exista ", "dim"), step.when_file_exists)
        for name in the_plan.node_names:
            if node is not None and name != node:
                continue
            for action in step.actions[name]:
                if isinstance(action, FileAction):
                    emit(console, "  ", (name, "green"), " · fichero ", action.path,
                         f" ({action.mode} {action.owner}:{action.group})")
                    if action.validate:
                        emit(console, ("      valida: ", "dim"), action.validate)
                    if action.on_change:
                        emit(console, ("      si cambia: ", "dim"), action.on_change)
                    if action.unless:
                        emit(console, ("      también si no está en vigor, salvo si: ", "dim"), action.unless)
                else:
                    emit(console, "  ", (name, "green"), " · ejecuta: ", action.command)
                    if action.unless:
                        emit(console, ("      salvo si: ", "dim"), action.unless)
