"""`invoke plan`: the exact actions deploy would perform, in order."""

from __future__ import annotations

import json

from invoke import task
from rich.console import Console
from rich.syntax import Syntax

from ..plan import FileAction
from .common import check_node, out, plan_or_exit


@task(
    help={
        "site": "sitio a planificar (por defecto, el publicado)",
        "node": "solo este nodo",
        "json": "imprimir un array JSON (para máquinas)",
    }
)
def plan(c, site=None, node=None, json_=False):
    """Muestra, en orden, las acciones que ejecutará deploy."""
    the_plan = plan_or_exit(site)
    check_node(the_plan, node)
    if json_:
        out(json.dumps(the_plan.to_json(node), ensure_ascii=False, indent=2))
        return
    console = Console()
    console.print(f"[bold]Plan del sitio {the_plan.site.name}[/] ({the_plan.site.title})")
    for step in the_plan.steps:
        console.print(f"\n[bold cyan]{step.id}[/] · {step.title}")
        if step.when_file_exists:
            console.print(f"  [dim]solo donde exista {step.when_file_exists}[/]")
        for name in the_plan.node_names:
            if node is not None and name != node:
                continue
            for action in step.actions[name]:
                if isinstance(action, FileAction):
                    console.print(f"  [green]{name}[/] fichero {action.path} ({action.mode})")
                    if action.validate:
                        console.print(f"      valida: {action.validate}")
                    if action.on_change:
                        console.print(f"      si cambia: {action.on_change}")
                    if action.unless:
                        console.print(f"      también si no está en vigor, salvo si: {action.unless}")
                else:
                    console.print(f"  [green]{name}[/] ejecuta:")
                    console.print(Syntax(action.command, "bash", word_wrap=True), soft_wrap=True)
                    if action.unless:
                        console.print(f"      [dim]salvo si: {action.unless}[/]")
