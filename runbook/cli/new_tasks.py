"""`invoke new SITE`: a new site file from answers; `invoke schema`: the JSON Schema editors use.

The work lives in runbook/scaffold (answers, questions, the node probe, the
commented file and its writing); this module only wires the flags to it.
On a terminal the open answers are asked in Spanish; off one (or with
--batch) the flags and the answers file are all there is. Exit codes: 0
written; 2 a bad answer, flag or site name, an existing file without
--force, a node that cannot be read (nothing written, nothing contacted
after the first refusal); 1 the file could not be written.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .common import FAILED, fail, out
from .errors import task

_SCALAR_HELP = {
    "title": "título del sitio",
    "description": "descripción del sitio",
    "lan_interface": "interfaz de la LAN en los balanceadores (p. ej. ens18)",
    "lan_subnet": "subred de la LAN (p. ej. 10.20.0.0/24)",
    "gateway": "puerta de enlace de la LAN (opcional)",
    "dns": "servidores DNS, separados por comas (opcional)",
    "management_interface": "interfaz de la red de gestión (por la que entra SSH)",
    "management_subnet": "subred de gestión (p. ej. 10.30.0.0/24)",
    "vip": "IP virtual, en la LAN",
    "router_id": "virtual_router_id de VRRP (por defecto, 50)",
    "advert_int": "segundos entre anuncios VRRP (por defecto, 1)",
    "ssh_user": "usuario de SSH en los balanceadores (por defecto, root)",
    "ssh_port": "puerto de SSH (por defecto, 22)",
    "ssh_identity": "clave privada de SSH (opcional)",
    "ssh_config": "fichero ssh_config (opcional)",
    "secret_env": "variable de entorno de la contraseña de estadísticas (por defecto, SITIO_STATS_PASSWORD)",
    "secret_file": "fichero de la contraseña de estadísticas "
                   "(por defecto, ~/.config/runbook/SITIO/stats_password)",
    "stats_port": "puerto de la página de estadísticas (por defecto, 8404)",
    "stats_uri": "ruta de la página de estadísticas (por defecto, /stats)",
    "stats_user": "usuario de la página de estadísticas (por defecto, admin)",
    "maxconn": "conexiones simultáneas de todo HAProxy (por defecto, 4000)",
}


@task(
    positional=["site"],
    iterable=["node", "server", "service"],
    auto_shortflags=False,  # two dozen options: only their long names, which say what they are
    help={
        "site": "nombre del sitio nuevo: se escribe site_data/SITIO.yaml",
        "answers": "fichero YAML de respuestas (sus claves: las de estas opciones, con _)",
        "from_nodes": "leer (solo leer) de los nodos por SSH nombres, interfaces, direcciones y sistema: "
                      "usuario@equipo,usuario@equipo",
        "force": "reemplazar el fichero si ya existe",
        "batch": "no preguntar nada, ni en una terminal (lo que falte es un error)",
        "node": "un balanceador: name=lb1,lan=10.20.0.11,management=10.30.0.11[,priority=110] (repetible)",
        "server": "un servidor detrás de la IP virtual: name=web1,lan=10.20.0.21 (repetible)",
        "service": "un servicio: name=web,port=80[,mode=http,backend_port=8080,balance=roundrobin,"
                   "check_path=/healthz,expect_status=200,servers=web1+web2] (repetible)",
        **_SCALAR_HELP,
    },
)
def new(c, site=None, answers=None, from_nodes=None, force=False, batch=False, node=None, server=None,
        service=None, title=None, description=None, lan_interface=None, lan_subnet=None, gateway=None,
        dns=None, management_interface=None, management_subnet=None, vip=None, router_id=None,
        advert_int=None, ssh_user=None, ssh_port=None, ssh_identity=None, ssh_config=None, secret_env=None,
        secret_file=None, stats_port=None, stats_uri=None, stats_user=None, maxconn=None):
    """Escribe un sitio nuevo, site_data/SITIO.yaml, comentado y ya válido.

    Las respuestas se preguntan en una terminal; para scripts, van en las opciones y en
    --answers FICHERO (YAML con las mismas claves, con _). --from-nodes propone nombres,
    interfaces, direcciones y sistema leyéndolos de los nodos por SSH (solo lectura)."""
    from ..names import data_dir
    from ..scaffold import answers as ans
    from ..scaffold.write import display, refuse_existing, render, site_path, write_site

    path = site_path(site, data_dir())
    refuse_existing(path, force)
    flags = dict(title=title, description=description, lan_interface=lan_interface, lan_subnet=lan_subnet,
                 gateway=gateway, dns=dns, management_interface=management_interface,
                 management_subnet=management_subnet, vip=vip, router_id=router_id, advert_int=advert_int,
                 ssh_user=ssh_user, ssh_port=ssh_port, ssh_identity=ssh_identity, ssh_config=ssh_config,
                 secret_env=secret_env, secret_file=secret_file, stats_port=stats_port, stats_uri=stats_uri,
                 stats_user=stats_user, maxconn=maxconn)
    given = ans.merged(ans.from_file(Path(answers)) if answers else {},
                       ans.from_flags(flags, {"nodes": node, "servers": server, "services": service}))
    proposed = _read_nodes(from_nodes, given) if from_nodes else {}
    if not batch and sys.stdin.isatty() and sys.stdout.isatty():
        from ..scaffold.questions import Questions

        if "nodes" in given:  # given nodes are not asked again: what the nodes said completes them
            given = {**given, "nodes": ans.over_proposals(given, proposed)["nodes"]}
        final = Questions(site, given, proposed).ask_all()
        if "os" in proposed and "os" not in final:
            final["os"] = proposed["os"]
    else:
        final = ans.over_proposals(given, proposed)
    data = ans.site_data(site, final)
    text = render(site, data, path)  # the loader's checks: a wrong answer ends here, nothing written
    try:
        schema = write_site(path, text, force)
    except OSError as exc:
        raise fail(f"no se pudo escribir {display(path)}: {exc.strerror or exc}", FAILED) from None
    count = (f"{len(data['nodes'])} balanceadores, {len(data['servers'])} servidores, "
             f"{len(data['services'])} servicio{'s' if len(data['services']) != 1 else ''}")
    out(f"Escrito {display(path)}: {count}.")
    out(f"Esquema para tu editor: {display(schema)} (lo nombra la primera línea del fichero).")
    out(f"Siguiente: ./rb plan --site {site}   ./rb docs --site {site}")


def _read_nodes(text: str, given: dict) -> dict:
    """What the nodes of --from-nodes suggest, printed as it is read."""
    from ..data import model as m
    from ..scaffold.answers import AnswerError
    from ..scaffold.checks import field_problem
    from ..scaffold.probe import parse_targets, probe
    from ..scaffold.proposals import propose, summary

    targets = parse_targets(text)
    port = given.get("ssh_port", 22)
    problem = field_problem(m.Ssh, "port", port)
    if problem:
        raise AnswerError(f"ssh_port: {problem}")
    user = given.get("ssh_user") or "root"
    config = Path(given["ssh_config"]).expanduser() if given.get("ssh_config") else None
    identity = Path(given["ssh_identity"]).expanduser() if given.get("ssh_identity") else None
    facts = [probe(u, host, user, port, config, identity) for u, host in targets]
    proposed, notes = propose(facts)
    out("Leído de los nodos (solo lectura):")
    for line in summary(facts) + [f"aviso: {n}" for n in notes]:
        out(f"  {line}")
    return proposed


@task(help={"output": "fichero donde escribirlo (por defecto, site_data/.schema/site.json; «-»: la salida)"})
def schema(c, output=None):
    """Escribe el esquema JSON de los ficheros de sitio (para tu editor).

    Con él, un editor con servidor de lenguaje YAML completa y comprueba los campos mientras
    escribes; ./rb new lo escribe también y lo nombra en la primera línea de cada fichero."""
    from ..data.schema import default_path, schema_text, write_schema

    if output == "-":
        sys.stdout.write(schema_text())
        return
    path = Path(output) if output else default_path()
    if path.is_dir():
        raise fail(f"{path} es una carpeta: indica un fichero con --output")
    try:
        write_schema(path)
    except OSError as exc:
        raise fail(f"no se pudo escribir {path}: {exc.strerror or exc}", FAILED) from None
    out(f"Esquema JSON de los datos de un sitio en {path}")
