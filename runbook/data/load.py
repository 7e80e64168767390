"""YAML → validated models, with errors a person can act on.

Every problem is one Spanish line naming the file, the line and the field:
`site_data/lab.yaml, línea 36: campo 'nodes[0].priority': ...`. The strict
reader (yaml_strict.py) refuses what is not clean UTF-8 data YAML and keeps
the line of every key; pydantic (strict mode) checks types and meaning, and
its error locations are looked up in those lines.
"""

from __future__ import annotations

import errno
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import BadInputError
from ..names import LAB_SITE, PUBLISHED_SITE, REPO_ROOT, data_dir  # noqa: F401 - imported from here by many
from . import yaml_strict
from .fields import NAME_RE, FieldError
from .messages import pick, spanish, unknown_key
from .model import Procedure, Site
from .renamed import BothNamesError, rename_old_keys
from .yaml_strict import Document, YamlError, shown

M = TypeVar("M", bound=BaseModel)
# The operating system's reasons, said in Spanish.
_OS_ERRORS = {
    errno.ENOENT: "no existe",
    errno.EACCES: "permiso denegado",
    errno.EISDIR: "es una carpeta",
    errno.ELOOP: "enlaces simbólicos en bucle",
    errno.ENOTDIR: "una parte de la ruta no es una carpeta",
    errno.ENAMETOOLONG: "ruta demasiado larga",
    errno.EIO: "error de entrada/salida",
}


class DataError(BadInputError):
    """Invalid site data: the message is complete and meant for the user."""


@dataclass(frozen=True)
class Source:
    """Where a model came from: its file (as shown to the user) and the line of every field."""

    display: str
    document: Document

    def where(self, path: tuple) -> str:
        """`procedure.yaml, línea 20: campo 'steps[0].actions[1].run'`."""
        return located(self.display, self.document.line_of(path), path)


def located(display: str, line: int, path: tuple) -> str:
    return f"{display}, línea {line}: campo '{field_path(path) or '(raíz)'}'"


def site_names(directory: Path | None = None) -> list[str]:
    directory = directory or data_dir()
    return sorted(p.stem for p in directory.glob("*.yaml") if p.stem != "procedure" and NAME_RE.match(p.stem))


def load_site(name: str = PUBLISHED_SITE, directory: Path | None = None) -> Site:
    directory = directory or data_dir()
    known = ", ".join(site_names(directory)) or "ninguno"
    # The name becomes a file name: nothing but a plain site name may reach the disk.
    if not isinstance(name, str) or not NAME_RE.match(name) or name == "procedure":
        raise DataError(f"nombre de sitio no válido {shown(name)} (sitios: {known})")
    path = directory / f"{name}.yaml"
    if not path.exists() and not path.is_symlink():  # anything else there is load_file's to judge
        raise DataError(f"no existe el sitio {name!r} en {directory} (sitios: {known})")
    display = display_path(path)
    document = _read(path, display)
    for notice in _rename_old_keys(document, display):
        print(notice, file=sys.stderr)
    return _site(name, Source(display, document))


def site_from_text(name: str, text: str, display: str) -> Site:
    """The site a text would be once written to `display` (its file): the very checks of `load_site`.

    `./rb new` validates what it is about to write with this, so a wrong
    answer gets exactly the message the file would get, and nothing is written.
    """
    try:
        document = yaml_strict.parse(text.encode())
    except YamlError as exc:
        raise DataError(f"{located(display, exc.line, exc.path)}: {exc.message}") from None
    _rename_old_keys(document, display)
    return _site(name, Source(display, document))


def _site(name: str, source: Source) -> Site:
    site = _validate(source, Site)
    if site.name != name:
        raise DataError(f"{source.where(('name',))}: vale {site.name!r} pero el fichero se llama {name}.yaml")
    return site


def _rename_old_keys(document: Document, display: str) -> list[str]:
    try:
        return rename_old_keys(document, display)
    except BothNamesError as exc:
        raise DataError(f"{located(display, exc.line, (exc.old,))}: {exc}") from None


def load_procedure(directory: Path | None = None) -> Procedure:
    procedure, source = load_file((directory or data_dir()) / "procedure.yaml", Procedure)
    procedure._source = source  # the planner names the line of a template that fails to render
    return procedure


def load_file(path: Path, model: type[M]) -> tuple[M, Source]:
    display = display_path(path)
    source = Source(display, _read(path, display))
    return _validate(source, model), source


def _read(path: Path, display: str) -> Document:
    try:
        return yaml_strict.read(path)
    except YamlError as exc:
        raise DataError(f"{located(display, exc.line, exc.path)}: {exc.message}") from None
    except OSError as exc:
        problem = _OS_ERRORS.get(exc.errno, f"error de lectura, errno {exc.errno}")
        raise DataError(f"{located(display, 1, ())}: no se puede leer ({problem})") from None


def _validate(source: Source, model: type[M]) -> M:
    try:
        return model.model_validate(source.document.data)
    except ValidationError as exc:
        raise DataError(_describe(source, model, exc)) from None
    except RecursionError:  # cannot happen within yaml_strict.MAX_DEPTH; never a traceback anyway
        raise DataError(f"{located(source.display, 1, ())}: estructura demasiado profunda") from None


def _describe(source: Source, model: type[BaseModel], exc: ValidationError) -> str:
    # One message: the error to fix first; the rest often follow from it.
    errors = exc.errors(include_url=False)
    err = pick(errors)
    raw_loc = tuple(err["loc"])
    loc = _field_loc(raw_loc)
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        loc = loc + cause.path
    if err["type"] == "extra_forbidden":
        message = unknown_key(model, raw_loc)
    else:
        message = spanish(err, source.document.source_of(loc))
    more = len(errors) - 1
    suffix = f" (y {more} error{'es' if more > 1 else ''} más)" if more else ""
    return f"{source.where(loc)}: {message}{suffix}"


def _field_loc(loc: tuple) -> tuple:
    """A pydantic location without union tags ("run"/"file" right after a list index)."""
    out: list = []
    for i, part in enumerate(loc):
        if part in ("run", "file") and i > 0 and isinstance(loc[i - 1], int):
            continue
        if isinstance(part, str) and "[" in part:  # validator names
            continue
        out.append(part)
    return tuple(out)


def field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def display_path(path: Path) -> str:
    """A path as messages name it: relative to the working folder when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
