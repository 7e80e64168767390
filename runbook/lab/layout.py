"""Every name and path of the lab, derived from the lab site's data.

One place computes namespace, interface, bridge and file names so that up,
down, status and the drills can never disagree about them. Nothing here
touches the system.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from ..data.records import status_ranges
from .errors import LabError

# Where the base trees are cached: outside the repository and outside the
# state dir, so `lab.down` (which wipes state) keeps the next `lab.up` warm.
CACHE_DIR = Path("/var/cache/runbook")
# Linux limits interface names to 15 characters.
IFNAMSIZ = 15
BRIDGE_MGMT = "br-mgmt"
BRIDGE_LAN = "br-lan"
# The memcached key through which a backend says who it is (its value: the
# backend's name); the lab sets it when memcached starts, verify reads it.
BACKEND_KEY = "runbook:backend"


def ifname(prefix: str, name: str) -> str:
    """A short interface name; long names get a stable hash instead."""
    candidate = f"{prefix}-{name}"
    if len(candidate) <= IFNAMSIZ:
        return candidate
    return f"{prefix}-{hashlib.sha1(name.encode()).hexdigest()[:IFNAMSIZ - len(prefix) - 1]}"


@dataclass(frozen=True)
class NodeLayout:
    name: str
    netns: str
    management: IPv4Interface  # eth0 address with the management prefix
    lan_address: IPv4Address  # what deploy will put on eth1, not the lab
    mgmt_if: str  # node side is named after the site's interface (eth0)
    lan_if: str  # (eth1); these are the bridge-side peers in the lab netns
    mgmt_peer: str
    lan_peer: str
    dir: Path
    upper: Path
    work: Path
    root: Path
    log: Path
    cgroup: str


@dataclass(frozen=True)
class BackendLayout:
    name: str  # first backend name seen at this address
    names: tuple[str, ...]  # every backend name at this address
    address: IPv4Interface
    netns: str
    peer: str
    # (port, health path, status it answers) of http services: nginx. A 302 is Horizon's shape
    # (the login page behind it); any other status is answered at the path itself.
    http: tuple[tuple[int, str, int], ...]
    tcp: tuple[int, ...]  # ports of tcp services: one memcached each
    # The names its web application answers to (Django's ALLOWED_HOSTS): the
    # VIP, the health checks' Host and its own address; any other Host gets 400.
    hosts: tuple[str, ...]
    log: Path  # every daemon's own log (nginx's error log, memcached's output)
    dir: Path  # configs, pid file, pages, nginx's access log; removed by lab.down


@dataclass(frozen=True)
class ClientLayout:
    name: str
    netns: str
    peer: str
    addresses: tuple[IPv4Interface, ...]


@dataclass(frozen=True)
class LabLayout:
    site_name: str
    netns: str  # holds the bridges and the gateways
    mgmt_gateway: IPv4Interface
    lan_gateway: IPv4Interface | None
    state_dir: Path
    ssh_config: Path
    known_hosts: Path
    key: Path
    state_file: Path
    lock_file: Path
    secrets: dict[str, Path]
    ssh_user: str
    ssh_port: int
    nodes: tuple[NodeLayout, ...]
    backends: tuple[BackendLayout, ...]
    client: ClientLayout
    os: str = "debian12"  # the site's release: which base the nodes boot
    multicast: bool = True  # False: the LAN bridge drops multicast VRRP
    # True (lab.backends: machines): each backend is a Debian machine booted like a node, with
    # nginx and memcached installed by apt and left with Debian's configuration.
    backend_machines: bool = False

    def node(self, name: str) -> NodeLayout:
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes)
        raise LabError(f"el laboratorio no tiene el nodo {name!r} (nodos: {known})", code=2)

    def machine(self, backend: BackendLayout) -> NodeLayout:
        """The machine a backend runs as (lab.backends: machines): booted like a node, on the LAN only.
        Its layers live under nodes/ too, so `lab.down` finds and removes them with the nodes'."""
        d = self.state_dir / "nodes" / backend.name
        return NodeLayout(
            name=backend.name, netns=backend.netns, management=backend.address,
            lan_address=backend.address.ip, mgmt_if="eth0", lan_if="eth0", mgmt_peer=backend.peer,
            lan_peer=backend.peer, dir=d, upper=d / "upper", work=d / "work", root=d / "root",
            log=backend.log, cgroup=f"{self.netns}/{backend.name}",
        )

    @property
    def machines(self) -> tuple[NodeLayout, ...]:
        """The backends' machines (none unless lab.backends is machines)."""
        return tuple(self.machine(b) for b in self.backends) if self.backend_machines else ()

    @property
    def ssh_hosts(self) -> tuple[NodeLayout, ...]:
        """Every machine reached over SSH: the nodes, then the backends' machines."""
        return (*self.nodes, *self.machines)

    def host(self, name: str) -> NodeLayout:
        """A node or a backend's machine by name."""
        for host in self.ssh_hosts:
            if host.name == name:
                return host
        return self.node(name)

    @property
    def all_netns(self) -> tuple[str, ...]:
        return (
            self.netns,
            *(n.netns for n in self.nodes),
            *(b.netns for b in self.backends),
            self.client.netns,
        )

    def paths(self) -> dict[str, str]:
        return {
            "state_dir": str(self.state_dir),
            "ssh_config": str(self.ssh_config),
            "known_hosts": str(self.known_hosts),
            "key": str(self.key),
        }


def layout(site) -> LabLayout:
    """The lab's layout for a site that has a `lab:` block."""
    lab = getattr(site, "lab", None)
    if lab is None:
        raise LabError(f"el sitio {site.name!r} no describe un laboratorio (falta el bloque 'lab')", 2)
    if not site.ssh.config:
        raise LabError(f"el sitio {site.name!r} no indica ssh.config para el laboratorio", 2)
    ssh_config = Path(site.ssh.config)
    # The state dir is the folder of the lab's ssh_config, as named in the data.
    state = ssh_config.parent
    mgmt_prefix = site.network.management.subnet.prefixlen
    lan_net = site.network.lan.subnet
    ns = lab.namespace
    nodes = []
    for node in site.nodes:
        d = state / "nodes" / node.name
        nodes.append(
            NodeLayout(
                name=node.name,
                netns=f"{ns}-{node.name}",
                management=IPv4Interface(f"{node.management_address}/{mgmt_prefix}"),
                lan_address=node.lan_address,
                mgmt_if=site.network.management.interface,
                lan_if=site.network.lan.interface,
                mgmt_peer=ifname("m", node.name),
                lan_peer=ifname("l", node.name),
                dir=d,
                upper=d / "upper",
                work=d / "work",
                root=d / "root",
                log=state / "logs" / f"{node.name}.log",
                cgroup=f"{ns}/{node.name}",
            )
        )
    backends = _backends(site, ns, state, lan_net.prefixlen)
    client = ClientLayout(
        name=lab.client.name,
        netns=f"{ns}-{lab.client.name}",
        peer=ifname("c", lab.client.name),
        addresses=tuple(IPv4Interface(f"{a}/{lan_net.prefixlen}") for a in lab.client.addresses),
    )
    taken = [n.netns for n in nodes] + [b.netns for b in backends] + [client.netns]
    clash = sorted({ns for ns in taken if taken.count(ns) > 1})
    if clash:
        raise LabError(
            f"nombres repetidos entre nodos, backends y cliente del laboratorio: {', '.join(clash)}",
            code=2,
        )
    gw = site.network.lan.gateway
    return LabLayout(
        site_name=site.name,
        netns=ns,
        mgmt_gateway=IPv4Interface(f"{lab.management_gateway}/{mgmt_prefix}"),
        lan_gateway=IPv4Interface(f"{gw}/{lan_net.prefixlen}") if gw else None,
        state_dir=state,
        ssh_config=ssh_config,
        known_hosts=state / "known_hosts",
        key=Path(site.ssh.identity) if site.ssh.identity else state / "id_ed25519",
        state_file=state / "state.json",
        lock_file=state / "lock",
        secrets={k: Path(v.file) for k, v in site.secrets.items() if v.file},
        ssh_user=site.ssh.user,
        ssh_port=site.ssh.port,
        nodes=tuple(nodes),
        backends=backends,
        client=client,
        os=site.os,
        multicast=getattr(lab, "multicast", True),
        backend_machines=getattr(lab, "backends", "processes") == "machines",
    )


def _backends(site, ns: str, state: Path, prefix: int) -> tuple[BackendLayout, ...]:
    # One namespace per distinct address: zeus serves both HTTP and memcached.
    by_address: dict[IPv4Address, dict] = {}
    for service in site.services:
        for b in service.backends:
            entry = by_address.setdefault(b.address, {"names": [], "http": {}, "tcp": [], "hosts": []})
            if b.name not in entry["names"]:
                entry["names"].append(b.name)
            if service.mode == "http":
                check = service.health_check
                path = check.path if check else "/"
                expect = status_ranges(check.expect_status if check else DEFAULT_EXPECT)
                entry["http"].setdefault((b.port, path), []).append(expect)
                # Clients come to the VIP; the health check names its own host.
                entry["hosts"] += [str(site.vip), site.check_host(service).split(":")[0]]
            else:
                entry["tcp"].append(b.port)
    result = []
    for address, entry in by_address.items():
        name = entry["names"][0]
        shared = {port for port, _ in entry["http"]} & set(entry["tcp"])
        if shared:
            raise LabError(f"el backend {name} ({address}) tiene en el puerto {min(shared)} un servicio http "
                           "y uno tcp: el laboratorio no puede servir los dos en el mismo puerto", code=2)
        http = tuple(sorted((port, path, answer_status(expects, f"{name} ({address}:{port}{path})"))
                            for (port, path), expects in entry["http"].items()))
        result.append(
            BackendLayout(
                name=name,
                names=tuple(entry["names"]),
                address=IPv4Interface(f"{address}/{prefix}"),
                netns=f"{ns}-{name}",
                peer=ifname("b", name),
                http=http,
                tcp=tuple(sorted(set(entry["tcp"]))),
                hosts=tuple(dict.fromkeys([*entry["hosts"], str(address)])),
                log=state / "logs" / f"backend-{name}.log",
                dir=state / "run" / "backends" / name,
            )
        )
    return tuple(result)


# What a health check without `expect_status` accepts (`option httpchk` alone): 2xx and 3xx.
DEFAULT_EXPECT = "200-399"


def answer_status(expects: list[list[tuple[int, int]]], where: str) -> int:
    """The status a lab backend answers at a health path, accepted by every check that asks for it.

    Horizon's 302 (to a login page that answers 200) where both are accepted, as the published
    lab; else the lowest accepted status from 200 that is not a 3xx (a client following a redirect
    would end on a page the check may not accept). LabError (exit 2) if there is none.
    """
    def accepted(status: int) -> bool:
        return all(any(low <= status <= high for low, high in ranges) for ranges in expects)

    if accepted(302) and accepted(200):
        return 302
    for status in range(200, 600):
        if not 300 <= status <= 399 and accepted(status):
            return status
    wanted = " y ".join(",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges) for ranges in expects)
    raise LabError(f"el backend {where} no puede dar una respuesta que acepte la comprobación ({wanted}): "
                   "el laboratorio responde con un código entre 200 y 599 que no sea una redirección (3xx)",
                   code=2)
