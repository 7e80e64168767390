"""The JSON Schema of a site file, made from the models: what editors check as you type.

pydantic writes it (model_json_schema) from the same fields, types,
descriptions and examples that validate the data, so it cannot drift. Here
it only loses pydantic's English titles (an editor would show "Lan Address"
next to the Spanish description) and gains a Spanish title of its own.

Files written by `./rb new` start with a line an editor with a YAML
language server reads (`# yaml-language-server: $schema=.schema/site.json`),
relative to the data folder: `./rb new` and `./rb schema` write the schema
there (generated, never committed: .gitignore lists it).
"""

from __future__ import annotations

import json
import os
import tempfile
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from ..names import data_dir

SCHEMA_NAME = Path(".schema") / "site.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Keys of the schema whose values are maps of names (properties, definitions), not schemas.
_NAMED = ("properties", "$defs", "patternProperties")
_BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}


def site_schema() -> dict[str, Any]:
    """The schema of a site file (a site's YAML), as editors read it."""
    from .model import Site

    schema = _editor_ready(Site.model_json_schema(schema_generator=_InOrder))
    _fields_as_written(schema, Site)
    return {
        "$schema": DIALECT,
        "title": "Datos de un sitio de runbook (site_data/SITIO.yaml)",
        "description": "Generado a partir de los modelos (runbook/data/model.py) con ./rb schema; "
                       "la referencia de cada campo está en la página «Referencia de los datos».",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def schema_text() -> str:
    return json.dumps(site_schema(), ensure_ascii=False, indent=2) + "\n"


def default_path(directory: Path | None = None) -> Path:
    """Where the files of a data folder find their schema: DATA/.schema/site.json."""
    return (directory or data_dir()) / SCHEMA_NAME


def schema_line(site_file: Path, schema: Path) -> str:
    """The first line of a site file: where an editor finds the schema, relative to the file."""
    relative = os.path.relpath(schema, site_file.parent)
    return f"# yaml-language-server: $schema={Path(relative).as_posix()}"


def write_schema(path: Path) -> Path:
    """Write the schema to `path` (atomically; its folder made if missing); returns the path."""
    text = schema_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
        return path  # unchanged: no write, so an editor watching it does not reload
    handle = tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}-", suffix=".tmp",
                                         delete=False, encoding="utf-8")
    try:
        with handle:
            handle.write(text)
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, path)
    except BaseException:
        os.unlink(handle.name)
        raise
    return path


def _fields_as_written(schema: dict[str, Any], root: type[BaseModel]) -> None:
    """Each model's properties in the order its class declares them (name, title, ... for a site).

    pydantic puts first the fields a mixin declares for its methods
    (records.SiteMethods: vip, network, nodes...); an editor, the reference
    page and a reader expect the order of the file.
    """
    models = {m.__name__: m for m in _models(root)}
    for name, node in [("", schema), *schema.get("$defs", {}).items()]:
        cls = models.get(name) if name else root
        props = node.get("properties")
        if cls is None or not isinstance(props, dict):
            continue
        own = list(cls.__annotations__)
        node["properties"] = dict(sorted(props.items(), key=lambda kv: own.index(kv[0]) if kv[0] in own
                                         else len(own)))


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.append(annotation)
                for info in annotation.model_fields.values():
                    walk(info.annotation)
        for arg in typing.get_args(annotation):
            walk(arg)

    walk(root)
    return found


class _InOrder(GenerateJsonSchema):
    """Examples keep the order of the fields (`name` first), as a site file is written."""

    def sort(self, value: Any, parent_key: str | None = None) -> Any:
        return value


def _editor_ready(node: Any) -> Any:
    """The schema without its "title" keywords (a field named `title` stays: it is a name, not a
    keyword), and the bounds pydantic leaves in its own words on a union (`advert_int: int | float`)
    in JSON Schema's."""
    if isinstance(node, list):
        return [_editor_ready(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "title":
            continue
        if key in _NAMED and isinstance(value, dict):
            out[key] = {name: _editor_ready(sub) for name, sub in value.items()}
        elif key in ("examples", "default", "const", "enum"):
            out[key] = value  # data, not schemas
        else:
            out[_BOUNDS.get(key, key)] = _editor_ready(value)
    return out
