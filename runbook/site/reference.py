"""The page "Referencia de los datos": every field of a site file, from the JSON Schema.

The schema (runbook/data/schema.py) is made by pydantic from the models, with
the Spanish description and examples of every field: this page reads only
that, so the page, the schema an editor uses and the validation cannot say
different things. One section per mapping of the file (the top level,
`network.lan`, `nodes[]`...), one definition per field: path, description,
type, default, rules and an example.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

RULE = "x-rule"  # fields.RULE: the rules of a type in Spanish words
MAP_KEY = "NOMBRE"  # how a free key (a secret's name) is written in a path

# (singular, plural) of each kind of value.
_FORMATS = {"ipv4": ("dirección IPv4", "direcciones IPv4"), "ipv4network": ("red IPv4", "redes IPv4")}
_TYPES = {
    "string": ("texto", "textos"),
    "integer": ("número entero", "números enteros"),
    "number": ("número", "números"),
    "boolean": ("sí/no", "sí/no"),
    "null": ("vacío", "vacíos"),
}


@dataclass
class Row:
    path: str
    kind: str
    default: str
    rules: list[str]
    description: str
    example: str


@dataclass
class Section:
    path: str  # "" for the top level of the file
    description: str
    rows: list[Row] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "campos-" + (re.sub(r"[^a-z0-9]+", "-", self.path.lower()).strip("-") or "raiz")


def sections(schema: dict[str, Any]) -> list[Section]:
    """Every mapping of the file, top level first, each followed by the mappings inside it."""
    out: list[Section] = []
    _walk(schema, schema, "", "El primer nivel del fichero.", out)
    return out


def reference_markdown(schema: dict[str, Any]) -> str:
    """One section per mapping; in it, one definition per field: its path, what it is, and a line with
    its type, default, rules and an example (a list reads better than a table of six columns on a
    phone, and nothing is cut)."""
    parts = []
    for section in sections(schema):
        title = f"`{section.path}`" if section.path else "Primer nivel"
        parts.append(f"## {title} {{#{section.anchor}}}\n\n{section.description}\n")
        for row in section.rows:
            facts = [f"*Tipo:* {row.kind}", f"*Por defecto:* {row.default}",
                     f"*Reglas:* {'; '.join(row.rules) or 'ninguna'}"]
            if row.example:
                facts.append(f"*Ejemplo:* `{row.example}`")
            parts.append(f"`{row.path}`\n:   {_line(row.description)}\n\n    {_line(' · '.join(facts))}\n")
    return "\n".join(parts)


def field_paths(schema: dict[str, Any]) -> list[str]:
    """The path of every field the page lists (`nodes[].priority`, `secrets.NOMBRE.env`)."""
    return [row.path for section in sections(schema) for row in section.rows]


# ------------------------------------------------------------------ walking


def _walk(root: dict, node: dict, path: str, description: str, out: list[Section]) -> None:
    section = Section(path, description)
    out.append(section)
    nested: list[tuple[dict, str, str]] = []
    required = set(node.get("required", []))
    for name, prop in node.get("properties", {}).items():
        prop_path = f"{path}.{name}" if path else name
        row = _row(root, prop, prop_path, name, name in required)
        section.rows.append(row)
        inner = _inner_model(root, prop, prop_path)
        if inner is not None:
            nested.append((inner[0], inner[1], prop.get("description", "")))
            row.kind += f" ([sus campos](#{Section(inner[1], '').anchor}))"
    for model, inner_path, text in nested:
        _walk(root, model, inner_path, text, out)


def _inner_model(root: dict, prop: dict, path: str) -> tuple[dict, str] | None:
    """The mapping a field holds (itself, each item of a list, each value of a map) and its path."""
    schema = _non_null(root, prop)
    if "properties" in schema:
        return schema, path
    if schema.get("type") == "array":
        items = _resolve(root, schema.get("items", {}))
        if "properties" in items:
            return items, f"{path}[]"
    values = _map_values(root, schema)
    if values is not None and "properties" in values:
        return values, f"{path}.{MAP_KEY}"
    return None


def _row(root: dict, prop: dict, path: str, name: str, required: bool) -> Row:
    examples = prop.get("examples") or []
    return Row(
        path=path,
        kind=_kind(root, prop),
        default="obligatorio" if required else _default(prop),
        rules=_rules(root, prop),
        description=prop.get("description", ""),
        example=_flow(name, examples[0]) if examples else "",
    )


# ------------------------------------------------------------------- words


def _resolve(root: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    target = root
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def _options(root: dict, schema: dict) -> list[dict]:
    """The alternatives of a schema (anyOf), each resolved; the schema itself when it has none."""
    return [_resolve(root, s) for s in schema.get("anyOf", [schema])]


def _non_null(root: dict, schema: dict) -> dict:
    options = [o for o in _options(root, schema) if o.get("type") != "null"]
    return options[0] if len(options) == 1 else schema


def _map_values(root: dict, schema: dict) -> dict | None:
    if schema.get("type") != "object" or "properties" in schema:
        return None
    if isinstance(schema.get("additionalProperties"), dict):
        return _resolve(root, schema["additionalProperties"])
    patterns = list(schema.get("patternProperties", {}).values())
    return _resolve(root, patterns[0]) if patterns else None


def _kind(root: dict, schema: dict, plural: bool = False) -> str:
    words = []
    for option in _options(root, schema):
        if option.get("type") == "null":
            continue
        words.append(_one_kind(root, option, plural))
    if _TYPES["number"][plural] in words:  # an integer is a number too: `int | float` reads "número"
        words = [w for w in words if w != _TYPES["integer"][plural]]
    text = " o ".join(dict.fromkeys(words))
    if len(words) < len(_options(root, schema)):
        text += " (o vacío)"
    return text


def _one_kind(root: dict, schema: dict, plural: bool) -> str:
    index = 1 if plural else 0
    if "properties" in schema:
        return ("mapa", "mapas")[index]
    kind = schema.get("type")
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]][index]
    if kind == "array":
        return ("lista de ", "listas de ")[index] + _kind(root, schema.get("items", {}), plural=True)
    values = _map_values(root, schema)
    if values is not None:
        return ("mapa", "mapas")[index] + " de nombre a " + _one_kind(root, values, False)
    if kind in _TYPES:
        return _TYPES[kind][index]
    return ("valor", "valores")[index]


def _default(prop: dict) -> str:
    if "default" not in prop:
        return "sus propios valores por defecto"
    value = prop["default"]
    if value is None or value == "":
        return "vacío"
    if value in ([], {}):
        return "ninguno"
    return f"`{_scalar(value)}`"


def _rules(root: dict, prop: dict) -> list[str]:
    rules: list[str] = []
    # A type with its rules in words (RULE) is explained by them; its alternatives would repeat them.
    schemas = [prop] if RULE in prop else [prop, *_options(root, prop)]
    for schema in schemas:
        rules += _own_rules(schema)
        if schema.get("type") == "array":
            rules += [f"cada elemento: {r}" for r in _own_rules(_resolve(root, schema.get("items", {})))]
        values = _map_values(root, schema)
        patterns = list(schema.get("patternProperties", {}))
        if values is not None and patterns:
            rules.append(f"nombres de la forma `{patterns[0]}`")
    return list(dict.fromkeys(rules))


def _own_rules(schema: dict) -> list[str]:
    """The rules a schema states itself (not those of what it refers to)."""
    rules = []
    if RULE in schema:
        rules.append(schema[RULE])
    elif "pattern" in schema:
        rules.append(f"de la forma `{schema['pattern']}`")
    if "const" in schema:
        rules.append(f"solo `{_scalar(schema['const'])}`")
    if "enum" in schema:
        rules.append("uno de: " + ", ".join(f"`{_scalar(v)}`" for v in schema["enum"]))
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        rules.append(f"de {_scalar(low)} a {_scalar(high)}")
    elif low is not None:
        rules.append(f"{_scalar(low)} o más")
    elif high is not None:
        rules.append(f"{_scalar(high)} como mucho")
    if "exclusiveMinimum" in schema:
        rules.append(f"mayor que {_scalar(schema['exclusiveMinimum'])}")
    if "exclusiveMaximum" in schema:
        rules.append(f"menor que {_scalar(schema['exclusiveMaximum'])}")
    few, many = schema.get("minItems"), schema.get("maxItems")
    if few is not None and many is not None:
        rules.append(f"de {few} a {many} elementos")
    elif many is not None:
        rules.append(f"{many} elementos como mucho")
    elif few is not None:
        rules.append(f"{few} elemento{'s' if few != 1 else ''} como mínimo")
    if "maxLength" in schema and RULE not in schema:
        rules.append(f"{schema['maxLength']} caracteres como mucho")
    return rules


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def _flow(name: str, value: Any) -> str:
    """`name: value` as one line of YAML (flow style), as it would be written in the file."""
    text = yaml.safe_dump({name: value}, default_flow_style=True, allow_unicode=True, sort_keys=False,
                          width=1_000_000).strip()
    return text[1:-1] if text.startswith("{") else text  # the outer braces of the one-key map


def _line(text: str) -> str:
    """One line of Markdown (a definition's text must not start a new block)."""
    return " ".join(str(text).split())
