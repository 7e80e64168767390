"""Each answer checked as it is given, with the models' own rules and words.

A field's answer is validated against that field's type in the model
(`field_problem(model.Node, "priority", 300)`), a group of answers against
its model (`model_problem(model.Lan, {...})`: a gateway outside the subnet),
so the questions refuse an answer with the message the file would get. The
rules between distant fields (the VIP inside the LAN, distinct priorities)
are checked here with the few functions below; whatever is left, the loader
checks on the whole file before anything is written.
"""

from __future__ import annotations

from functools import cache
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from ..data.fields import FieldError
from ..data.messages import pick, spanish


@cache
def _adapter(model: type[BaseModel], field: str) -> TypeAdapter:
    info = model.model_fields[field]
    annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(annotation, config=ConfigDict(strict=True))


def field_problem(model: type[BaseModel], field: str, value: Any) -> str | None:
    """Why `value` cannot be `model.field` (the model's Spanish message), or None."""
    try:
        _adapter(model, field).validate_python(value)
    except ValidationError as exc:
        return _message(exc)
    except FieldError as exc:
        return str(exc)
    return None


def model_problem(model: type[BaseModel], data: dict[str, Any]) -> str | None:
    """Why `data` cannot be a `model` (its own rules between its fields), or None."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return _message(exc)
    return None


def _message(exc: ValidationError) -> str:
    return spanish(pick(exc.errors(include_url=False)), None)


# ----------------------------------------------- rules between distant answers


def outside(address: Any, subnet: Any, what: str) -> str | None:
    """`address` must be in `subnet` (both already valid, else nothing to say)."""
    try:
        addr, net = ip_address(str(address)), ip_network(str(subnet))
    except ValueError:
        return None
    if isinstance(addr, IPv4Address) and isinstance(net, IPv4Network) and addr not in net:
        return f"{addr} no está en {what} {net}"
    return None


def taken(value: Any, used: dict[Any, str]) -> str | None:
    """`value` must not be one already used (`used`: value -> what uses it)."""
    if value in used:
        return f"{value} ya es {used[value]}"
    return None


def number(text: str) -> int | str:
    """A terminal answer meant as a number: the number, or the text for the model to refuse."""
    stripped = text.strip()
    return int(stripped) if stripped.isdigit() and len(stripped) < 10 else stripped
