"""Pydantic models of the site data and of the procedure.

Every fact the site shows and deploy uses lives in these objects. Models
forbid unknown keys so that a typo in the YAML is an error, not a silently
ignored setting; semantic rules (the VIP inside the LAN, distinct priorities...)
are validators here, so that the site, plan, deploy and verify never see a
site that cannot work.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

# Names end up in file names, shell commands, HAProxy section names and
# keepalived identifiers: keep them to a set that is safe in all of them.
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
STEP_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
ABS_PATH_RE = re.compile(r"^/[A-Za-z0-9._/-]+$")


class FieldError(ValueError):
    """A semantic error that knows which field (relative path) it is about.

    Pydantic keeps the exception in the error's context, so the loader can
    point at the exact YAML line of that field.
    """

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def _safe_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(
            f"nombre no válido {value!r}: use minúsculas, cifras y guiones, "
            "empezando por una letra (máx. 32 caracteres)"
        )
    return value


def _abs_path(value: str) -> str:
    if not ABS_PATH_RE.match(value) or "/../" in value or value.endswith("/.."):
        raise ValueError(f"ruta no válida {value!r}: debe ser absoluta y sin caracteres especiales")
    return value


SafeName = Annotated[str, AfterValidator(_safe_name)]
AbsPath = Annotated[str, AfterValidator(_abs_path)]
Port = Annotated[int, Field(ge=1, le=65535)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- site


class Lan(Strict):
    interface: SafeName
    subnet: IPv4Network
    gateway: IPv4Address | None = None
    dns: list[IPv4Address] = []

    @model_validator(mode="after")
    def _gateway_in_subnet(self) -> Lan:
        if self.gateway is not None and self.gateway not in self.subnet:
            raise FieldError(
                ("gateway",), f"la puerta de enlace {self.gateway} no está en la subred {self.subnet}"
            )
        return self


class Management(Strict):
    interface: SafeName
    subnet: IPv4Network


class Network(Strict):
    lan: Lan
    management: Management

    @model_validator(mode="after")
    def _distinct(self) -> Network:
        if self.lan.interface == self.management.interface:
            raise FieldError(
                ("management", "interface"), "la red LAN y la de gestión deben usar interfaces distintas"
            )
        if self.lan.subnet.overlaps(self.management.subnet):
            raise FieldError(("management", "subnet"), "la subred LAN y la de gestión se solapan")
        return self


class Vrrp(Strict):
    router_id: Annotated[int, Field(ge=1, le=255)]
    # VRRPv2 (RFC 3768) counts advert_int in whole seconds; VRRPv3 (RFC 5798)
    # in hundredths up to 40.95 s, which allows a sub-second failover.
    version: Literal[2, 3] = 2
    advert_int: Annotated[int | float, Field(gt=0, le=255)] = 1

    @field_validator("advert_int", mode="before")
    @classmethod
    def _no_bool(cls, value):
        if isinstance(value, bool):
            raise ValueError("advert_int es un número de segundos, no un booleano")
        return value

    @model_validator(mode="after")
    def _advert_fits_version(self) -> Vrrp:
        value = self.advert_int
        if self.version == 2 and not float(value).is_integer():
            raise FieldError(("advert_int",), f"advert_int {value} no es un número entero de segundos, como "
                             "exige VRRP versión 2; para intervalos de menos de un segundo use version: 3")
        if self.version == 3 and (value > 40.95 or abs(value * 100 - round(value * 100)) > 1e-9):
            raise FieldError(("advert_int",), f"advert_int {value} no vale para VRRP versión 3: "
                             "centésimas de segundo, de 0.01 a 40.95")
        if float(value).is_integer() and not isinstance(value, int):
            object.__setattr__(self, "advert_int", int(value))  # "1", not "1.0", in the configs
        return self


class Ssh(Strict):
    user: SafeName = "root"
    port: Port = 22
    config: str | None = None
    identity: str | None = None


class SecretSource(Strict):
    env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")] | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretSource:
        if self.env is None and self.file is None:
            raise FieldError((), "un secreto necesita 'env' o 'file'")
        return self


class Stats(Strict):
    port: Port = 8404
    uri: Annotated[str, Field(pattern=r"^/[A-Za-z0-9._/-]*$")] = "/stats"
    user: SafeName = "admin"


class Node(Strict):
    name: SafeName
    lan_address: IPv4Address
    management_address: IPv4Address
    priority: Annotated[int, Field(ge=1, le=254)]


class Controller(Strict):
    name: SafeName
    lan_address: IPv4Address
    management_address: IPv4Address | None = None


class HealthCheck(Strict):
    path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9._~/-]*$")] = "/"
    expect_status: Annotated[int, Field(ge=100, le=599)] = 200


class Backend(Strict):
    name: SafeName
    address: IPv4Address
    port: Port


class Service(Strict):
    name: SafeName
    mode: Literal["http", "tcp"]
    port: Port
    balance: Literal["roundrobin", "leastconn", "source"] = "roundrobin"
    health_check: HealthCheck | None = None
    sticky_cookie: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")] | None = None
    maxconn: Annotated[int, Field(ge=1)] | None = None
    backends: Annotated[list[Backend], Field(min_length=1)]

    @model_validator(mode="after")
    def _coherent(self) -> Service:
        if self.mode == "tcp" and self.health_check is not None:
            raise FieldError(("health_check",), "un servicio tcp no admite comprobación HTTP")
        if self.mode == "tcp" and self.sticky_cookie:
            raise FieldError(("sticky_cookie",), "un servicio tcp no admite cookies")
        index = _duplicate_index([b.name for b in self.backends])
        if index is not None:
            raise FieldError(
                ("backends", index, "name"), f"el backend {self.backends[index].name!r} aparece dos veces"
            )
        return self


class LabClient(Strict):
    name: SafeName
    addresses: Annotated[list[IPv4Address], Field(min_length=1)]


class LabLayout(Strict):
    namespace: SafeName
    management_gateway: IPv4Address
    client: LabClient


# Only documentation ranges (RFC 5737) may ever be used by the lab: they are
# routed nowhere, so a mistake cannot reach somebody's real network.
LAB_RANGES = (IPv4Network("192.0.2.0/24"), IPv4Network("198.51.100.0/24"))


class Site(Strict):
    name: SafeName
    title: str
    description: str = ""
    os: Literal["debian12", "ubuntu2204", "ubuntu2404"] = "debian12"
    network: Network
    vip: IPv4Address
    vrrp: Vrrp
    ssh: Ssh = Ssh()
    secrets: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], SecretSource] = {}
    stats: Stats = Stats()
    nodes: Annotated[list[Node], Field(min_length=2)]
    controllers: list[Controller] = []
    services: Annotated[list[Service], Field(min_length=1)]
    lab: LabLayout | None = None

    @field_validator("secrets")
    @classmethod
    def _known_secrets(cls, value: dict[str, SecretSource]) -> dict[str, SecretSource]:
        unknown = set(value) - set(KNOWN_SECRETS)
        if unknown:
            raise FieldError(
                (sorted(unknown)[0],),
                f"secreto desconocido {sorted(unknown)[0]!r}; los admitidos son: "
                + ", ".join(KNOWN_SECRETS)
            )
        return value

    @model_validator(mode="after")
    def _semantics(self) -> Site:
        lan = self.network.lan.subnet
        mgmt = self.network.management.subnet
        if self.vip not in lan:
            raise FieldError(("vip",), f"la IP virtual {self.vip} no está en la subred LAN {lan}")
        for field in ("name", "lan_address", "management_address", "priority"):
            index = _duplicate_index([getattr(n, field) for n in self.nodes])
            if index is not None:
                value = getattr(self.nodes[index], field)
                raise FieldError(
                    ("nodes", index, field), f"valor repetido {value} (cada nodo necesita uno distinto)"
                )
        for i, node in enumerate(self.nodes):
            if node.lan_address == self.vip:
                raise FieldError(
                    ("nodes", i, "lan_address"), f"coincide con la IP virtual {self.vip}"
                )
            if node.lan_address not in lan:
                raise FieldError(("nodes", i, "lan_address"), f"{node.lan_address} fuera de la LAN {lan}")
            if node.management_address not in mgmt:
                raise FieldError(
                    ("nodes", i, "management_address"),
                    f"{node.management_address} fuera de la red de gestión {mgmt}",
                )
        if self.network.lan.gateway in {n.lan_address for n in self.nodes} | {self.vip}:
            raise FieldError(
                ("network", "lan", "gateway"), "coincide con la dirección de un nodo o con la IP virtual"
            )
        index = _duplicate_index([s.name for s in self.services])
        if index is not None:
            raise FieldError(("services", index, "name"), "el servicio aparece dos veces")
        index = _duplicate_index([s.port for s in self.services])
        if index is not None:
            raise FieldError(("services", index, "port"), "el puerto ya lo usa otro servicio")
        if self.stats.port in {s.port for s in self.services}:
            raise FieldError(("stats", "port"), "el puerto ya lo usa un servicio")
        if "stats_password" not in self.secrets:
            raise FieldError(("secrets",), "falta stats_password (origen de la contraseña de estadísticas)")
        if self.lab is not None:
            self._lab_semantics()
        return self

    def _lab_semantics(self) -> None:
        assert self.lab is not None
        for key in ("lan", "management"):
            net = getattr(self.network, key).subnet
            if not any(net.subnet_of(r) for r in LAB_RANGES):
                raise FieldError(("network", key, "subnet"), f"{net} no es un rango de documentación")
        places: list[tuple[tuple, IPv4Address]] = [
            (("vip",), self.vip),
            (("lab", "management_gateway"), self.lab.management_gateway),
        ]
        places += [(("lab", "client", "addresses", i), a) for i, a in enumerate(self.lab.client.addresses)]
        for i, n in enumerate(self.nodes):
            places += [(("nodes", i, "lan_address"), n.lan_address)]
            places += [(("nodes", i, "management_address"), n.management_address)]
        for i, s in enumerate(self.services):
            for j, b in enumerate(s.backends):
                places.append((("services", i, "backends", j, "address"), b.address))
        for path, addr in places:
            if not any(addr in r for r in LAB_RANGES):
                raise FieldError(
                    path, f"{addr} no es de un rango de documentación (192.0.2.0/24, 198.51.100.0/24)"
                )

    # Convenience views used by templates and planners.
    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def nodes_by_priority(self) -> list[Node]:
        """Highest priority first: the order in which nodes claim the VIP."""
        return sorted(self.nodes, key=lambda n: n.priority, reverse=True)

    @property
    def vip_owner(self) -> Node:
        return self.nodes_by_priority[0]


# Secrets the templates know how to use; each one is redacted everywhere.
KNOWN_SECRETS = ("stats_password",)


def _duplicate_index(values: list) -> int | None:
    """Index of the first value that already appeared earlier in the list."""
    seen: set = set()
    for index, value in enumerate(values):
        if value in seen:
            return index
        seen.add(value)
    return None


# ---------------------------------------------------------------------- procedure


class Expect(Strict):
    """What a check's command must produce to pass."""

    exit_code: int = 0
    stdout_contains: str | None = None
    stdout_regex: str | None = None
    description: str  # the expected outcome, in Spanish, shown on the site

    @field_validator("stdout_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"expresión regular no válida: {exc}") from exc
        return value


class CheckSpec(Strict):
    """A documented "Comprobación": a command run on the node and its outcome."""

    id: Annotated[str, Field(pattern=STEP_ID_RE.pattern)]
    title: str
    command: str  # Jinja2 template
    expect: Expect
    explanation: str = ""


class Condition(Strict):
    file_exists: AbsPath


class RunSpec(Strict):
    run: str  # Jinja2 template of the shell command
    unless: str | None = None  # guard: when it succeeds the command is not needed
    note: str = ""


class ServiceAction(Strict):
    name: SafeName
    action: Literal["reload", "restart"]


class FileSpec(Strict):
    file: Annotated[str, Field(pattern=r"^/")]  # Jinja2 template; checked again once rendered
    template: Annotated[str, Field(pattern=r"^[a-z0-9._-]+\.j2$")]
    mode: Annotated[str, Field(pattern=r"^0[0-7]{3}$")] = "0644"
    owner: SafeName = "root"
    group: SafeName = "root"
    validate_with: str | None = Field(default=None, alias="validate")
    service: ServiceAction | None = None
    apply: str | None = None  # command that makes the file take effect (no service)
    note: str = ""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_activation(self) -> FileSpec:
        if self.service is not None and self.apply is not None:
            raise FieldError(("apply",), "use 'service' o 'apply', no ambos")
        if self.validate_with is not None and "%s" not in self.validate_with:
            raise FieldError(("validate",), "debe contener %s (el fichero a validar)")
        return self


def _action_kind(value: object) -> str:
    if isinstance(value, dict):
        return "file" if "file" in value else "run"
    return "file" if isinstance(value, FileSpec) else "run"


ActionSpec = Annotated[
    Annotated[RunSpec, Tag("run")] | Annotated[FileSpec, Tag("file")],
    Discriminator(_action_kind),
]


class Admonition(Strict):
    kind: Literal["note", "warning", "danger", "tip", "info", "failure", "success"]
    title: str
    text: str


class StepSpec(Strict):
    id: Annotated[str, Field(pattern=STEP_ID_RE.pattern)]
    title: str
    explanation: str
    when: Condition | None = None
    admonitions: list[Admonition] = []
    actions: list[ActionSpec] = []
    checks: list[CheckSpec] = []


class Procedure(Strict):
    steps: Annotated[list[StepSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_ids(self) -> Procedure:
        index = _duplicate_index([s.id for s in self.steps])
        if index is not None:
            raise FieldError(("steps", index, "id"), "el id de paso aparece dos veces")
        seen: set[str] = set()
        for i, step in enumerate(self.steps):
            for j, check in enumerate(step.checks):
                if check.id in seen:
                    raise FieldError(("steps", i, "checks", j, "id"), "el id de comprobación se repite")
                seen.add(check.id)
        return self
