"""`invoke lab.*`: the lab of real Debian nodes (thin layer over runbook.lab).

Exit codes: 0 fine, 1 the lab failed, 2 bad input or missing prerequisite
(LabError carries its code; program.py prints it). The lab package, the
models and rich are imported by the tasks that run, not at start-up.
"""

from __future__ import annotations

import json as jsonlib
import os
import subprocess
import sys

from invoke.exceptions import Exit

from ..names import LAB_SITE
from .common import fail, out
from .errors import task


def _site(site_name: str):
    """The lab site; for a site without a `lab:` block, its rehearsal (./rb rehearse)."""
    from ..data.load import load_site
    from ..rehearse.files import lab_site

    return lab_site(load_site(site_name))


def _remainder() -> list[str]:
    # Invoke keeps what follows `--` only as one space-joined string, losing
    # the quoting; argv still has it word by word.
    if "--" in sys.argv:
        return sys.argv[sys.argv.index("--") + 1:]
    return []


def _log(message: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[dim]lab:[/] {message}")


@task(help={"site": "sitio del laboratorio (por defecto, lab) o sitio ensayado con ./rb rehearse"})
def up(c, site=LAB_SITE):
    """Arranca el laboratorio: nodos Debian con SSH, backends y cliente."""
    from .. import lab

    st = lab.up(_site(site), log=_log)
    _print_status(st)


@task(help={"site": "sitio del laboratorio (por defecto, lab) o sitio ensayado con ./rb rehearse"})
def down(c, site=LAB_SITE):
    """Detiene el laboratorio y borra todo lo que creó (los nodos vuelven a nacer)."""
    from .. import lab

    lab.down(_site(site), log=_log)


@task(help={"site": "sitio del laboratorio (por defecto, lab)",
            "json": "imprimir el estado en JSON (para máquinas)"})
def status(c, site=LAB_SITE, json_=False):
    """Estado del laboratorio: nodos, cliente, backends y ficheros SSH."""
    from .. import lab

    st = lab.status(_site(site))
    if json_:
        out(jsonlib.dumps(st, ensure_ascii=False, indent=2))
    else:
        _print_status(st)
    if not st["running"]:
        raise fail("el laboratorio no está en marcha (usa ./rb lab.up)", 1)


SSH_FAILED = 255  # ssh's own failures; any other code is the remote command's


def remote_command(words: list[str]) -> str:
    """The words after `--` as ONE command line for the node's shell, joined with spaces as ssh does.

    So `lab.ssh hera -- 'tail -f /var/log/syslog | grep VRRP'` runs the pipe
    on the node, and `lab.ssh hera -- echo "'a  b'"` prints `a  b`.
    """
    return " ".join(words)


def ssh_argv(ssh_config, node: str, command: str) -> list[str]:
    argv = ["ssh", "-F", str(ssh_config)]
    if command:
        return [*argv, node, command]
    return [*argv, "-t", node]  # an interactive session


@task(help={"node": "nombre del nodo (p. ej. hera)", "site": "sitio del laboratorio",
            "cmd": "orden a ejecutar (también se puede dar tras --)"})
def ssh(c, node, site=LAB_SITE, cmd=None):
    """Abre una sesión SSH en un nodo, o ejecuta la orden que sigue a -- (como «ssh NODO 'orden'»)."""
    from .. import lab

    the_site = _site(site)
    paths = lab.lab_paths(the_site)
    if node not in {n.name for n in the_site.nodes}:
        known = ", ".join(n.name for n in the_site.nodes)
        raise fail(f"el laboratorio no tiene el nodo {node!r} (nodos: {known})")
    if not paths["ssh_config"].exists():
        raise fail("el laboratorio no está en marcha (usa ./rb lab.up)", 1)
    sys.stdout.flush()
    code = subprocess.call(ssh_argv(paths["ssh_config"], node, cmd or remote_command(_remainder())))
    if code == SSH_FAILED:
        raise fail(f"no se pudo conectar con {node} por SSH (ssh terminó con código {code})", 2)
    if code:
        raise Exit(code=code)  # the node's own exit code, as ssh passes it on


@task(help={"site": "sitio del laboratorio"})
def client(c, site=LAB_SITE):
    """Ejecuta en el espacio de red del cliente la orden que sigue a -- (p. ej. curl a la VIP)."""
    argv = _remainder()
    if not argv:
        raise fail("indica la orden tras --, p. ej.: ./rb lab.client -- curl -s http://VIP/")
    the_site = _site(site)
    if os.geteuid() != 0:
        raise fail("el laboratorio necesita root: ejecútalo con sudo o como root")
    sys.stdout.flush()
    from .. import lab

    proc = lab.client_run(the_site, argv, capture_output=False, text=False)
    if proc.returncode:
        raise fail(f"la orden terminó con código {proc.returncode}", 1)


def _print_status(st: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    state = "[green]en marcha[/]" if st["running"] else "[red]detenido[/]"
    extra = " (ya estaba en marcha)" if st.get("already_running") else ""
    con.print(f"[bold]Laboratorio {st['site']}[/]: {state}{extra}")
    table = Table("nodo", "estado", "gestión", "LAN (prevista)", "enlace LAN", "VIP")
    for n in st["nodes"]:
        table.add_row(
            n["name"], "en marcha" if n["state"] == "running" else "detenido",
            n["management_address"], n["lan_address"], n["lan_link"] or "-",
            "sí" if n["holds_vip"] else "",
        )
    con.print(table)
    for b in st["backends"]:
        daemons = ", ".join(
            f"{d['program']} :{','.join(map(str, d['ports']))}"
            + ("" if d["state"] == "running" else " detenido")
            for d in b["daemons"]
        )
        state = "en marcha" if b["state"] == "running" else "detenido"
        con.print(f"backend {b['name']} {b['address']}: {state} ({daemons})", highlight=False)
    cl = st["client"]
    con.print(f"cliente «{cl['name']}» ({cl['netns']}): {', '.join(cl['addresses'])}")
    p = st["paths"]
    con.print(f"ssh: ssh -F {p['ssh_config']} NODO  (known_hosts {p['known_hosts']}, "
              f"clave {p['key']})")
