"""YAML → validated models, with errors a person can act on.

A validation error names the file, the line and the field path, in Spanish.
PyYAML's composed node tree keeps line numbers, so each pydantic error
location is walked down that tree to find where the offending value is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .model import FieldError, Procedure, Site

REPO_ROOT = Path(__file__).resolve().parent.parent
PUBLISHED_SITE = "olimpo"  # the site the documentation is built from
LAB_SITE = "lab"  # the embedded lab; deploy and verify default to it

M = TypeVar("M", bound=BaseModel)


class DataError(Exception):
    """Invalid site data: the message is complete and meant for the user."""


def data_dir() -> Path:
    return Path(os.environ.get("RUNBOOK_DATA_DIR", REPO_ROOT / "site_data"))


def site_names(directory: Path | None = None) -> list[str]:
    directory = directory or data_dir()
    return sorted(p.stem for p in directory.glob("*.yaml") if p.stem != "procedure")


def load_site(name: str = PUBLISHED_SITE, directory: Path | None = None) -> Site:
    directory = directory or data_dir()
    path = directory / f"{name}.yaml"
    if name == "procedure" or not path.is_file():
        known = ", ".join(site_names(directory)) or "ninguno"
        raise DataError(f"no existe el sitio {name!r} en {directory} (sitios: {known})")
    site = load_file(path, Site)
    if site.name != name:
        line = _line_of(_compose(path), ("name",))
        raise DataError(
            f"{_display(path)}, línea {line}: campo 'name': vale {site.name!r} "
            f"pero el fichero se llama {name}.yaml"
        )
    return site


def load_procedure(directory: Path | None = None) -> Procedure:
    return load_file((directory or data_dir()) / "procedure.yaml", Procedure)


def load_file(path: Path, model: type[M]) -> M:
    root = _compose(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise DataError(f"{_display(path)}, línea 1: se esperaba un mapa de claves YAML")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DataError(_describe(path, root, exc)) from None


def _compose(path: Path) -> yaml.Node:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{_display(path)}: no se puede leer ({exc.strerror})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", línea {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataError(f"{_display(path)}{where}: YAML no válido: {problem}") from None
    if root is None:
        raise DataError(f"{_display(path)}, línea 1: el fichero está vacío")
    _reject_duplicate_keys(path, root)
    return root


def _reject_duplicate_keys(path: Path, node: yaml.Node) -> None:
    # PyYAML silently keeps the last of two equal keys: a classic typo trap.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                raise DataError(
                    f"{_display(path)}, línea {key.start_mark.line + 1}: "
                    f"clave {key.value!r} repetida"
                )
            seen.add(key.value)
            _reject_duplicate_keys(path, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(path, item)


def _describe(path: Path, root: yaml.Node, exc: ValidationError) -> str:
    # One message: the first error is the one to fix; the rest often follow from it.
    err = exc.errors(include_url=False)[0]
    loc = tuple(p for p in err["loc"] if _is_field(p))
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, FieldError):
        loc = loc + cause.path
    field = _field_path(loc) or "(raíz)"
    line = _line_of(root, loc)
    more = len(exc.errors()) - 1
    suffix = f" (y {more} error{'es' if more > 1 else ''} más)" if more else ""
    return f"{_display(path)}, línea {line}: campo '{field}': {_spanish(err)}{suffix}"


def _is_field(part: Any) -> bool:
    # Union tags and validator names also appear in pydantic locations.
    if isinstance(part, int):
        return True
    return isinstance(part, str) and part not in {"run", "file"} and "[" not in part


def _field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(root: yaml.Node, loc: tuple) -> int:
    node = root
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    # An unknown or wrong key is best shown at the key itself.
                    child = value if not isinstance(value, yaml.ScalarNode) else key
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                child = node.value[part]
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


_MESSAGES = {
    "missing": "falta este campo obligatorio",
    "extra_forbidden": "campo desconocido (¿una errata?)",
    "int_parsing": "debe ser un número entero",
    "int_type": "debe ser un número entero",
    "string_type": "debe ser un texto",
    "list_type": "debe ser una lista",
    "dict_type": "debe ser un mapa de claves",
    "model_type": "debe ser un mapa de claves",
    "model_attributes_type": "debe ser un mapa de claves",
    "bool_parsing": "debe ser true o false",
    "ip_v4_address": "no es una dirección IPv4 válida",
    "ip_v4_network": "no es una red IPv4 válida (p. ej. 192.168.1.0/24)",
    "union_tag_invalid": "tipo de acción desconocido",
}


def _spanish(err: dict) -> str:
    kind = err["type"]
    ctx = err.get("ctx", {})
    value = err.get("input")
    shown = f" (valor: {value!r})" if isinstance(value, str | int | float) else ""
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind in _MESSAGES:
        return _MESSAGES[kind] + (shown if kind not in {"missing", "extra_forbidden"} else "")
    if kind == "greater_than_equal":
        return f"debe ser mayor o igual que {ctx.get('ge')}{shown}"
    if kind == "less_than_equal":
        return f"debe ser menor o igual que {ctx.get('le')}{shown}"
    if kind == "literal_error":
        return f"valor no admitido{shown}; se espera uno de: {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"formato no válido{shown}"
    if kind == "too_short":
        return f"necesita al menos {ctx.get('min_length')} elemento(s)"
    return f"{err['msg']}{shown}"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
