"""The whole Ansible project as {relative path: text}, and writing it to a folder.

Pure up to `write`: the same plan always gives the same files. `write`
builds the project next to the target and swaps it in, so an interrupted
export never leaves half a project, and it only replaces a folder that is
empty or holds an earlier export (marked by MARKER).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..plan.steps import FileAction, Plan
from . import connection, failure, plays, secret_vars
from .actions import FILES_DIR
from .host_values import ExportError, HostValues
from .readme import readme
from .yaml_text import dump

MARKER = ".runbook-export"


def header(plan: Plan, what: str) -> str:
    return (
        f"{what}\n"
        f"Generado por `./rb export ansible --site {plan.site.name}` a partir del plan de runbook\n"
        "(el mismo que muestra la web y ejecuta ./rb deploy). No lo edites: vuelve a exportar."
    )


def build(plan: Plan) -> dict[str, str]:
    site = plan.site
    values = HostValues(plan.node_names)
    playbook = [secret_vars.secrets_play(site), *plays.plays(plan, values)]
    files: dict[str, str] = {
        "ansible.cfg": connection.ansible_cfg(site, header(plan, "Configuración de Ansible del proyecto.")),
        "inventory.yml": dump(connection.inventory(plan), header(plan, f"Nodos del sitio {site.name}.")),
        "site.yml": dump(playbook, header(plan, f"El plan del sitio {site.name}, paso a paso.")),
        "group_vars/all.yml": dump(
            {
                "rb_vip": str(site.vip),
                "rb_nodes_by_priority": [n.name for n in site.nodes_by_priority],
                "rb_nodes_rising": [n.name for n in reversed(site.nodes_by_priority)],
                **secret_vars.secrets_vars(site),
            },
            header(plan, "Datos del sitio y de dónde salen los secretos (sus valores no están aquí)."),
        ),
        plays.SETTLE_TASKS: dump(
            plays.settle_tasks(plan),
            header(plan, "Espera a que VRRP se asiente (como ./rb deploy): se incluye a sí mismo hasta\n"
                         "que la IP virtual está en un solo nodo o se acaba el tiempo."),
        ),
        failure.TASKS: dump(
            failure.tasks(),
            header(plan, "Si falla escribir o activar un fichero: volver al anterior (como ./rb deploy)."),
        ),
        "LEEME.md": readme(plan),
        MARKER: f"sitio {site.name}\n",
    }
    for node, node_vars in values.vars.items():
        if node_vars:
            files[f"host_vars/{node}.yml"] = dump(node_vars, header(plan, f"Valores propios de {node}."))
    for action in plan.actions():
        if isinstance(action, FileAction):
            files[f"{FILES_DIR}/{action.node}{action.path}"] = action.content
    return files


def write(files: dict[str, str], output: Path) -> None:
    output = output.resolve()
    earlier = output.is_dir() and (not any(output.iterdir()) or (output / MARKER).is_file())
    if output.exists() and not earlier:
        raise ExportError(
            f"{output} ya existe y no es una exportación anterior: elige otra carpeta o vacíala"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.chmod(staging, 0o755)  # ansible ignores an ansible.cfg in a world-writable folder, not this
        if output.exists():
            old = output.with_name(f".{output.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(output, old)
            os.replace(staging, output)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
