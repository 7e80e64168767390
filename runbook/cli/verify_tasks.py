"""`invoke verify`: are the nodes what the site says? Exit 0 yes, 1 no, 2 unreachable/bad input."""

from __future__ import annotations

from pathlib import Path

from invoke.exceptions import Exit

from ..names import LAB_SITE, VERIFY_FORMATS
from .common import BAD_INPUT, check_node, fail, out, plan_or_exit
from .errors import task


@task(
    help={
        "site": f"sitio a verificar (por defecto, el laboratorio «{LAB_SITE}»)",
        "node": "solo este nodo (las comprobaciones del clúster se omiten)",
        "format": "table (por defecto), json o junit",
        "output": "escribir el informe en este fichero (la tabla sigue saliendo por pantalla)",
        "site-url": "página de instalación del sitio publicado, para los enlaces a cada paso",
    }
)
def verify(c, site=LAB_SITE, node=None, format="table", output=None, site_url=None):  # noqa: A002
    """Ejecuta todas las comprobaciones en los nodos y en el clúster, sin cambiar nada."""
    if format not in VERIFY_FORMATS:
        raise fail(f"formato desconocido {format!r}; usa uno de: {', '.join(VERIFY_FORMATS)}", BAD_INPUT)
    if output is not None and not Path(output).parent.is_dir():
        raise fail(f"no existe la carpeta de {output}", BAD_INPUT)
    from ..output.terminal import choose_console
    from ..output.verbatim import emit
    from ..verify import print_table, render, run_verify

    plan = plan_or_exit(site)
    check_node(plan, node)
    report = run_verify(plan, node=node, site_url=site_url)
    if output is not None:
        Path(output).write_text(render(report, format), encoding="utf-8")
    if output is not None or format == "table":
        print_table(report, choose_console())
    else:
        out(render(report, format))
    if output is not None:
        emit(choose_console(stderr=True), f"informe {format} escrito en ", output)  # the path verbatim
    if report.exit_code:
        raise Exit(code=report.exit_code)
