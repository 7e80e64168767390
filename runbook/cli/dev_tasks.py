"""Project tasks: the main job (demo), tests and lint."""

from __future__ import annotations

import os
import shlex
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
    c.run(shlex.join([_tool("pytest"), *args]), pty=False)  # "-m not lab and not browser" is one word


@task
def demo(c):
    """El trabajo principal: sitio, laboratorio, despliegue, verificación y la IP virtual respondiendo."""
    from rich.console import Console

    from . import deploy_tasks, docs_tasks, lab_tasks, verify_tasks

    console = Console()
    console.rule("1/5 · Sitio (mkdocs build --strict)")
    docs_tasks.build(c)
    console.rule("2/5 · Laboratorio")
    lab_tasks.up(c)
    console.rule("3/5 · Despliegue en el laboratorio")
    deploy_tasks.deploy(c)
    console.rule("4/5 · Verificación")
    verify_tasks.verify(c)
    console.rule("5/5 · La IP virtual responde")
    _show_vip_answering(console)


def _show_vip_answering(console) -> None:
    """A few requests through the VIP from the lab's client, one per client address."""
    from .. import lab
    from ..load import LAB_SITE, load_site

    site = load_site(LAB_SITE)
    http = [s for s in site.services if s.mode == "http"]
    for svc in http:
        path = svc.health_check.path if svc.health_check else "/"
        url = f"http://{site.vip}:{svc.port}{path}"
        for source in site.lab.client.addresses[:4]:
            argv = ["curl", "-sS", "--max-time", "3", "--interface", str(source), url]
            result = lab.client_run(site, argv)
            answer = (result.stdout or result.stderr).strip().splitlines()
            console.print(f"  {source} → {url}: {answer[0] if answer else '(sin respuesta)'}")
    console.print("\nSitio en [bold]site/index.html[/]; el laboratorio sigue en marcha.")
    console.print("Apáguelo con [bold]./rb lab.down[/].")
