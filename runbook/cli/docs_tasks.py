"""`invoke docs`: the Spanish site, built from the plan (see runbook/mkdocs_plugin.py)."""

from __future__ import annotations

import os
import shlex
import sys

from invoke import task

from ..load import REPO_ROOT
from .common import FAILED, fail, plan_or_exit

MKDOCS = os.path.join(os.path.dirname(sys.executable), "mkdocs")
CONFIG = REPO_ROOT / "mkdocs.yml"
# Material prints a long banner about its future on every build; it is noise here.
QUIET = {"NO_MKDOCS_2_WARNING": "1"}


@task(default=True, help={"dest": "carpeta de salida (por defecto, site/)"})
def build(c, dest=None):
    """Construye la web con --strict: cualquier aviso o desajuste con el plan es un error."""
    plan_or_exit(None)  # bad data: one Spanish line and exit code 2, before MkDocs starts
    out_dir = dest or str(REPO_ROOT / "site")
    result = c.run(
        f"{shlex.quote(MKDOCS)} build --strict --clean -f {shlex.quote(str(CONFIG))} "
        f"-d {shlex.quote(out_dir)}",
        env=QUIET,
        pty=False,
        warn=True,
    )
    if not result.ok:
        raise fail("la web no se pudo construir (el motivo está en los mensajes de MkDocs)", FAILED)


@task(help={"port": "puerto en 127.0.0.1 (por defecto, 8000)"})
def serve(c, port=8000):
    """Sirve la web en http://127.0.0.1:PUERTO y la reconstruye al editar páginas o datos."""
    plan_or_exit(None)
    c.run(
        f"{shlex.quote(MKDOCS)} serve --strict -f {shlex.quote(str(CONFIG))} "
        f"-a 127.0.0.1:{int(port)}",
        env=QUIET,
        pty=False,
    )
