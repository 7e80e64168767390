"""The validated site as plain objects: what a plan holds, and deploy and verify read.

pydantic (model.py) turns the YAML into a site that is known to work; the
plan (plan.py) then keeps that site as records: objects with the very same
fields, values and methods, made without pydantic. A plan read from the
cache (plan_cache.py) is unpickled into these classes, so `./rb verify` and
`./rb deploy` never import pydantic and the models: about 450 million
instructions, a third of what verify cost on the lab (benchmarks/README.md).

One definition of each behaviour: the methods a validated site offers live
in the mixins below, and model.py's classes inherit them too. A record
class exists for every model a plan can hold, named as that model;
`from_model` makes the record of a model, field by field, and
tests/unit/test_records.py proves both hold the same values and answer
the same.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

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
# Shared by model.py's classes and the records: no state of their own.


class HealthCheckMethods:
    __slots__ = ()
    expect_status: str

    def accepts(self, status: int) -> bool:
        return any(low <= status <= high for low, high in status_ranges(self.expect_status))

    @property
    def expect_description(self) -> str:
        return describe_status_codes(self.expect_status)


class SiteMethods:
    __slots__ = ()
    # The fields these methods read (declared by model.Site, copied by the record).
    vip: IPv4Address
    network: Any
    nodes: list
    servers: list
    services: list
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
    def nodes_by_priority(self) -> list:
        """Highest priority first: the order in which nodes claim the VIP."""
        return sorted(self.nodes, key=lambda n: n.priority, reverse=True)

    @property
    def vip_owner(self):
        return self.nodes_by_priority[0]


# -------------------------------------------------------------------- records


class Record:
    """A frozen object holding the fields of the model it was made from, in the model's order."""

    def __init__(self, **fields: object) -> None:
        self.__dict__.update(fields)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: {name} cannot be set")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: {name} cannot be deleted")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __hash__(self) -> int:
        # As a frozen pydantic model: hashable when its values are (a list is not).
        return hash((type(self).__name__, *self.__dict__.values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({fields})"

    def fields(self) -> Iterator[tuple[str, object]]:
        return iter(self.__dict__.items())

    def replace(self, **changes: object) -> Record:
        """A copy with some fields changed (as dataclasses.replace; for tests and what-ifs)."""
        unknown = set(changes) - set(self.__dict__)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        return type(self)(**(self.__dict__ | changes))


class Lan(Record): ...
class Management(Record): ...
class Network(Record): ...
class Vrrp(Record): ...
class Ssh(Record): ...
class SecretSource(Record): ...
class Stats(Record): ...
class Haproxy(Record): ...
class Node(Record): ...
class Server(Record): ...
class HealthCheck(HealthCheckMethods, Record): ...
class Backend(Record): ...
class Service(Record): ...
class LabClient(Record): ...
class LabLayout(Record): ...
class Site(SiteMethods, Record): ...
class Admonition(Record): ...


# What HAProxy checks when a service names no health_check (model.HealthCheck's
# defaults; tests/unit/test_records.py compares the two).
DEFAULT_HEALTH_CHECK = HealthCheck(path="/", expect_status="200-399", host=None)

RECORDS = {cls.__name__: cls for cls in Record.__subclasses__()}


def from_model(value: object) -> object:
    """The record of a pydantic model (and of the models inside it); other values as they are."""
    fields = getattr(type(value), "model_fields", None)
    if fields is not None:
        record = RECORDS[type(value).__name__]
        return record(**{name: from_model(getattr(value, name)) for name in fields})
    if isinstance(value, list):
        return [from_model(v) for v in value]
    if isinstance(value, dict):
        return {k: from_model(v) for k, v in value.items()}
    return value
