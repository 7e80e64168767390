"""Your site, rehearsed: the lab site with its shape on documentation addresses. Pure.

`derive(data)` takes a site as plain data (a validated site's `model_dump`)
and returns the lab site that rehearses it: the same node names, NIC names,
priorities, VRRP settings, services (names, modes, ports, balance, health
checks and their expected statuses, sticky cookies, maxconn), backends
(names and ports) and stats page (opened to the lab's management network and
client); every address replaced by one of the lab's
address plan below, so nothing of the real ranges is ever contacted; SSH,
the secret and the `lab:` block the lab's own. A site the plan cannot hold
is a RehearsalError: one Spanish line, exit 2, before anything is written or
started.

The address plan (a /24 each; the lab's namespaces have no route out):

    LAN 198.51.100.0/24     .1 gateway · .2-.4 DNS · .10-.99 servers and backends
                            .100 VIP · .101-.116 balancers · .200-.207 the lab's client
    management 192.0.2.0/24 .1 this machine · .10-.25 balancers · .110-.199 servers
"""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address, IPv4Network, summarize_address_range
from pathlib import Path

from ..errors import BadInputError

LAN = IPv4Network("198.51.100.0/24")
MANAGEMENT = IPv4Network("192.0.2.0/24")
LAN_GATEWAY = 1
DNS = range(2, 5)
SERVERS = range(10, 100)  # one per distinct address of a server or a backend
VIP = 100
NODES = range(101, 117)
CLIENT = range(200, 208)
MANAGEMENT_GATEWAY = 1
NODES_MANAGEMENT = range(10, 26)
SERVERS_MANAGEMENT = range(110, 200)
LAB_SSH_PORT = 22  # the lab's nodes run Debian's sshd as it comes
IFNAMSIZ = 15  # Linux: an interface name has at most 15 bytes
STATE_ROOT = Path("/var/lib/runbook")
CLIENT_NAME = "cliente"


class RehearsalError(BadInputError):
    """A site the lab cannot rehearse; the message is one Spanish line."""


def address_plan() -> dict[str, str | int]:
    """The plan as the lab's page shows it (the same constants the mapping uses)."""
    def span(net, hosts: range) -> str:
        return f"{net[hosts[0]]}-{hosts[-1]}"

    return {
        "lan": str(LAN), "management": str(MANAGEMENT), "lan_gateway": str(LAN[LAN_GATEWAY]),
        "dns": span(LAN, DNS), "servers": span(LAN, SERVERS), "max_servers": len(SERVERS),
        "vip": str(LAN[VIP]), "nodes": span(LAN, NODES), "max_nodes": len(NODES),
        "client": span(LAN, CLIENT), "management_gateway": str(MANAGEMENT[MANAGEMENT_GATEWAY]),
        "nodes_management": span(MANAGEMENT, NODES_MANAGEMENT),
        "servers_management": span(MANAGEMENT, SERVERS_MANAGEMENT),
        "state_dir": str(STATE_ROOT / "rh-SITIO"), "ifnamsiz": IFNAMSIZ, "ssh_port": LAB_SSH_PORT,
    }


def state_dir(name: str) -> Path:
    """Where a site's rehearsal lives: the lab's state, its ssh files and the derived site file."""
    return STATE_ROOT / f"rh-{name}"


def site_file(name: str) -> Path:
    return state_dir(name) / f"{name}.yaml"


def namespace(name: str) -> str:
    """The rehearsal's lab namespace. A fixed-length hash, so that no rehearsal's name is the start of
    another's (the lab removes every namespace that starts with its own name and a dash)."""
    return "rb-rh" + hashlib.sha256(name.encode()).hexdigest()[:8]


def _lan(host: int) -> str:
    return str(LAN[host])


def _management(host: int) -> str:
    return str(MANAGEMENT[host])


def _refuse(name: str, why: str) -> RehearsalError:
    return RehearsalError(f"no se puede ensayar el sitio {name!r} en el laboratorio: {why}")


def address_map(data: dict) -> dict[str, str]:
    """Every address of the site → its lab address (the VIP, nodes, gateway, DNS, servers, backends)."""
    name = data["name"]
    nodes = data["nodes"]
    if len(nodes) > len(NODES):
        raise _refuse(name, f"tiene {len(nodes)} balanceadores y el plan de direcciones del laboratorio "
                      f"admite {len(NODES)} ({_lan(NODES[0])}-{NODES[-1]})")
    lan = data["network"]["lan"]
    found: dict[str, str] = {data["vip"]: _lan(VIP)}
    if lan.get("gateway"):
        found[lan["gateway"]] = _lan(LAN_GATEWAY)
    for i, node in enumerate(nodes):
        found[node["lan_address"]] = _lan(NODES[i])
        found[node["management_address"]] = _management(NODES_MANAGEMENT[i])
    dns = [a for a in lan.get("dns") or [] if a not in found]
    for address, host in zip(dict.fromkeys(dns), DNS, strict=False):  # at most three (the model)
        found[address] = _lan(host)
    servers = [s["lan_address"] for s in data.get("servers") or []]
    servers += [b["address"] for s in data["services"] for b in s["backends"]]
    servers = [a for a in dict.fromkeys(servers) if a not in found]
    if len(servers) > len(SERVERS):
        raise _refuse(name, f"tiene {len(servers)} direcciones de servidores y backends y el plan de "
                      f"direcciones del laboratorio admite {len(SERVERS)} ({_lan(SERVERS[0])}-{SERVERS[-1]})")
    for address, host in zip(servers, SERVERS, strict=False):
        found[address] = _lan(host)
    managed = [s["management_address"] for s in data.get("servers") or [] if s.get("management_address")]
    for address, host in zip([a for a in dict.fromkeys(managed) if a not in found], SERVERS_MANAGEMENT,
                             strict=False):
        found[address] = _management(host)
    return found


def _check_host(host: str | None, addresses: dict[str, str]) -> str | None:
    """A health check's Host header: a name stays; an address (with its port) becomes its lab address."""
    if host is None:
        return None
    bare, colon, port = host.partition(":")
    try:
        IPv4Address(bare)
    except ValueError:
        return host
    return addresses.get(bare, _lan(VIP)) + colon + port


def _client_name(data: dict) -> str:
    taken = {n["name"] for n in data["nodes"]} | {b["name"] for s in data["services"] for b in s["backends"]}
    candidates = [CLIENT_NAME, *(f"{CLIENT_NAME}-{i}" for i in range(1, len(taken) + 2))]
    return next(c for c in candidates if c not in taken)


def _check_interfaces(data: dict) -> None:
    for key in ("lan", "management"):
        interface = data["network"][key]["interface"]
        if len(interface.encode()) > IFNAMSIZ:
            raise _refuse(data["name"], f"la interfaz {interface!r} (network.{key}.interface) tiene más "
                          f"de {IFNAMSIZ} bytes, lo que Linux admite en el nombre de una interfaz")
        if interface == "lo":
            raise _refuse(data["name"], f"network.{key}.interface es «lo», la interfaz de bucle local")


def _check_services(data: dict) -> None:
    if not any(s["mode"] == "http" for s in data["services"]):
        raise _refuse(data["name"], "el simulacro del ensayo mide peticiones HTTP a través de la IP "
                      "virtual y el sitio no tiene ningún servicio http")
    ports = [(f"services[{i}].port", s["port"]) for i, s in enumerate(data["services"])]
    ports.append(("stats.port", (data.get("stats") or {}).get("port", 8404)))
    for field, port in ports:
        if port == LAB_SSH_PORT:
            raise _refuse(data["name"], f"{field} es {port}, el puerto de SSH de los nodos del laboratorio")


def derive(data: dict) -> dict:
    """The lab site that rehearses `data` (a site as plain data, without a `lab:` block)."""
    name = data["name"]
    if data.get("lab") is not None:
        raise _refuse(name, "ya es un sitio de laboratorio (tiene bloque lab:); usa ./rb lab.up --site "
                      f"{name}")
    _check_interfaces(data)
    _check_services(data)
    addresses = address_map(data)
    lan, management = data["network"]["lan"], data["network"]["management"]
    state = state_dir(name)
    services = []
    for service in data["services"]:
        backends = [{**b, "address": addresses[b["address"]]} for b in service["backends"]]
        copy = {**service, "backends": backends}
        if service.get("health_check"):
            check = service["health_check"]
            copy["health_check"] = {**check, "host": _check_host(check.get("host"), addresses)}
        services.append(copy)
    replaced = {
        "title": f"Ensayo de {data['title']}",
        "description": f"El sitio {name} ensayado en el laboratorio de esta máquina (./rb rehearse): su "
                       "forma, en direcciones de documentación.",
        "network": {
            "lan": {**lan, "subnet": str(LAN), "gateway": addresses.get(lan.get("gateway")),
                    "dns": [addresses[a] for a in lan.get("dns") or []]},
            "management": {**management, "subnet": str(MANAGEMENT)},
        },
        "vip": addresses[data["vip"]],
        "ssh": {"user": "root", "port": LAB_SSH_PORT, "config": str(state / "ssh_config")},
        "secrets": {"stats_password": {"file": str(state / "secrets" / "stats_password")}},
        "nodes": [{**n, "lan_address": addresses[n["lan_address"]],
                   "management_address": addresses[n["management_address"]]} for n in data["nodes"]],
        "servers": [{**s, "lan_address": addresses[s["lan_address"]],
                     "management_address": addresses.get(s.get("management_address"))}
                    for s in data.get("servers") or []],
        "services": services,
        # The balancers' firewall opens the stats page to these only: the lab's management network
        # and its client, which opens the page from the LAN (your own admin networks are not the lab's).
        "stats": {**(data.get("stats") or {}), "allow_from": [str(MANAGEMENT), *_client_networks()]},
    }
    site = {key: replaced.get(key, value) for key, value in data.items() if key != "lab"}
    site |= {key: value for key, value in replaced.items() if key not in site}
    site["lab"] = {
        "namespace": namespace(name),
        "management_gateway": _management(MANAGEMENT_GATEWAY),
        "client": {"name": _client_name(data), "addresses": [_lan(h) for h in CLIENT]},
    }
    return _without_none(site)


def _client_networks() -> list[str]:
    return [str(n) for n in summarize_address_range(LAN[CLIENT[0]], LAN[CLIENT[-1]])]


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value
