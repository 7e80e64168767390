"""The answers `./rb new` takes, from flags and from an answers file, and the site they make.

An answers file is a YAML mapping whose keys are the flags' names with
underscores (`lan_interface: ens18`, `vip: 10.20.0.100`) plus three lists
of mappings: `nodes`, `servers` and `services`, with the keys of ITEMS. On
the command line each item is one flag (`--node name=lb1,lan=10.20.0.11,
management=10.30.0.11`), its keys the same. Flags win over the file, the
file over what the nodes suggest (--from-nodes; the nodes item by item), and
those over the defaults.

Answers are not judged here: a value is only put in the type the site needs
(`port=80` is the number 80) and handed on; `write.py` validates the whole
file through the loader, so a wrong value gets exactly the models' message.
Only what has no place in a site file is refused here (an unknown key, an
item that is not `key=value`, a service naming a server that does not exist).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from ..errors import BadInputError
from ..wording import shown

# The kind of each answer: how a text from the command line becomes the value a site holds.
TEXT, INT, NUMBER, LIST, STATUS = "text", "int", "number", "list", "status"

SCALARS: dict[str, str] = {
    "title": TEXT, "description": TEXT, "os": TEXT,
    "lan_interface": TEXT, "lan_subnet": TEXT, "gateway": TEXT, "dns": LIST,
    "management_interface": TEXT, "management_subnet": TEXT,
    "vip": TEXT, "router_id": INT, "advert_int": NUMBER,
    "ssh_user": TEXT, "ssh_port": INT, "ssh_identity": TEXT, "ssh_config": TEXT,
    "secret_env": TEXT, "secret_file": TEXT,
    "stats_port": INT, "stats_uri": TEXT, "stats_user": TEXT, "maxconn": INT,
}
ITEMS: dict[str, dict[str, str]] = {
    "nodes": {"name": TEXT, "lan": TEXT, "management": TEXT, "priority": INT},
    "servers": {"name": TEXT, "lan": TEXT, "management": TEXT},
    "services": {"name": TEXT, "mode": TEXT, "port": INT, "backend_port": INT, "balance": TEXT,
                 "check_path": TEXT, "expect_status": STATUS, "check_host": TEXT, "sticky_cookie": TEXT,
                 "maxconn": INT, "servers": LIST},
}
# The flag of each list (`--node`), and how its items are written there.
ITEM_FLAGS = {"nodes": "node", "servers": "server", "services": "service"}
# `name=web,expect_status=200,302`: a comma starts a new pair only before `key=`.
_PAIR_SPLIT = re.compile(r",(?=[a-z_]+=)")
_INT_RE = re.compile(r"^[0-9]{1,9}$")
_NUMBER_RE = re.compile(r"^[0-9]{1,6}(\.[0-9]{1,6})?$")

DEFAULT_ROUTER_ID = 50
DEFAULT_PORTS = {"ssh_port": 22, "stats_port": 8404}


class AnswerError(BadInputError):
    """An answer that has no place in a site file (Spanish, one line; nothing is written)."""


Answers = dict[str, Any]


# ---------------------------------------------------------------- reading


def from_flags(scalars: dict[str, Any], items: dict[str, list[str]]) -> Answers:
    """The answers given on the command line (None: not given; '' given empty)."""
    answers: Answers = {}
    for key, value in scalars.items():
        if key not in SCALARS:
            raise AnswerError(f"respuesta desconocida {shown(key)}")
        if value is not None:
            answers[key] = _typed(SCALARS[key], value)
    for key, texts in items.items():
        if texts:
            answers[key] = [_item_from_flag(key, text) for text in texts]
    return answers


def _item_from_flag(key: str, text: str) -> dict[str, Any]:
    flag = f"--{ITEM_FLAGS[key]}"
    item: dict[str, Any] = {}
    for pair in _PAIR_SPLIT.split(text):
        name, sep, value = pair.partition("=")
        if not sep:
            raise AnswerError(f"{flag} {shown(text)}: cada dato va como clave=valor, separados por comas "
                              f"(claves: {', '.join(ITEMS[key])})")
        if name in item:
            raise AnswerError(f"{flag} {shown(text)}: la clave {name!r} aparece dos veces")
        item[name] = value
    return _item(key, item, flag)


def from_file(path: Path) -> Answers:
    """The answers of a YAML answers file, read as strictly as a site file."""
    from ..data import yaml_strict
    from ..data.load import located

    display = str(path)
    try:
        document = yaml_strict.read(path)
    except yaml_strict.YamlError as exc:
        raise AnswerError(f"{located(display, exc.line, exc.path)}: {exc.message}") from None
    except OSError as exc:
        raise AnswerError(f"no se puede leer el fichero de respuestas {display} "
                          f"({exc.strerror or exc})") from None
    data = document.data

    def where(path: tuple) -> str:
        return located(display, document.line_of(path), path)

    if not isinstance(data, dict):
        raise AnswerError(f"{where(())}: el fichero de respuestas debe ser un mapa (clave: valor)")
    answers: Answers = {}
    for key, value in data.items():
        if key in ITEMS:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise AnswerError(f"{where((key,))}: {key} es una lista de mapas (- name: ...)")
            items = []
            for i, item in enumerate(value):
                try:
                    items.append(_item(key, item, f"{key}[{i}]"))
                except AnswerError as exc:
                    raise AnswerError(f"{where((key, i))}: {exc}") from None
            answers[key] = items
        elif key in SCALARS:
            answers[key] = _typed(SCALARS[key], value)
        else:
            raise AnswerError(f"{where((key,))}: {_unknown(key, [*SCALARS, *ITEMS])}")
    return answers


def _item(key: str, item: dict[str, Any], where: str) -> dict[str, Any]:
    allowed = ITEMS[key]
    out = {}
    for name, value in item.items():
        if name not in allowed:
            raise AnswerError(f"{where}: {_unknown(name, list(allowed))}")
        out[name] = _typed(allowed[name], value)
    return out


def _unknown(key: object, allowed: list[str]) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    hint = f"; ¿quería decir {close[0]!r}?" if close else f"; las admitidas son: {', '.join(allowed)}"
    return f"clave desconocida {shown(key)}{hint}"


def _typed(kind: str, value: Any) -> Any:
    """A value in the type the site needs when it reads as one; anything else is left for the model
    to refuse with its own message."""
    if isinstance(value, str):
        text = value.strip()
        if kind in (INT, STATUS) and _INT_RE.match(text):
            return int(text)
        if kind == NUMBER and _NUMBER_RE.match(text):
            return float(text) if "." in text else int(text)
        if kind == LIST:
            return [v.strip() for v in re.split(r"[,+\s]+", text) if v.strip()]
        return text
    return value


def merged(*layers: Answers) -> Answers:
    """Later layers win, key by key (a list as a whole)."""
    out: Answers = {}
    for layer in layers:
        out.update({k: v for k, v in layer.items()})
    return out


def over_proposals(given: Answers, proposed: Answers) -> Answers:
    """The answers given, completed by what the nodes suggest: key by key, and the nodes item by
    item (`--node lan=10.20.0.11` gives the first node read its LAN address, keeping its name)."""
    out = merged(proposed, given)
    if "nodes" in given and "nodes" in proposed:
        read, told = proposed["nodes"], given["nodes"]
        out["nodes"] = [{**(read[i] if i < len(read) else {}), **(told[i] if i < len(told) else {})}
                        for i in range(max(len(read), len(told)))]
    return out


# ------------------------------------------------------------- the site


def secret_env(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()) + "_STATS_PASSWORD"


def secret_file(name: str) -> str:
    return f"~/.config/runbook/{name}/stats_password"


def default_priority(index: int) -> int:
    """110, 100, 90... for the first eleven balancers, then 9, 8...: first given, first to hold the VIP."""
    return 110 - 10 * index if index <= 10 else 20 - index


def _given(value: Any) -> bool:
    return value is not None and value != "" and value != []


def site_data(name: str, a: Answers) -> dict[str, Any]:
    """The site (plain data, in the order of the file) the answers make, with the defaults for the rest.

    A required answer that is missing is left out: the loader then names the field that needs it.
    """
    lan = _mapping(interface=a.get("lan_interface"), subnet=a.get("lan_subnet"), gateway=a.get("gateway"),
                   dns=a.get("dns"))
    management = _mapping(interface=a.get("management_interface"), subnet=a.get("management_subnet"))
    servers = [_mapping(name=s.get("name"), lan_address=s.get("lan"), management_address=s.get("management"))
               for s in a.get("servers", [])]
    site = _mapping(
        name=name,
        title=a.get("title") or f"Sitio {name}",
        description=a.get("description"),
        os=a.get("os") or "debian13",
        network={"lan": lan, "management": management},
        vip=a.get("vip"),
        vrrp=_mapping(router_id=a.get("router_id", DEFAULT_ROUTER_ID), advert_int=a.get("advert_int", 1)),
        ssh=_mapping(user=a.get("ssh_user") or "root", port=a.get("ssh_port", DEFAULT_PORTS["ssh_port"]),
                     identity=a.get("ssh_identity"), config=a.get("ssh_config")),
        secrets={"stats_password": _mapping(env=a.get("secret_env", secret_env(name)),
                                            file=a.get("secret_file", secret_file(name)))},
        stats=_mapping(port=a.get("stats_port", DEFAULT_PORTS["stats_port"]),
                       uri=a.get("stats_uri") or "/stats", user=a.get("stats_user") or "admin"),
        haproxy={"maxconn": a.get("maxconn", 4000)},
        nodes=[_mapping(name=n.get("name"), lan_address=n.get("lan"), management_address=n.get("management"),
                        priority=n.get("priority", default_priority(i)))
               for i, n in enumerate(a.get("nodes", []))],
        servers=servers,
        services=[_service(s, a.get("servers", [])) for s in a.get("services", [])],
    )
    return site


def _service(s: dict[str, Any], servers: list[dict[str, Any]]) -> dict[str, Any]:
    mode = s.get("mode") or "http"
    chosen = _chosen_servers(s, servers)
    check = None
    path = s.get("check_path")
    if path != "" and (mode == "http" or path is not None):  # http: "/" unless told "none" (empty)
        check = _mapping(path=path or "/", expect_status=s.get("expect_status"), host=s.get("check_host"))
    port = s.get("port")
    return _mapping(
        name=s.get("name"), mode=mode, port=port, balance=s.get("balance") or "roundrobin",
        health_check=check, sticky_cookie=s.get("sticky_cookie"), maxconn=s.get("maxconn"),
        backends=[_mapping(name=srv.get("name"), address=srv.get("lan"), port=s.get("backend_port", port))
                  for srv in chosen],
    )


def _chosen_servers(s: dict[str, Any], servers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The servers a service is spread over: those it names, or every server."""
    names = s.get("servers")
    if not _given(names):
        return servers
    known = {srv.get("name"): srv for srv in servers}
    for name in names:
        if name not in known:
            listed = ", ".join(str(k) for k in known) or "ninguno"
            raise AnswerError(f"el servicio {shown(s.get('name'))} nombra el servidor {shown(name)}, que no "
                              f"está entre los servidores (servidores: {listed})")
    return [known[name] for name in names]


def _mapping(**values: Any) -> dict[str, Any]:
    """The values that were given, in order (None and '' mean: not in the file)."""
    return {k: v for k, v in values.items() if v is not None and v != ""}
