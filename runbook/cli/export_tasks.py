"""`invoke export ansible`: the plan as a self-contained Ansible project.

Nothing is contacted and no secret is read: the project reads secrets when it
runs. Exit codes: 0 written; 1 the folder could not be written; 2 bad input
(data, unknown format, missing --output, a folder that is not an earlier
export).
"""

from __future__ import annotations

from pathlib import Path

from ..names import LAB_SITE
from .common import FAILED, fail, out, plan_or_exit
from .errors import task

FORMATS = ("ansible",)


@task(
    positional=["format"],
    help={
        "format": "formato de la exportación: ansible",
        "site": f"sitio a exportar (por defecto el laboratorio, {LAB_SITE})",
        "output": "carpeta donde escribir el proyecto (nueva, vacía o una exportación anterior)",
    },
)
def export(c, format=None, site=None, output=None):  # noqa: A002 - the CLI word users type
    """Escribe el plan como un proyecto de Ansible (inventario, playbook, ficheros)."""
    from ..export import export_ansible

    if format not in FORMATS:
        shown = f"{format!r}" if format else "ninguno"
        raise fail(f"formato de exportación desconocido: {shown}; usa uno de: {', '.join(FORMATS)}")
    if not output:
        raise fail("indica la carpeta del proyecto con --output CARPETA")
    the_plan = plan_or_exit(site or LAB_SITE)
    target = Path(output)
    try:
        written = export_ansible(the_plan, target)  # ExportError: not a folder it may write (exit 2)
    except OSError as exc:
        raise fail(f"no se pudo escribir {target}: {exc.strerror or exc}", FAILED) from None
    out(f"Proyecto de Ansible del sitio {the_plan.site.name} en {target}: {len(written)} ficheros")
    out("Sin secretos: se leen al ejecutar, en la máquina que lanza ansible-playbook.")
    out(f"Uso: cd {target} && ansible-playbook site.yml   (simulacro: --check --diff)")
