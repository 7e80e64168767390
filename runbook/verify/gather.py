"""Gather facts: one SSH round trip per node, one thread in the lab client's namespace.

Every fact a node's checks need is asked in one round trip by the fact
runner (runbook/facts/runner.py), over the OpenSSH client with a
ControlMaster (sshmux.py: no paramiko, the master is reused by the next
command for a minute); the lab client's requests are made by this process,
from a thread that joined the client's network namespace (runbook/remote/netns.py),
so they need no second Python.
"""

from __future__ import annotations

from ..checks.base import ClientFacts, NodeFacts
from ..data.records import DEFAULT_HEALTH_CHECK, LAB_RANGES, Site, status_ranges
from ..facts.base import Fact, FactError
from ..facts.runner import gather
from ..lab.layout import BACKEND_KEY, layout
from ..remote.netns import NetnsError, NetnsTimeoutError, run_in_netns
from ..remote.sshmux import connect
from ..remote.target import NodeUnreachableError
from . import client_probe

CLIENT_TIMEOUT = 2.0  # seconds per request from the lab client
CLIENT_DEADLINE = 30.0  # seconds for all of the lab client's requests


def gather_node(site: Site, node_name: str, facts: list[Fact]) -> NodeFacts:
    """Connect, ask every fact in one round trip, close. Never raises for the node's sake."""
    try:
        conn = connect(site, site.node(node_name))
    except NodeUnreachableError as exc:
        return NodeFacts(node_name, unreachable=str(exc))
    try:
        return NodeFacts(node_name, probes=gather(conn, facts))
    except NodeUnreachableError as exc:
        return NodeFacts(node_name, unreachable=str(exc))
    except FactError as exc:
        return NodeFacts(node_name, unreachable=f"{node_name}: {exc}")
    except Exception as exc:  # noqa: BLE001 - any transport failure means "could not check this node"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return NodeFacts(node_name, unreachable=f"{node_name}: la sesión SSH falló ({reason})")
    finally:
        conn.close()


# --------------------------------------------------------------------- lab client


def client_request(site: Site) -> dict:
    """What the client probe must do, from the site's data only."""
    assert site.lab is not None
    services = []
    for svc in site.services:
        check = svc.health_check or DEFAULT_HEALTH_CHECK
        services.append(
            {
                "name": svc.name,
                "mode": svc.mode,
                "port": svc.port,
                "path": check.path,
                "expect": status_ranges(check.expect_status),
                "cookie": svc.sticky_cookie,
                "balance": svc.balance,
                "backends": [b.name for b in svc.backends],
            }
        )
    stats = [
        {"node": n.name, "address": str(n.lan_address), "port": site.stats.port, "uri": site.stats.uri}
        for n in site.nodes
    ]
    return {
        "vip": str(site.vip),
        "timeout": CLIENT_TIMEOUT,
        "backend_key": BACKEND_KEY,
        "sources": [str(a) for a in site.lab.client.addresses],
        "services": services,
        "stats": stats,
    }


def lab_only_targets(site: Site) -> bool:
    """True when every address the client would contact is in the lab's documentation ranges."""
    targets = [site.vip, *(n.lan_address for n in site.nodes)]
    if site.lab is not None:
        targets += list(site.lab.client.addresses)
    return all(any(a in r for r in LAB_RANGES) for a in targets)


def gather_client(site: Site) -> ClientFacts:
    """Requests through the VIP from the lab's client namespace; skipped for non-lab sites.

    Never contacts anything from this machine's own network: requests only
    leave from inside the lab client namespace, and only to lab addresses.
    """
    if site.lab is None:
        return ClientFacts(
            available=False,
            skipped=True,
            reason=f"el sitio {site.name} no es un laboratorio: verify no hace peticiones de cliente "
            "desde esta máquina (compruébalo desde un cliente de tu LAN)",
        )
    if not lab_only_targets(site):
        return ClientFacts(available=False, reason="hay direcciones fuera de los rangos del laboratorio")
    return probe_client(layout(site).client.netns, client_request(site))


def probe_client(netns: str, request: dict) -> ClientFacts:
    """The client probe's requests (client_request) made from network namespace `netns`.

    Needs no Site: the caller has checked that the request holds lab
    addresses only. The probe runs in this process, in a new thread that
    joined `netns` (it never runs if joining fails); never raises.
    """
    try:
        data = run_in_netns(netns, client_probe.probe, request, timeout=CLIENT_DEADLINE)
    except NetnsTimeoutError as exc:
        return ClientFacts(available=False, reason=f"el cliente del laboratorio no respondió ({exc})")
    except NetnsError as exc:
        return ClientFacts(available=False, reason=f"el cliente del laboratorio no está disponible: {exc}")
    except Exception as exc:  # noqa: BLE001 - a failing probe means "client checks could not run"
        import traceback

        # The last line a failing probe script printed: "KeyError: 'port'".
        why = traceback.format_exception_only(exc)[-1].strip()
        return ClientFacts(available=False, reason=f"el cliente del laboratorio no está disponible: {why}")
    return ClientFacts(available=True, services=data["services"], stats=data["stats"])
