"""Field types of the data models: strict, with Spanish errors.

The models run in pydantic's strict mode (a wrong type is an error, never a
conversion: `priority: yes` is not 1, `vip: 3325256804` is not an address).
Addresses and networks must therefore be written as text; the types here
parse that text themselves and say in Spanish what is wrong with it.
"""

# No `from __future__ import annotations`: pydantic would compile every annotation
# string when the classes are made, a third of the time of importing the models.

import re
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from ..errors import BadInputError
from ..names import NAME_RE
from ..wording import shown

# Names end up in file names, shell commands, HAProxy section names and
# keepalived identifiers: keep them to a set that is safe in all of them.
STEP_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# Linux: at most IFNAMSIZ - 1 = 15 bytes, no "/", ":" or whitespace, not "." or
# "..". We also keep to characters that need no quoting anywhere (eth1.100,
# enp0s3, bond0, br-lan) and forbid a leading "-" (it would read as an option).
INTERFACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
PATH_CHARS_RE = re.compile(r"^[A-Za-z0-9._/-]+$")
MAX_PATH = 4096


class Strict(BaseModel):
    # strict: YAML's bools, numbers and dates are never converted into another type.
    # defer_build: a model's validator is made when it first validates, not when
    # the module is imported; a plan read from the cache (plan_cache.py) never
    # validates, and importing the models costs a fraction of what it did.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


def duplicate_index(values: list) -> int | None:
    """Index of the first value that already appeared earlier in the list."""
    seen: set = set()
    for index, value in enumerate(values):
        if value in seen:
            return index
        seen.add(value)
    return None


class FieldError(BadInputError, ValueError):
    """A Spanish validation error that knows which field (relative path) it is about.

    Pydantic keeps the exception in the error's context, so the loader can
    point at the exact YAML line of that field.
    """

    spanish = True  # the loader shows the message as it is

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def _safe_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise FieldError((), f"nombre no válido {shown(value)}: usa minúsculas, cifras y guiones, "
                         "empezando por una letra (máx. 32 caracteres)")
    return value


def _interface(value: str) -> str:
    if len(value.encode()) > 15:
        raise FieldError((), f"nombre de interfaz demasiado largo {shown(value)}: Linux admite 15 bytes")
    if not INTERFACE_RE.match(value):
        raise FieldError((), f"nombre de interfaz no válido {shown(value)}: letras, cifras, «.», «_» y «-», "
                         "sin empezar por «-» (p. ej. eth1, enp0s3, eth1.100)")
    return value


def path_problem(value: str) -> str | None:
    """Why `value` is not a safe absolute path for a node (Spanish), or None."""
    if not value.startswith("/"):
        return "debe ser absoluta (empezar por /)"
    if len(value) > MAX_PATH:
        return "es demasiado larga"
    if not PATH_CHARS_RE.match(value):
        return "solo admite letras, cifras, «.», «_», «-» y «/»"
    parts = value.split("/")[1:]
    if any(part in ("", ".", "..") for part in parts):
        return "no admite «..», «.» ni «//», ni terminar en «/»"
    if any(len(part) > 255 for part in parts):
        return "tiene un nombre de más de 255 caracteres"
    return None


def _abs_path(value: str) -> str:
    problem = path_problem(value)
    if problem:
        raise FieldError((), f"ruta no válida {shown(value)}: {problem}")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise FieldError((), "no puede estar vacío")
    return value


def _one_line(value: str) -> str:
    _not_blank(value)
    if "\n" in value.strip("\n"):
        raise FieldError((), "debe ser una sola línea")
    return value.strip("\n")


def _type_word(value: object) -> str:
    from .messages import yaml_kind

    return yaml_kind(value)


def _require_text(value: object, what: str) -> None:
    """Addresses and networks come as text: a number or a list is not converted into one."""
    if not isinstance(value, str):
        raise FieldError((), f"debe ser {what} escrita como texto "
                         f"(valor: {shown(value)}, que YAML lee como {_type_word(value)})")


def _ipv4(value: object) -> IPv4Address:
    if isinstance(value, IPv4Address):
        return value
    _require_text(value, "una dirección IPv4, p. ej. 192.0.2.10,")
    try:
        return IPv4Address(value)
    except ValueError:
        raise FieldError((), f"no es una dirección IPv4 válida (valor: {shown(value)})") from None


def _ipv4_network(value: object) -> IPv4Network:
    if isinstance(value, IPv4Network):
        return value
    _require_text(value, "una red IPv4, p. ej. 192.0.2.0/24,")
    if "/" not in value:
        raise FieldError((), f"falta el prefijo de red, p. ej. /24 (valor: {shown(value)})")
    try:
        network = IPv4Network(value)
    except ValueError:
        pass
    else:
        problem = subnet_problem(network)
        if problem:
            raise FieldError((), problem)
        return network
    try:
        network = IPv4Interface(value).network
    except ValueError:
        raise FieldError((), f"no es una red IPv4 válida, p. ej. 192.0.2.0/24 (valor: {shown(value)})"
                         ) from None
    raise FieldError((), f"{value} tiene bits de dirección de equipo: la red es {network}")


# What each type accepts, for the JSON Schema editors use and the reference page
# (runbook/data/schema.py, runbook/site/reference.py): the standard keywords an
# editor checks as you type, and RULE, the same in Spanish words for a reader.
# Validation never reads these: the validators above decide.
RULE = "x-rule"
SafeName = Annotated[str, AfterValidator(_safe_name), WithJsonSchema({
    "type": "string", "pattern": NAME_RE.pattern,
    RULE: "minúsculas, cifras y guiones, empezando por una letra; 32 caracteres como mucho",
})]
InterfaceName = Annotated[str, AfterValidator(_interface), WithJsonSchema({
    "type": "string", "pattern": INTERFACE_RE.pattern, "maxLength": 15,
    RULE: "nombre de interfaz de Linux: letras, cifras, «.», «_» y «-», sin empezar por «-»; 15 bytes "
          "como mucho",
})]
AbsPath = Annotated[str, AfterValidator(_abs_path)]
Port = Annotated[int, Field(ge=1, le=65535)]
NonBlank = Annotated[str, AfterValidator(_not_blank), WithJsonSchema({
    "type": "string", "minLength": 1, RULE: "no vacío",
})]  # commands and other text that must say something
Title = Annotated[str, AfterValidator(_one_line), WithJsonSchema({
    "type": "string", "minLength": 1, RULE: "una sola línea, no vacía",
})]  # headings: one line
IPv4 = Annotated[IPv4Address, BeforeValidator(_ipv4), WithJsonSchema({
    "type": "string", "format": "ipv4", RULE: "dirección IPv4 escrita como texto; no la de red ni la de "
    "difusión de su subred, ni de bucle local, multidifusión o reservada",
})]
Subnet = Annotated[IPv4Network, BeforeValidator(_ipv4_network), WithJsonSchema({
    "type": "string", "format": "ipv4network", "pattern": r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$",
    RULE: "red IPv4 con su prefijo (CIDR), sin bits de equipo; prefijo entre /8 y /30",
})]

# Addresses that cannot be a host on a LAN.
_NOT_HOSTS = (
    (IPv4Network("0.0.0.0/8"), "una dirección «este equipo» (0.0.0.0/8)"),
    (IPv4Network("127.0.0.0/8"), "de bucle local (127.0.0.0/8)"),
    (IPv4Network("224.0.0.0/4"), "de multidifusión (224.0.0.0/4)"),
    (IPv4Network("240.0.0.0/4"), "reservada (240.0.0.0/4)"),
)


def host_problem(address: IPv4Address, subnets: tuple[IPv4Network, ...]) -> str | None:
    """Why `address` cannot be a host's address (Spanish), or None."""
    for net, what in _NOT_HOSTS:
        if address in net:
            return f"{address} es {what}, no la de un equipo"
    for net in subnets:
        if net.prefixlen > 30 or address not in net:
            continue
        if address == net.network_address:
            return f"{address} es la dirección de red de {net}, no la de un equipo"
        if address == net.broadcast_address:
            return f"{address} es la dirección de difusión (broadcast) de {net}, no la de un equipo"
    return None


def subnet_problem(net: IPv4Network) -> str | None:
    for reserved, what in _NOT_HOSTS:
        if net.overlaps(reserved):
            return f"{net} se solapa con el rango {what}"
    if not 8 <= net.prefixlen <= 30:
        return f"el prefijo /{net.prefixlen} no sirve para una LAN (entre /8 y /30)"
    return None
