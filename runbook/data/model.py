"""Pydantic models of the site data and of the procedure.

Every fact the site shows and deploy uses lives in these objects. Models
forbid unknown keys so that a typo in the YAML is an error, not a silently
ignored setting; semantic rules (the VIP inside the LAN, distinct priorities...)
are validators here, so that the site, plan, deploy and verify never see a
site that cannot work.
"""

# No `from __future__ import annotations`: pydantic would compile every annotation
# string when the classes are made, a third of the time of importing the models.

from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from ..data.records import LAB_RANGES, HealthCheckMethods, RetryOn, SiteMethods, status_ranges
from .fields import (
    NAME_RE,
    RULE,
    FieldError,
    InterfaceName,
    IPv4,
    NonBlank,
    Port,
    SafeName,
    Strict,
    Subnet,
    Title,
    duplicate_index,
    host_problem,
    path_problem,
)


def _status_codes(value: object) -> str:
    # An int (302) is the common case in YAML; a string allows ranges and lists.
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        if not isinstance(text, str):
            raise ValueError(text)
        ranges = status_ranges(text)
    except ValueError:
        raise FieldError(
            (),
            f"códigos de estado no válidos {str(value)[:40]!r}: escribe un código (302), un rango "
            "(200-399) o una lista separada por comas (200,302), entre 100 y 599"
        ) from None
    return ",".join(str(low) if low == high else f"{low}-{high}" for low, high in ranges)


_STATUS_ITEM = r"[1-5][0-9]{2}(-[1-5][0-9]{2})?"
StatusCodes = Annotated[str, BeforeValidator(_status_codes), WithJsonSchema({
    "anyOf": [{"type": "integer", "minimum": 100, "maximum": 599},
              {"type": "string", "pattern": rf"^{_STATUS_ITEM}(,{_STATUS_ITEM})*$"}],
    RULE: "un código (302), un rango (200-399) o una lista separada por comas (200,302), entre 100 y 599",
})]


def doc(description: str, *examples: object, default: object = ..., **kwargs: object) -> Any:
    """A field with its Spanish description and examples (the reference page and the JSON Schema show
    them; `./rb new` writes the description as the field's comment). No default: the field is required."""
    return Field(default, description=description, examples=list(examples), **kwargs)

# --------------------------------------------------------------------------- site


class Lan(Strict):
    interface: InterfaceName = doc(
        "Interfaz de los balanceadores en la LAN: donde escuchan los servicios y donde vive la IP virtual.",
        "ens18", "eth1")
    subnet: Subnet = doc("Subred de la LAN: la IP virtual, los balanceadores y los servidores están en ella.",
                         "10.20.0.0/24")
    gateway: IPv4 | None = doc("Puerta de enlace de la LAN en los balanceadores (dentro de la subred); "
                               "vacío: sin ruta por defecto en esa interfaz.", "10.20.0.1", default=None)
    # The resolver reads at most three.
    dns: Annotated[list[IPv4], Field(max_length=3)] = doc(
        "Servidores DNS que usan los balanceadores (como mucho tres, los que lee el resolvedor).",
        ["10.20.0.1"], default=[])

    @model_validator(mode="after")
    def _gateway_in_subnet(self) -> Self:
        if self.gateway is not None and self.gateway not in self.subnet:
            raise FieldError(
                ("gateway",), f"la puerta de enlace {self.gateway} no está en la subred {self.subnet}"
            )
        return self


class Management(Strict):
    interface: InterfaceName = doc(
        "Interfaz de la red de gestión, por la que entra SSH; distinta de la de la LAN.", "ens19", "eth0")
    subnet: Subnet = doc("Subred de gestión: las direcciones por las que SSH llega a cada balanceador. "
                         "No puede solaparse con la LAN.", "10.30.0.0/24")


class Network(Strict):
    lan: Lan = doc("La red de los clientes y de los servidores, donde se publica la IP virtual.",
                   {"interface": "ens18", "subnet": "10.20.0.0/24"})
    management: Management = doc("La red de administración por la que se llega a los balanceadores.",
                                 {"interface": "ens19", "subnet": "10.30.0.0/24"})

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.lan.interface == self.management.interface:
            raise FieldError(
                ("management", "interface"), "la red LAN y la de gestión deben usar interfaces distintas"
            )
        if self.lan.subnet.overlaps(self.management.subnet):
            raise FieldError(("management", "subnet"), "la subred LAN y la de gestión se solapan")
        return self


class Vrrp(Strict):
    router_id: Annotated[int, Field(ge=1, le=255)] = doc(
        "Identificador del router virtual (virtual_router_id): el mismo en todos los balanceadores y "
        "distinto del de cualquier otro grupo VRRP de la LAN.", 51)
    # VRRPv2 (RFC 3768) counts advert_int in whole seconds; VRRPv3 (RFC 5798)
    # in hundredths up to 40.95 s, which allows a sub-second failover.
    version: Literal[2, 3] = doc("Versión de VRRP: 2 cuenta advert_int en segundos enteros; 3, en "
                                 "centésimas (hasta 40.95), para conmutar en menos de un segundo.", 2,
                                 default=2)
    advert_int: Annotated[int | float, Field(gt=0, le=255)] = doc(
        "Segundos entre anuncios VRRP del nodo que tiene la IP virtual: entero con la versión 2, de 0.01 "
        "a 40.95 con la 3. El que espera la toma tras unos tres anuncios perdidos.", 1, default=1)
    unicast: bool = doc(
        "true: los anuncios VRRP van directos a la dirección LAN de cada uno de los demás nodos "
        "(unicast_src_ip, unicast_peer), para redes que no dejan pasar el multicast (nubes, switches "
        "virtuales); false: multicast a 224.0.0.18, lo normal en una LAN.", True, default=False)

    @field_validator("advert_int", mode="before")
    @classmethod
    def _no_bool(cls, value):
        # YAML 1.1 reads on/off/yes/no as booleans: neither is a number of seconds.
        words = {"y", "yes", "n", "no", "on", "off", "true", "false"}
        if isinstance(value, bool) or (isinstance(value, str) and value.lower() in words):
            raise FieldError((), f"advert_int es un número de segundos, no un booleano (valor: {value})")
        if isinstance(value, str):
            shown = value[:40]
            raise FieldError((), f"advert_int debe ser un número de segundos, no un texto (valor: {shown!r})")
        return value

    @model_validator(mode="after")
    def _advert_fits_version(self) -> Self:
        value = self.advert_int
        if self.version == 2 and not float(value).is_integer():
            raise FieldError(("advert_int",), f"advert_int {value} no es un número entero de segundos, como "
                             "exige VRRP versión 2; para intervalos de menos de un segundo usa version: 3")
        if self.version == 3 and (value > 40.95 or abs(value * 100 - round(value * 100)) > 1e-9):
            raise FieldError(("advert_int",), f"advert_int {value} no vale para VRRP versión 3: "
                             "centésimas de segundo, de 0.01 a 40.95")
        if float(value).is_integer() and not isinstance(value, int):
            object.__setattr__(self, "advert_int", int(value))  # "1", not "1.0", in the configs
        return self


class Ssh(Strict):
    user: SafeName = doc("Usuario con el que ./rb entra por SSH en los balanceadores. Las órdenes se "
                         "ejecutan tal cual, sin sudo: debe poder instalar paquetes, escribir en /etc y "
                         "reiniciar servicios (normalmente, root).", "root", default="root")
    port: Port = doc("Puerto de SSH de los balanceadores.", 22, default=22)
    config: str | None = doc("Fichero ssh_config que usar (ssh -F), en la máquina desde la que ejecutas "
                             "./rb; vacío: la configuración normal de ssh.", "~/.ssh/config", default=None)
    identity: str | None = doc("Clave privada con la que entrar (ssh -i), en la máquina desde la que "
                               "ejecutas ./rb; vacío: las claves de ssh por defecto o las del agente.",
                               "~/.ssh/id_ed25519", default=None)


class SecretSource(Strict):
    env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")] | None = doc(
        "Variable de entorno de la que se lee el secreto al desplegar (se mira primero).",
        "RUNBOOK_STATS_PASSWORD", default=None)
    file: NonBlank | None = doc(
        "Fichero del que se lee el secreto si la variable no está: fuera del repositorio, con permisos "
        "0600 (~ es tu carpeta personal).", "~/.config/runbook/mi-sitio/stats_password", default=None)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.env is None and self.file is None:
            raise FieldError((), "un secreto necesita 'env' o 'file'")
        return self


class Stats(Strict):
    port: Port = doc("Puerto de la página de estadísticas de HAProxy, en la dirección propia de cada "
                     "balanceador (no en la IP virtual).", 8404, default=8404)
    uri: Annotated[str, Field(pattern=r"^/[A-Za-z0-9._/-]*$")] = doc(
        "Ruta de la página de estadísticas.", "/stats", default="/stats")
    user: SafeName = doc("Usuario de la página de estadísticas (su contraseña es el secreto "
                         "stats_password).", "admin", default="admin")
    # The balancers' firewall opens the stats port to these networks only.
    allow_from: Annotated[list[Subnet], Field(max_length=16)] = doc(
        "Redes desde las que se puede abrir la página de estadísticas: el cortafuegos de los "
        "balanceadores cierra su puerto a todas las demás. Vacío: solo la red de gestión.",
        ["10.30.0.0/24", "10.40.7.0/28"], default=[])

    @model_validator(mode="after")
    def _distinct_sources(self) -> Self:
        # nft refuses a set whose intervals overlap: say it here, with the field.
        for j, net in enumerate(self.allow_from):
            for other in self.allow_from[:j]:
                if net.overlaps(other):
                    raise FieldError(("allow_from", j), f"{net} se solapa con {other}, ya en la lista")
        return self


class Haproxy(Strict):
    # `global maxconn`: connections the whole process accepts at once, every
    # service together; a service's own maxconn can only be lower.
    maxconn: Annotated[int, Field(ge=1)] = doc(
        "Conexiones que HAProxy acepta a la vez en total, todos los servicios juntos (maxconn de "
        "global); el maxconn de un servicio no puede superarlo.", 4000, default=4000)


class Node(Strict):
    name: SafeName = doc("Nombre del balanceador (el de la máquina, en minúsculas).", "lb1")
    lan_address: IPv4 = doc("Dirección propia del balanceador en la LAN (no la IP virtual).",
                            "10.20.0.11")
    management_address: IPv4 = doc("Dirección del balanceador en la red de gestión: la que usa SSH.",
                                   "10.30.0.11")
    priority: Annotated[int, Field(ge=1, le=254)] = doc(
        "Prioridad VRRP, distinta en cada balanceador: el de mayor prioridad tiene la IP virtual "
        "mientras funciona.", 110, 100)


class Server(Strict):
    name: SafeName = doc("Nombre del servidor que hay detrás de la IP virtual (solo para las tablas y "
                         "los diagramas de la web).", "web1")
    lan_address: IPv4 = doc("Dirección del servidor en la LAN, la que usan sus backends.", "10.20.0.21")
    management_address: IPv4 | None = doc("Dirección del servidor en la red de gestión, si tiene; solo "
                                          "se muestra en la tabla de nodos.", "10.30.0.21", default=None)


# A host name or IPv4 address, with an optional port: what a Host header may say.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_HEADER = rf"^{_LABEL}(\.{_LABEL})*(:[0-9]{{1,5}})?$"


class HealthCheck(HealthCheckMethods, Strict):
    path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9._~/-]*$")] = doc(
        "Ruta que HAProxy pide (GET) a cada backend para saber si está sano.", "/healthz",
        default="/")
    # The statuses that mean "healthy", in HAProxy's own syntax (codes and
    # ranges, comma-separated). The default is what `option httpchk` accepts
    # without any `http-check expect`: 2xx and 3xx. A web application that
    # sends anonymous users to its login page (Horizon: 302) is healthy.
    expect_status: StatusCodes = doc(
        "Códigos de estado HTTP que cuentan como sano: un código, un rango o una lista.", 200, "200-399",
        default="200-399")
    # The Host header of the check (HTTP/1.1). None: the VIP (Site.check_host), the name clients
    # use in the tutorial. A bare HTTP/1.0 check carries no Host, and a Django
    # application such as Horizon answers 400 to a host missing from its
    # ALLOWED_HOSTS: every backend would be marked DOWN.
    host: Annotated[str, Field(pattern=HOST_HEADER)] | None = doc(
        "Cabecera Host de la comprobación (HTTP/1.1); vacío: la IP virtual, la que usan los clientes.",
        "web.example.org", default=None)


class Resilience(Strict):
    # The defaults are the ones the site explains (docs/servicios.md) and the drill measures:
    # a LAN answers a connect in well under a millisecond, so half a second is plenty and
    # leaves room, within a client's patience, to try the other server.
    connect_timeout_ms: Annotated[int, Field(ge=50, le=10000)] = doc(
        "Milisegundos que HAProxy espera a que un backend acepte la conexión (timeout connect) antes "
        "de darla por fallida y probar otro.", 500, default=500)
    retries: Annotated[int, Field(ge=0, le=10)] = doc(
        "Reintentos de una conexión fallida (retries); cada uno va a otro backend (option redispatch 1).",
        3, default=3)
    retry_on: Annotated[list[RetryOn], Field(min_length=1, max_length=16)] = doc(
        "Solo en modo http: qué fallos se reintentan en otro backend (retry-on). conn-failure: no se "
        "pudo conectar; empty-response: el backend cerró sin contestar (se repite la petición: "
        "quítalo si tu aplicación no tolera recibir dos veces la misma).",
        ["conn-failure", "empty-response"], default=["conn-failure", "empty-response"])
    error_limit: Annotated[int, Field(ge=1, le=100)] = doc(
        "Errores seguidos en el tráfico real (observe) tras los que HAProxy da el backend por caído "
        "sin esperar a sus comprobaciones (error-limit con on-error mark-down).", 10, default=10)
    check_interval_ms: Annotated[int, Field(ge=100, le=60000)] = doc(
        "Milisegundos entre comprobaciones de salud de un backend sano (inter).", 2000, default=2000)
    check_fast_interval_ms: Annotated[int, Field(ge=100, le=60000)] = doc(
        "Milisegundos entre comprobaciones mientras un backend cambia de estado (fastinter).", 500,
        default=500)
    check_down_interval_ms: Annotated[int, Field(ge=100, le=60000)] = doc(
        "Milisegundos entre comprobaciones de un backend caído (downinter): cuánto tarda en notarse "
        "que volvió.", 1000, default=1000)
    check_timeout_ms: Annotated[int, Field(ge=50, le=60000)] = doc(
        "Milisegundos que una comprobación de salud espera la respuesta, ya conectada (timeout check).",
        1000, default=1000)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        index = duplicate_index(self.retry_on)
        if index is not None:
            raise FieldError(("retry_on", index), f"{self.retry_on[index]!r} aparece dos veces")
        return self


class Backend(Strict):
    name: SafeName = doc("Nombre del backend en HAProxy (normalmente el del servidor), único en el "
                         "servicio.", "web1")
    address: IPv4 = doc("Dirección del servidor: ni la IP virtual ni la de un balanceador.", "10.20.0.21")
    port: Port = doc("Puerto en el que el servidor atiende este servicio.", 8080)


class Service(Strict):
    name: SafeName = doc("Nombre del servicio (el bloque listen de HAProxy), único en el sitio.", "web")
    mode: Literal["http", "tcp"] = doc(
        "http: HAProxy entiende HTTP (comprobación por URL, cookies, X-Forwarded-For); tcp: reenvía "
        "conexiones sin mirarlas.", "http")
    port: Port = doc("Puerto del servicio en la IP virtual, distinto en cada servicio y distinto del "
                     "de estadísticas y del de SSH.", 80)
    balance: Literal["roundrobin", "leastconn", "source"] = doc(
        "Reparto: roundrobin, por turnos; leastconn, al que menos conexiones tiene; source, cada "
        "cliente siempre al mismo servidor.", "roundrobin", default="roundrobin")
    health_check: HealthCheck | None = doc(
        "Comprobación HTTP de cada backend (solo en modo http); vacío: HAProxy solo comprueba que el "
        "puerto acepta conexiones.", {"path": "/healthz", "expect_status": 200}, default=None)
    sticky_cookie: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")] | None = doc(
        "Cookie con la que HAProxy mantiene a cada cliente en el mismo servidor (solo en modo http).",
        "SERVERID", default=None)
    maxconn: Annotated[int, Field(ge=1)] | None = doc(
        "Conexiones simultáneas que admite este servicio, dentro de haproxy.maxconn; vacío: sin "
        "límite propio.", 2000, default=None)
    resilience: Resilience = doc(
        "Cómo esconde HAProxy a los clientes un backend que cae: plazos, reintentos en otro backend y "
        "comprobaciones de salud. Los valores por defecto son los que explica y mide esta web.",
        {"connect_timeout_ms": 500}, default_factory=Resilience)
    backends: Annotated[list[Backend], Field(min_length=1, max_length=64)] = doc(
        "Los servidores entre los que se reparte el servicio.",
        [{"name": "web1", "address": "10.20.0.21", "port": 8080}])

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.mode == "tcp" and self.health_check is not None:
            raise FieldError(("health_check",), "un servicio tcp no admite comprobación HTTP")
        if self.mode == "tcp" and self.sticky_cookie:
            raise FieldError(("sticky_cookie",), "un servicio tcp no admite cookies")
        if self.mode == "tcp" and "retry_on" in self.resilience.model_fields_set:
            raise FieldError(("resilience", "retry_on"), "un servicio tcp no admite retry_on (HAProxy solo "
                             "reintenta peticiones HTTP; en tcp reintenta la conexión, con retries)")
        index = duplicate_index([b.name for b in self.backends])
        if index is not None:
            raise FieldError(
                ("backends", index, "name"), f"el backend {self.backends[index].name!r} aparece dos veces"
            )
        index = duplicate_index([(b.address, b.port) for b in self.backends])
        if index is not None:
            b = self.backends[index]
            raise FieldError(("backends", index, "address"), f"{b.address}:{b.port} ya es otro backend")
        return self


class LabClient(Strict):
    name: SafeName = doc("Nombre del cliente de prueba del laboratorio.", "cliente")
    addresses: Annotated[list[IPv4], Field(min_length=1, max_length=64)] = doc(
        "Direcciones LAN del cliente de prueba (de rangos de documentación, libres).", ["198.51.100.200"])


class LabLayout(Strict):
    namespace: SafeName = doc("Espacio de red del laboratorio en esta máquina.", "rb-lab")
    management_gateway: IPv4 = doc("Dirección de esta máquina en la red de gestión del laboratorio.",
                                   "192.0.2.1")
    client: LabClient = doc("El cliente de prueba que genera carga desde la LAN del laboratorio.",
                            {"name": "cliente", "addresses": ["198.51.100.200"]})
    multicast: bool = doc("false: la LAN del laboratorio descarta los anuncios VRRP por multicast (nftables "
                          "en su puente), como una nube o un switch que no lo deja pasar.", False,
                          default=True)
    backends: Literal["processes", "machines"] = doc(
        "Cómo son los servidores del laboratorio: processes, nginx y memcached arrancados por el laboratorio "
        "con su propia configuración (rápido); machines, una máquina Debian por servidor con nginx y "
        "memcached recién instalados con apt, con la configuración de Debian, que hay que preparar como "
        "dice «Antes de empezar». Con machines, la LAN necesita gateway: por él llega SSH a los "
        "servidores.", "machines", default="processes")


class Site(SiteMethods, Strict):
    name: SafeName = doc("Nombre del sitio: el del fichero (site_data/NOMBRE.yaml) y el de --site.",
                         "mi-sitio")
    title: Title = doc("Título del sitio, una línea: encabeza la web y el plan.", "Balanceadores de la web")
    description: str = doc("Descripción libre del sitio, para quien lea el fichero.",
                           "Dos balanceadores delante de los servidores web.", default="")
    # One Literal: adding a system the procedure supports is one word here.
    os: Literal["debian12", "debian13"] = doc(
        "Sistema de los balanceadores: Debian 12 (bookworm) o Debian 13 (trixie); el procedimiento es el "
        "de Debian (ifupdown, sus paquetes) con las salidas de cada versión.", "debian13",
        default="debian13")
    network: Network = doc("Las dos redes de los balanceadores: la LAN y la de gestión.",
                           {"lan": {"interface": "ens18", "subnet": "10.20.0.0/24"},
                            "management": {"interface": "ens19", "subnet": "10.30.0.0/24"}})
    vip: IPv4 = doc("IP virtual: la dirección que usan los clientes, en la subred LAN; la tiene un solo "
                    "balanceador a la vez.", "10.20.0.100")
    vrrp: Vrrp = doc("Keepalived (VRRP): cómo se ponen de acuerdo los balanceadores sobre la IP virtual.",
                     {"router_id": 51})
    ssh: Ssh = doc("Cómo entra ./rb en los balanceadores (plan no se conecta; deploy, verify y drill sí).",
                   {"user": "root", "identity": "~/.ssh/id_ed25519"}, default_factory=Ssh)
    secrets: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], SecretSource] = doc(
        "De dónde sale cada secreto al desplegar (nunca el secreto mismo): stats_password, la "
        "contraseña de la página de estadísticas, es obligatorio.",
        {"stats_password": {"env": "RUNBOOK_STATS_PASSWORD"}}, default={})
    stats: Stats = doc("La página de estadísticas de HAProxy.", {"port": 8404}, default_factory=Stats)
    haproxy: Haproxy = doc("Ajustes de todo el proceso HAProxy.", {"maxconn": 4000}, default_factory=Haproxy)
    nodes: Annotated[list[Node], Field(min_length=2, max_length=64)] = doc(
        "Los balanceadores (al menos dos): cada uno con su nombre, sus direcciones y su prioridad, "
        "todos distintos.",
        [{"name": "lb1", "lan_address": "10.20.0.11", "management_address": "10.30.0.11", "priority": 110}])
    servers: Annotated[list[Server], Field(max_length=64)] = doc(
        "Los servidores que hay detrás de la IP virtual, para la tabla de nodos y los diagramas (los "
        "servicios los nombran en sus backends).", [{"name": "web1", "lan_address": "10.20.0.21"}],
        default=[])
    services: Annotated[list[Service], Field(min_length=1, max_length=64)] = doc(
        "Los servicios que HAProxy publica en la IP virtual.",
        [{"name": "web", "mode": "http", "port": 80,
          "backends": [{"name": "web1", "address": "10.20.0.21", "port": 8080}]}])
    lab: LabLayout | None = doc("Solo para el laboratorio de este proyecto: cómo se monta en esta "
                                "máquina. Un sitio real no lo lleva.",
                                {"namespace": "rb-lab", "management_gateway": "192.0.2.1",
                                 "client": {"name": "cliente", "addresses": ["198.51.100.200"]}},
                                default=None)

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
    def _semantics(self) -> Self:
        lan = self.network.lan.subnet
        subnets = (lan, self.network.management.subnet)
        for path, address in self.addresses():
            problem = host_problem(address, subnets)
            if problem:
                raise FieldError(path, problem)
        if self.vip not in lan:
            raise FieldError(("vip",), f"la IP virtual {self.vip} no está en la subred LAN {lan}")
        self._node_semantics()
        self._backend_semantics()
        index = duplicate_index([s.name for s in self.services])
        if index is not None:
            raise FieldError(("services", index, "name"), "el servicio aparece dos veces")
        index = duplicate_index([s.port for s in self.services])
        if index is not None:
            raise FieldError(("services", index, "port"), "el puerto ya lo usa otro servicio")
        for i, svc in enumerate(self.services):
            if svc.maxconn is not None and svc.maxconn > self.haproxy.maxconn:
                raise FieldError(
                    ("services", i, "maxconn"),
                    f"{svc.maxconn} supera el límite de todo HAProxy (haproxy.maxconn: "
                    f"{self.haproxy.maxconn}): nunca habría más de {self.haproxy.maxconn} "
                    "conexiones a la vez",
                )
        if self.stats.port in {s.port for s in self.services}:
            raise FieldError(("stats", "port"), "el puerto ya lo usa un servicio")
        for path, port in [(("services", i, "port"), s.port) for i, s in enumerate(self.services)] + [
            (("stats", "port"), self.stats.port)
        ]:
            if port == self.ssh.port:
                raise FieldError(path, f"el puerto {port} lo usa SSH en los nodos (ssh.port)")
        if "stats_password" not in self.secrets:
            raise FieldError(("secrets",), "falta stats_password (origen de la contraseña de estadísticas)")
        if self.lab is not None:
            self._lab_semantics()
        return self

    def _node_semantics(self) -> None:
        lan = self.network.lan.subnet
        mgmt = self.network.management.subnet
        for field in ("name", "lan_address", "management_address", "priority"):
            index = duplicate_index([getattr(n, field) for n in self.nodes])
            if index is not None:
                value = getattr(self.nodes[index], field)
                raise FieldError(
                    ("nodes", index, field), f"valor repetido {value} (cada nodo necesita uno distinto)"
                )
        for i, node in enumerate(self.nodes):
            if node.lan_address == self.vip:
                raise FieldError(("nodes", i, "lan_address"), f"coincide con la IP virtual {self.vip}")
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
        balancers = {n.lan_address for n in self.nodes} | {self.vip}
        for i, s in enumerate(self.servers):
            if s.lan_address in balancers:
                raise FieldError(("servers", i, "lan_address"),
                                 "coincide con la IP virtual o con la dirección de un balanceador")

    def _backend_semantics(self) -> None:
        owners = {n.lan_address: n.name for n in self.nodes}
        owners |= {n.management_address: n.name for n in self.nodes}
        for i, s in enumerate(self.services):
            for j, b in enumerate(s.backends):
                path = ("services", i, "backends", j, "address")
                if b.address == self.vip:
                    raise FieldError(path, f"{b.address} es la IP virtual: HAProxy se enviaría el tráfico "
                                     "a sí mismo")
                if b.address in owners:
                    raise FieldError(path, f"{b.address} es el balanceador {owners[b.address]}: un backend "
                                     "debe ser otro servidor")

    def _lab_semantics(self) -> None:
        assert self.lab is not None
        for key in ("lan", "management"):
            net = getattr(self.network, key).subnet
            if not any(net.subnet_of(r) for r in LAB_RANGES):
                raise FieldError(("network", key, "subnet"), f"{net} no es un rango de documentación")
        for path, addr in self.addresses():
            if not any(addr in r for r in LAB_RANGES):
                raise FieldError(
                    path, f"{addr} no es de un rango de documentación (192.0.2.0/24, 198.51.100.0/24)"
                )
        for i, net in enumerate(self.stats.allow_from):
            if not any(net.subnet_of(r) for r in LAB_RANGES):
                raise FieldError(("stats", "allow_from", i), f"{net} no es un rango de documentación")
        gateway = self.lab.management_gateway
        if gateway not in self.network.management.subnet:
            raise FieldError(("lab", "management_gateway"),
                             f"{gateway} fuera de la red de gestión {self.network.management.subnet}")
        taken = {n.management_address for n in self.nodes}
        if gateway in taken:
            raise FieldError(("lab", "management_gateway"), "coincide con la dirección de gestión de un nodo")
        if self.lab.backends == "machines" and self.network.lan.gateway is None:
            raise FieldError(("lab", "backends"), "con machines, la LAN necesita gateway "
                             "(network.lan.gateway): por él llega SSH a los servidores")
        taken |= {self.vip} | {n.lan_address for n in self.nodes}
        taken |= {b.address for s in self.services for b in s.backends}
        for i, address in enumerate(self.lab.client.addresses):
            if address in taken:
                raise FieldError(("lab", "client", "addresses", i),
                                 f"{address} ya es la IP virtual, un nodo o un backend")
            # verify asks for the stats page from the lab's client: the balancers' firewall must let it in.
            if not any(address in net for net in self.stats_sources):
                raise FieldError(("lab", "client", "addresses", i),
                                 f"{address} no podría abrir la página de estadísticas (el cortafuegos "
                                 "solo la abre a stats.allow_from): añade una red que la contenga")

# Secrets the templates know how to use; each one is redacted everywhere.
KNOWN_SECRETS = ("stats_password",)


# The procedure's models live in their own module; they are part of "the model" too.
from .procedure import (  # noqa: E402
    ActionSpec,
    Admonition,
    CheckSpec,
    Condition,
    Expect,
    FileSpec,
    ObservationSpec,
    Procedure,
    RunSpec,
    ServiceAction,
    StepSpec,
)

__all__ = [
    "NAME_RE", "ActionSpec", "Admonition", "CheckSpec", "Condition", "Expect", "FieldError", "FileSpec",
    "ObservationSpec", "Procedure", "RunSpec", "ServiceAction", "Site", "StepSpec", "path_problem",
]
