"""Pydantic's validation errors, said in Spanish.

Every error type pydantic-core knows has a Spanish sentence here (a test
walks the whole list), and anything unforeseen falls back to a Spanish
generic one: pydantic's English never reaches the user. A misspelt key is
named with the closest allowed key, found with difflib over the model's
fields at that place.
"""

from __future__ import annotations

import datetime
import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel

from .yaml_strict import shown

_MAPPING = "debe ser un mapa de claves («campo: valor»)"
_LIST = "debe ser una lista"
_INT = "debe ser un número entero"
_NUMBER = "debe ser un número"
_TEXT = "debe ser un texto"
_BOOL = "debe ser true o false"
_DATE = "debe ser una fecha u hora válida"
_ARGS = "argumentos no válidos"
_GENERIC = "valor no válido para este campo"

# type -> Spanish; "{name}" takes the value of ctx[name].
MESSAGES: dict[str, str] = {
    "no_such_attribute": "atributo inexistente",
    "json_invalid": "JSON no válido",
    "json_type": "JSON no válido",
    "needs_python_object": "valor no admitido",
    "recursion_loop": "estructura recursiva",
    "recursion_depth_exceeded": "estructura demasiado profunda",
    "missing": "falta este campo obligatorio",
    "frozen_field": "este campo no se puede cambiar",
    "frozen_instance": "este objeto no se puede cambiar",
    "extra_forbidden": "campo desconocido",
    "invalid_key": "clave no válida: debe ser un texto",
    "get_attribute_error": "no se pudo leer el valor",
    "model_type": _MAPPING,
    "model_attributes_type": _MAPPING,
    "dataclass_type": _MAPPING,
    "dataclass_exact_type": _MAPPING,
    "named_tuple_type": _LIST,
    "default_factory_not_called": "falta un valor",
    "none_required": "debe quedar vacío",
    "greater_than": "debe ser mayor que {gt}",
    "greater_than_equal": "debe ser mayor o igual que {ge}",
    "less_than": "debe ser menor que {lt}",
    "less_than_equal": "debe ser menor o igual que {le}",
    "multiple_of": "debe ser múltiplo de {multiple_of}",
    "finite_number": "debe ser un número finito",
    "too_short": "necesita al menos {min_length} elemento(s)",
    "too_long": "admite como mucho {max_length} elemento(s)",
    "iterable_type": _LIST,
    "iteration_error": "no se pudo recorrer la lista",
    "string_type": _TEXT,
    "string_unicode": "debe ser un texto Unicode válido",
    "string_too_short": "debe tener al menos {min_length} carácter(es)",
    "string_too_long": "admite como mucho {max_length} caracteres",
    "string_pattern_mismatch": "formato no válido",
    "string_not_ascii": "solo admite caracteres ASCII",
    "enum": "valor no admitido; se espera uno de: {expected}",
    "dict_type": _MAPPING,
    "frozen_dict_type": _MAPPING,
    "ordered_dict_type": _MAPPING,
    "counter_type": _MAPPING,
    "mapping_type": _MAPPING,
    "list_type": _LIST,
    "deque_type": _LIST,
    "tuple_type": _LIST,
    "set_type": _LIST,
    "frozen_set_type": _LIST,
    "set_item_not_hashable": "elemento no válido en un conjunto",
    "bool_type": _BOOL,
    "bool_parsing": _BOOL,
    "int_type": _INT,
    "int_parsing": _INT,
    "int_parsing_size": "número entero demasiado grande",
    "int_from_float": _INT + " (sin decimales)",
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "bytes_type": "no se admiten datos binarios",
    "bytes_too_short": "datos binarios demasiado cortos",
    "bytes_too_long": "datos binarios demasiado largos",
    "bytes_invalid_encoding": "datos binarios mal codificados",
    "value_error": _GENERIC,
    "assertion_error": _GENERIC,
    "literal_error": "valor no admitido; se espera uno de: {expected}",
    "missing_sentinel_error": _GENERIC,
    "ellipsis_error": _GENERIC,
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "date_past": "debe ser una fecha pasada",
    "date_future": "debe ser una fecha futura",
    "time_type": _DATE,
    "time_parsing": _DATE,
    "datetime_type": _DATE,
    "datetime_parsing": _DATE,
    "datetime_object_invalid": _DATE,
    "datetime_from_date_parsing": _DATE,
    "datetime_past": "debe ser una fecha pasada",
    "datetime_future": "debe ser una fecha futura",
    "timezone_naive": "no debe llevar zona horaria",
    "timezone_aware": "debe llevar zona horaria",
    "timezone_offset": "zona horaria no admitida",
    "time_delta_type": "debe ser una duración",
    "time_delta_parsing": "debe ser una duración",
    "is_instance_of": "tipo de valor no admitido",
    "is_subclass_of": "tipo de valor no admitido",
    "callable_type": "tipo de valor no admitido",
    "union_tag_invalid": "tipo no reconocido; se espera uno de: {expected_tags}",
    "union_tag_not_found": "no se reconoce el tipo: falta la clave {discriminator}",
    "arguments_type": _ARGS,
    "missing_argument": _ARGS,
    "unexpected_keyword_argument": _ARGS,
    "missing_keyword_only_argument": _ARGS,
    "unexpected_positional_argument": _ARGS,
    "missing_positional_only_argument": _ARGS,
    "multiple_argument_values": _ARGS,
    "url_type": "debe ser una URL",
    "url_parsing": "URL no válida",
    "url_syntax_violation": "URL no válida",
    "url_too_long": "URL demasiado larga",
    "url_scheme": "esquema de URL no admitido",
    "uuid_type": "debe ser un UUID",
    "uuid_parsing": "UUID no válido",
    "uuid_version": "versión de UUID no admitida",
    "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "decimal_max_digits": "demasiadas cifras",
    "decimal_max_places": "demasiados decimales",
    "decimal_whole_digits": "demasiadas cifras enteras",
    "fraction_type": _NUMBER,
    "fraction_parsing": _NUMBER,
    "complex_type": _NUMBER,
    "complex_str_parsing": _NUMBER,
    # pydantic's own (network types and friends)
    "ip_v4_address": "no es una dirección IPv4 válida",
    "ip_v4_network": "no es una red IPv4 válida (p. ej. 192.0.2.0/24)",
    "ip_v4_interface": "no es una dirección IPv4 con prefijo válida",
}

_NO_VALUE = {"missing", "extra_forbidden", "too_short", "too_long"}
_TYPE_WORDS = {bool: "booleano", int: "número", float: "número decimal", type(None): "vacío (null)",
               datetime.date: "fecha", datetime.datetime: "fecha y hora", list: "lista", dict: "mapa"}


def yaml_kind(value: Any) -> str:
    """What YAML made of a value, in Spanish ("booleano" for `yes`)."""
    for kind, word in _TYPE_WORDS.items():
        if type(value) is kind:
            return word
    return "texto" if isinstance(value, str) else type(value).__name__


def spanish(err: dict, source: str | None) -> str:
    """One error, in Spanish; `source` is the value as written in the file, if known."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    cause = ctx.get("error")
    if kind in ("value_error", "assertion_error") and getattr(cause, "spanish", False):
        return str(cause)
    template = MESSAGES.get(kind)
    if template is None:
        template = "tipo de valor no válido" if kind.endswith("_type") else _GENERIC
    try:
        text = template.format(**{k: _ctx_value(v) for k, v in ctx.items()})
    except (KeyError, IndexError, ValueError):
        text = template.split("{")[0].rstrip(" :;") or _GENERIC
    if kind in _NO_VALUE:
        return text
    if source is not None:
        written = _cut(source)
    elif _is_scalar(value):
        written = shown(value)
    else:
        return text
    text += f" (valor: {written}"
    if kind.endswith("_type") and not isinstance(value, str | dict | list):
        text += f", que YAML lee como {yaml_kind(value)})"
        return text + ("; si es un texto, ponlo entre comillas" if kind == "string_type" else "")
    if kind in ("int_type", "float_type", "bool_type") and isinstance(value, str):
        return text + "); escríbelo sin comillas"
    return text + ")"


def _ctx_value(value: Any) -> str:
    # pydantic 2 joins alternatives with an English "or" (pinned pydantic<3, pyproject.toml).
    return str(value).replace(" or ", " o ")


def _cut(text: str, limit: int = 40) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} caracteres)"


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | datetime.date)


def pick(errors: list[dict]) -> dict:
    """The error to show: a misspelt key first (it often explains a missing field), else the first."""
    for err in errors:
        if err["type"] == "extra_forbidden":
            return err
    return errors[0]


# ------------------------------------------------------------- suggestions


def unknown_key(model: type[BaseModel], loc: tuple) -> str:
    """'campo desconocido 'priorty'; ¿quería decir 'priority'?' (or the list of allowed keys)."""
    key = loc[-1]
    allowed = allowed_keys(model, loc[:-1])
    if not allowed:
        return "campo desconocido"
    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    if close:
        return f"campo desconocido {shown(key)}; ¿quería decir {close[0]!r}?"
    return f"campo desconocido {shown(key)}; los admitidos aquí son: {', '.join(allowed)}"


def allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a mapping at `loc` (pydantic location, union tags included) may hold."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    models = _models(current)
    keys: list[str] = []
    for m in models:
        for name, info in m.model_fields.items():
            keys.append(info.alias or name)
    return list(dict.fromkeys(keys))


def _step(annotation: Any, part: Any) -> Any:
    """The annotation one location part further down, or None."""
    members = _unwrap(annotation)
    # A union tag ("run", "file") picks the union member of that name.
    for member in members:
        if any(getattr(meta, "tag", None) == part for meta in getattr(member, "__metadata__", ())):
            return typing.get_args(member)[0]
    for member in members:
        if isinstance(member, type) and issubclass(member, BaseModel) and isinstance(part, str):
            for name, info in member.model_fields.items():
                if part in (name, info.alias):
                    return info.annotation
        origin = typing.get_origin(member)
        if origin is list and isinstance(part, int):
            return typing.get_args(member)[0]
        if origin is dict and isinstance(part, str):
            return typing.get_args(member)[1]
    return None


def _unwrap(annotation: Any) -> list[Any]:
    """Annotated/Optional/Union peeled into their members (tagged members kept whole)."""
    out: list[Any] = []
    stack = [annotation]
    while stack:
        item = stack.pop(0)
        origin = typing.get_origin(item)
        if origin is typing.Annotated:
            base = typing.get_args(item)[0]
            if any(hasattr(meta, "tag") for meta in getattr(item, "__metadata__", ())):
                out.append(item)
            stack.insert(0, base)
        elif origin in (typing.Union, types.UnionType):
            stack[0:0] = list(typing.get_args(item))
        else:
            out.append(item)
    return out


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [m for m in _unwrap(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]
