"""The validated site as plain objects: what a plan holds, and deploy and verify read.

pydantic (model.py) turns the YAML into a site that is known to work; the
plan (plan/build.py) then keeps that site as records: frozen dataclasses with
the very same fields, values and methods, made without pydantic. A plan read
from the cache (plan/cache.py) is unpickled into these classes, so `./rb
verify` and `./rb deploy` never import pydantic and the models: about 450
million instructions, a third of what verify cost on the lab
(benchmarks/README.md).

One definition of each behaviour: the methods a validated site offers live
in the mixins below, and model.py's classes inherit them too. A record
class exists for every model a plan can hold, named as that model, its
fields declared in the model's order; `from_model` makes the record of a
model, field by field, and tests/unit/test_records.py proves both declare
the same fields, hold the same values and answer the same. A changed copy
is `dataclasses.replace(record, field=value)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Any, Literal

# Only documentation ranges (RFC 5737) may ever be used by the lab: they are
# routed nowhere, so a mistake cannot reach somebody's real network.
LAB_RANGES = (IPv4Network("192.0.2.0/24"), IPv4Network("198.51.100.0/24"))

STATUS_ITEM_RE = re.compile(r"^([1-5][0-9]{2})(?:-([1-5][0-9]{2}))?$")


def status_ranges(codes: str) -> list[tuple[int, int]]:
    """`200-399,404` -> [(200, 399), (404, 404)]; the syntax of HAProxy's `expect status`."""
    ranges = []
    for item in codes.split(","):
        match = STATUS_ITEM_RE.match(item.strip())
        if match is None:
            raise ValueError(item)
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if high < low:
            raise ValueError(item)
        ranges.append((low, high))
    return ranges


def describe_status_codes(codes: str) -> str:
    """Spanish reading of a status list: `200-399` -> `2xx o 3xx`, `200,302` -> `200 o 302`."""
    parts = []
    for low, high in status_ranges(codes):
        if low % 100 == 0 and high % 100 == 99:
            parts += [f"{c}xx" for c in range(low // 100, high // 100 + 1)]
        else:
            parts.append(str(low) if low == high else f"{low}-{high}")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " o " + parts[-1]


# ------------------------------------------------------------------ behaviour
# Shared by model.py's classes and the records: no state of their own. The
# fields they read are declared for type checkers only: at run time pydantic
# would take them as the model's first fields, ahead of its own order.


class HealthCheckMethods:
    __slots__ = ()
    if TYPE_CHECKING:
        expect_status: str

    def accepts(self, status: int) -> bool:
        return any(low <= status <= high for low, high in status_ranges(self.expect_status))

    @property
    def expect_description(self) -> str:
        return describe_status_codes(self.expect_status)


class SiteMethods:
    __slots__ = ()
    if TYPE_CHECKING:
        vip: IPv4Address
        network: Any
        nodes: list
        servers: list
        services: list
        stats: Any
        lab: Any

    def addresses(self) -> list[tuple[tuple, IPv4Address]]:
        """Every address the site names, with the field it comes from."""
        places: list[tuple[tuple, IPv4Address]] = [(("vip",), self.vip)]
        lan = self.network.lan
        if lan.gateway is not None:
            places.append((("network", "lan", "gateway"), lan.gateway))
        places += [(("network", "lan", "dns", i), a) for i, a in enumerate(lan.dns)]
        for i, n in enumerate(self.nodes):
            places += [(("nodes", i, "lan_address"), n.lan_address)]
            places += [(("nodes", i, "management_address"), n.management_address)]
        for i, s in enumerate(self.servers):
            places.append((("servers", i, "lan_address"), s.lan_address))
            if s.management_address is not None:
                places.append((("servers", i, "management_address"), s.management_address))
        for i, s in enumerate(self.services):
            for j, b in enumerate(s.backends):
                places.append((("services", i, "backends", j, "address"), b.address))
        if self.lab is not None:
            places.append((("lab", "management_gateway"), self.lab.management_gateway))
            client = self.lab.client.addresses
            places += [(("lab", "client", "addresses", i), a) for i, a in enumerate(client)]
        return places

    # Convenience views used by templates and planners.
    def node(self, name: str):
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def check_host(self, service) -> str:
        """The Host header of a service's health check: its own `host`, else the VIP clients use."""
        own = service.health_check.host if service.health_check else None
        return own or str(self.vip)

    @property
    def stats_sources(self) -> list[IPv4Network]:
        """The networks the balancers' firewall lets reach the stats page: its own list, else management."""
        return list(self.stats.allow_from) or [self.network.management.subnet]

    @property
    def nodes_by_priority(self) -> list:
        """Highest priority first: the order in which nodes claim the VIP."""
        return sorted(self.nodes, key=lambda n: n.priority, reverse=True)

    @property
    def vip_owner(self):
        return self.nodes_by_priority[0]


# -------------------------------------------------------------------- records
# One per model a plan can hold, its fields as the model's (names, order, the
# types of the validated values). No defaults: from_model gives every field.
# Frozen and compared by value as the models; hashable when the values are
# (a list is not), as a frozen model.

record = dataclass(frozen=True, slots=True)


@record
class Lan:
    interface: str
    subnet: IPv4Network
    gateway: IPv4Address | None
    dns: list[IPv4Address]


@record
class Management:
    interface: str
    subnet: IPv4Network


@record
class Network:
    lan: Lan
    management: Management


@record
class Vrrp:
    router_id: int
    version: Literal[2, 3]
    advert_int: int | float
    unicast: bool


@record
class Ssh:
    user: str
    port: int
    config: str | None
    identity: str | None


@record
class SecretSource:
    env: str | None
    file: str | None


@record
class Stats:
    port: int
    uri: str
    user: str
    allow_from: list[IPv4Network]


@record
class Haproxy:
    maxconn: int


@record
class Node:
    name: str
    lan_address: IPv4Address
    management_address: IPv4Address
    priority: int


@record
class Server:
    name: str
    lan_address: IPv4Address
    management_address: IPv4Address | None


@record
class HealthCheck(HealthCheckMethods):
    path: str
    expect_status: str
    host: str | None


# What `retry-on` may name in HAProxy 2.6 (its configuration manual), besides "none".
RetryOn = Literal["conn-failure", "empty-response", "junk-response", "response-timeout", "0rtt-rejected",
                  "401", "403", "404", "408", "425", "500", "501", "502", "503", "504"]


@record
class Resilience:
    connect_timeout_ms: int
    retries: int
    retry_on: list[RetryOn]
    error_limit: int
    check_interval_ms: int
    check_fast_interval_ms: int
    check_down_interval_ms: int
    check_timeout_ms: int


@record
class Backend:
    name: str
    address: IPv4Address
    port: int


@record
class Service:
    name: str
    mode: Literal["http", "tcp"]
    port: int
    balance: Literal["roundrobin", "leastconn", "source"]
    health_check: HealthCheck | None
    sticky_cookie: str | None
    maxconn: int | None
    resilience: Resilience
    backends: list[Backend]


@record
class LabClient:
    name: str
    addresses: list[IPv4Address]


@record
class LabLayout:
    namespace: str
    management_gateway: IPv4Address
    client: LabClient
    multicast: bool
    backends: Literal["processes", "machines"]


@record
class Site(SiteMethods):
    name: str
    title: str
    description: str
    os: Literal["debian12", "debian13"]
    network: Network
    vip: IPv4Address
    vrrp: Vrrp
    ssh: Ssh
    secrets: dict[str, SecretSource]
    stats: Stats
    haproxy: Haproxy
    nodes: list[Node]
    servers: list[Server]
    services: list[Service]
    lab: LabLayout | None


@record
class Admonition:
    kind: Literal["note", "warning", "danger", "tip", "info", "failure", "success"]
    title: str
    text: str


# What HAProxy checks when a service names no health_check (model.HealthCheck's
# defaults; tests/unit/test_records.py compares the two).
DEFAULT_HEALTH_CHECK = HealthCheck(path="/", expect_status="200-399", host=None)

RECORDS = {cls.__name__: cls for cls in (
    Lan, Management, Network, Vrrp, Ssh, SecretSource, Stats, Haproxy, Node, Server, HealthCheck, Resilience,
    Backend, Service, LabClient, LabLayout, Site, Admonition,
)}


def from_model(value: object) -> object:
    """The record of a pydantic model (and of the models inside it); other values as they are."""
    fields = getattr(type(value), "model_fields", None)
    if fields is not None:
        return RECORDS[type(value).__name__](**{name: from_model(getattr(value, name)) for name in fields})
    if isinstance(value, list):
        return [from_model(v) for v in value]
    if isinstance(value, dict):
        return {k: from_model(v) for k, v in value.items()}
    return value
