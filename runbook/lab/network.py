"""The lab's networks: namespaces, bridges and veth pairs.

    lab netns (rb-lab)        br-mgmt: management gateway (192.0.2.1)
                              br-lan:  LAN gateway (198.51.100.1), no snooping
    node netns (rb-lab-hera)  eth0 on br-mgmt (management address, set here)
                              eth1 on br-lan  (down, no address: deploy's job)
    backend netns             eth0 on br-lan (backend address)
    client netns              eth0 on br-lan (all the client addresses)

A lab site with `lab: {multicast: false}` gets a bridge that drops VRRP sent
to its multicast group (nftables in the lab namespace), like a cloud network
or a virtual switch that does not carry multicast: unicast VRRP still passes.

Every veth is created with both ends already inside their namespaces, so
the host's own namespace never holds a lab interface, address or route, and
no namespace has a default route: nothing can leave the lab.
"""

from __future__ import annotations

import shutil

from .errors import PrerequisiteError
from .layout import BRIDGE_LAN, BRIDGE_MGMT, LabLayout
from .sysutil import ip_batch, netns_list, netns_pids, run

# The nftables table of a lab without multicast: VRRP adverts to 224.0.0.18
# (IP protocol 112) are dropped as the LAN bridge forwards them.
NO_MULTICAST_TABLE = "runbook_sin_multicast"
NO_MULTICAST_RULES = f"""table bridge {NO_MULTICAST_TABLE} {{
  chain forward {{
    type filter hook forward priority 0; policy accept;
    ip daddr 224.0.0.18 ip protocol vrrp counter drop
  }}
}}
"""


def create(lay: LabLayout) -> None:
    ip_batch([f"netns add {ns}" for ns in lay.all_netns], "crear los espacios de red")

    lab = [
        "link set lo up",
        # VRRP adverts go to 224.0.0.18: with snooping on, a bridge without a
        # multicast querier may stop flooding them and both nodes become MASTER.
        f"link add {BRIDGE_LAN} type bridge mcast_snooping 0",
        f"link add {BRIDGE_MGMT} type bridge",
        f"address add {lay.mgmt_gateway} dev {BRIDGE_MGMT}",
    ]
    if lay.lan_gateway is not None:
        lab.append(f"address add {lay.lan_gateway} dev {BRIDGE_LAN}")
    for node in lay.nodes:
        lab += _veth(node.mgmt_peer, BRIDGE_MGMT, node.mgmt_if, node.netns)
        lab += _veth(node.lan_peer, BRIDGE_LAN, node.lan_if, node.netns)
    for backend in lay.backends:
        lab += _veth(backend.peer, BRIDGE_LAN, "eth0", backend.netns)
    lab += _veth(lay.client.peer, BRIDGE_LAN, "eth0", lay.client.netns)
    lab += [f"link set {BRIDGE_MGMT} up", f"link set {BRIDGE_LAN} up"]
    ip_batch(lab, "crear los puentes del laboratorio", lay.netns)
    # The lab namespace joins both networks but must not route between them
    # (a new namespace may inherit forwarding from the host's settings).
    run(["ip", "netns", "exec", lay.netns, "sysctl", "-qw", "net.ipv4.ip_forward=0"],
        "desactivar el reenvío en el laboratorio")
    if not lay.multicast:
        if shutil.which("nft") is None:
            raise PrerequisiteError("falta nft: instálalo con «apt-get install nftables» para un "
                                    "laboratorio sin multicast")
        run(["ip", "netns", "exec", lay.netns, "nft", "-f", "-"],
            "descartar el multicast VRRP en la LAN del laboratorio", input=NO_MULTICAST_RULES)

    for node in lay.nodes:
        # eth0 is configured from outside, like a provider's management
        # network; eth1 stays down and unaddressed until deploy brings it up.
        ip_batch(
            ["link set lo up", f"address add {node.management} dev {node.mgmt_if}",
             f"link set {node.mgmt_if} up"],
            f"configurar la red de gestión de {node.name}", node.netns,
        )
    for backend in lay.backends:
        ip_batch(
            ["link set lo up", f"address add {backend.address} dev eth0", "link set eth0 up"],
            f"configurar la red del backend {backend.name}", backend.netns,
        )
    ip_batch(
        ["link set lo up", *(f"address add {a} dev eth0" for a in lay.client.addresses),
         "link set eth0 up"],
        "configurar la red del cliente", lay.client.netns,
    )


def _veth(peer: str, bridge: str, inner: str, netns: str) -> list[str]:
    return [
        f"link add {peer} type veth peer name {inner} netns {netns}",
        f"link set {peer} master {bridge}",
        f"link set {peer} up",
    ]


def multicast_dropped(lay: LabLayout) -> int | None:
    """VRRP multicast packets the LAN bridge dropped (None: the lab lets multicast through)."""
    out = run(["ip", "netns", "exec", lay.netns, "nft", "list", "table", "bridge", NO_MULTICAST_TABLE],
              "leer las reglas del laboratorio", check=False)
    for line in out.splitlines():
        if "counter packets" in line:
            return int(line.split("counter packets", 1)[1].split()[0])
    return None


def set_link(lay: LabLayout, node_name: str, up: bool) -> None:
    """Cut or restore a node's LAN cable: its veth's bridge side goes down."""
    node = lay.node(node_name)
    state = "up" if up else "down"
    ip_batch([f"link set {node.lan_peer} {state}"], f"cambiar el enlace LAN de {node.name}",
             lay.netns)


def link_is_up(lay: LabLayout, node_name: str) -> bool:
    node = lay.node(node_name)
    out = run(["ip", "-n", lay.netns, "-o", "link", "show", node.lan_peer], "leer el enlace",
              check=False)
    flags = out.split("<", 1)[1].split(">", 1)[0].split(",") if "<" in out else []
    return "UP" in flags


def ours(lay: LabLayout, recorded: list[str] = ()) -> list[str]:
    """Existing namespaces of this lab: by name, by record, or by prefix."""
    wanted = set(lay.all_netns) | set(recorded)
    prefix = lay.netns + "-"
    return [ns for ns in netns_list() if ns in wanted or ns.startswith(prefix)]


def pids(namespaces: list[str]) -> set[int]:
    found: set[int] = set()
    for ns in namespaces:
        found.update(netns_pids(ns))
    return found


def destroy(namespaces: list[str]) -> None:
    """Deleting a namespace destroys its interfaces and their veth peers."""
    for ns in namespaces:
        run(["ip", "netns", "del", ns], f"borrar el espacio de red {ns}", check=False)
