"""Project tasks: the main job (demo), tests and lint."""

from __future__ import annotations

import os
import sys

from invoke import task

VENV_BIN = os.path.dirname(sys.executable)


def _tool(name: str) -> str:
    return os.path.join(VENV_BIN, name)


@task
def lint(c):
    """ruff sobre todo el proyecto."""
    c.run(f"{_tool('ruff')} check runbook tests tasks.py benchmarks", pty=False)


@task(help={"k": "solo los tests cuyo nombre coincida (pytest -k)", "fast": "sin laboratorio ni navegador"})
def test(c, k=None, fast=False):
    """Todos los tests: lint, modelos, plantillas, sitio, navegador y laboratorio."""
    lint(c)
    args = ["-q"]
    if k:
        args += ["-k", k]
    if fast:
        args += ["-m", "not lab and not browser"]
    c.run(f"{_tool('pytest')} {' '.join(args)}", pty=False)


@task
def demo(c):
    """El trabajo principal: sitio, laboratorio, despliegue y verificación."""
    from . import docs_tasks

    docs_tasks.build(c)
