"""Project tasks: the main job (demo), tests and lint."""

from __future__ import annotations

import os
import shlex
import sys

from .errors import task

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
    c.run(shlex.join([_tool("pytest"), *args]), pty=False)  # "-m 'not lab and not browser'" stays one word


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
    """Requests through the VIP from the lab's client, one per client address, and who answered.

    The same requests verify makes (a browser's for Horizon: the redirect to
    the login page is followed; memcached's `get` of the key naming its server).
    """
    from ..load import LAB_SITE, load_site
    from ..verify.gather import gather_client

    site = load_site(LAB_SITE)
    client = gather_client(site)
    if not client.available:
        console.print(f"  (sin respuesta del cliente del laboratorio: {client.reason})")
        return
    shown = {str(a) for a in site.lab.client.addresses[:4]}
    for svc in site.services:
        seen = set()
        for answer in client.services.get(svc.name, []):
            if answer["source"] not in shown or answer["source"] in seen:
                continue
            seen.add(answer["source"])
            error = f"({answer['error']})" if answer.get("error") else ""
            what = " ".join(x for x in (answer.get("answer", ""), error) if x) or "(sin respuesta)"
            who = answer.get("backend") or "?"
            console.print(f"  {svc.name} {answer['source']} → {site.vip}:{svc.port}: {what} · atendió {who}",
                          highlight=False, markup=False)
    console.print("\nSitio en [bold]site/index.html[/]; el laboratorio sigue en marcha.")
    console.print("Apáguelo con [bold]./rb lab.down[/].")
