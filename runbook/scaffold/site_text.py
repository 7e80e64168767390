"""A site as commented YAML: every field with what it is, in Spanish, on the line above it.

The comments are the models' own field descriptions (the ones the
reference page and the JSON Schema show), so the file and the reference say
the same. Items of a list carry them on the first item only. Values are
written so that YAML reads them back as they were given: a text that YAML
would read as something else (`"80"`, `"yes"`, `"1:30"`) goes in quotes.
"""

from __future__ import annotations

import json
import textwrap
import types
import typing
from typing import Any

import yaml
from pydantic import BaseModel

WIDTH = 100
HEADER = """\
# El sitio «{name}», escrito por «./rb new {name}». Encima de cada campo está qué es; la lista
# completa, con sus reglas y valores por defecto, es la página «Referencia de los datos»
# de la web (./rb docs). Ningún secreto va en este fichero: secrets dice de dónde se lee cada uno.
"""
# What each secret is (the keys of `secrets` are names, not fields with a description).
SECRETS = {"stats_password": "La contraseña de la página de estadísticas (la del usuario stats.user)."}


def site_text(data: dict[str, Any], schema_line: str) -> str:
    from ..data.model import Site

    lines = [schema_line, *HEADER.format(name=data.get("name", "")).splitlines(), ""]
    _mapping(lines, data, Site, indent=0, comments=True)
    return "\n".join(lines) + "\n"


def _mapping(lines: list[str], data: dict[str, Any], model: type[BaseModel], indent: int, comments: bool,
             dash: bool = False) -> None:
    """`data` as `key: value` lines at `indent`; `dash`: an item of a list (a dash before its first key)."""
    pad = " " * indent
    for index, (key, value) in enumerate(data.items()):
        first_of_item = dash and index == 0
        lead = " " * (indent - 2) + "- " if first_of_item else pad
        info = model.model_fields.get(key)
        if comments and info is not None and info.description:
            for text in textwrap.wrap(info.description, WIDTH - indent - 2):
                lines.append(f"{' ' * (indent - 2) if first_of_item else pad}# {text}")
        _value(lines, lead, key, value, _inner(info.annotation) if info else ("scalar", None), indent,
               comments)


def _value(lines: list[str], lead: str, key: str, value: Any, inner: tuple[str, Any], indent: int,
           comments: bool) -> None:
    kind, model = inner
    below = " " * (indent + 2)
    if kind == "model" and isinstance(value, dict) and value:
        lines.append(f"{lead}{key}:")
        _mapping(lines, value, model, indent + 2, comments)
    elif kind == "dict_model" and isinstance(value, dict) and value:
        lines.append(f"{lead}{key}:")
        for name, sub in value.items():
            if comments and name in SECRETS:
                lines.append(f"{below}# {SECRETS[name]}")
            if isinstance(sub, dict) and sub:
                lines.append(f"{below}{_scalar(name)}:")
                _mapping(lines, sub, model, indent + 4, comments)
            else:
                lines.append(f"{below}{_scalar(name)}: {_flow(sub)}")
    elif kind == "list_model" and isinstance(value, list) and value and all(
            isinstance(v, dict) and v for v in value):
        lines.append(f"{lead}{key}:")
        for i, item in enumerate(value):
            _mapping(lines, item, model, indent + 4, comments and i == 0, dash=True)
    else:
        lines.append(f"{lead}{key}: {_flow(value)}")


def _inner(annotation: Any) -> tuple[str, Any]:
    """What a field holds: a model, a list of models, a map of name to model, or plain values."""
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return "model", member
        origin, args = typing.get_origin(member), typing.get_args(member)
        if origin is list and args:
            item = _members(args[0])
            if item and isinstance(item[0], type) and issubclass(item[0], BaseModel):
                return "list_model", item[0]
        if origin is dict and len(args) == 2:
            value = _members(args[1])
            if value and isinstance(value[0], type) and issubclass(value[0], BaseModel):
                return "dict_model", value[0]
    return "scalar", None


def _members(annotation: Any) -> list[Any]:
    """Annotated and Optional peeled: the types a value may be."""
    out, stack = [], [annotation]
    while stack:
        item = stack.pop(0)
        origin = typing.get_origin(item)
        if origin is typing.Annotated:
            stack.insert(0, typing.get_args(item)[0])
        elif origin in (typing.Union, types.UnionType):
            stack[0:0] = [a for a in typing.get_args(item) if a is not type(None)]
        else:
            out.append(item)
    return out


def _flow(value: Any) -> str:
    """A value on one line: scalars as YAML reads them back, lists and maps in flow style."""
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(str(k))}: {_flow(v)}" for k, v in value.items()) + "}"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    plain = yaml.safe_dump(text, default_flow_style=True, allow_unicode=True, width=1_000_000)
    plain = plain.removesuffix("\n").removesuffix("\n...")
    if "\n" in plain or plain != text or any(c in text for c in "{}[],#&*!|>'\"%@`"):
        return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
    return plain
