"""Write a new site file: checked by the very loader that will read it, or nothing written at all.

The text is validated with `load.site_from_text` under the name it will
have, so a wrong answer is refused with exactly the message the file would
get (`site_data/mine.yaml, línea 23: campo 'vip': ...`, exit 2) and the
folder is left as it was. A file that exists is never replaced without
`force`, not even one that appears while the answers were being given (the
new file is linked into place, which fails if the name is taken). The JSON
Schema the file's first line names is written (or refreshed) beside it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from ..data.load import DataError, site_from_text
from ..data.load import display_path as display
from ..data.schema import default_path, schema_line, write_schema
from ..errors import BadInputError
from ..names import NAME_RE
from ..wording import shown
from .site_text import site_text


class SiteExistsError(BadInputError):
    """The site file is already there and `--force` was not given."""


def site_path(name: str, directory: Path) -> Path:
    """Where site `name` lives; a name that cannot be a site's is refused (exit 2)."""
    if not isinstance(name, str) or not NAME_RE.match(name) or name == "procedure":
        raise DataError(f"nombre de sitio no válido {shown(name)}: usa minúsculas, cifras y guiones, "
                        "empezando por una letra (máx. 32 caracteres)")
    return directory / f"{name}.yaml"


def refuse_existing(path: Path, force: bool) -> None:
    """Checked before the first question and again when writing: nothing is asked for a file that
    could not be written."""
    if not path.parent.is_dir():
        raise BadInputError(f"no existe la carpeta de datos {display(path.parent)}")
    if not force and (path.exists() or path.is_symlink()):
        raise SiteExistsError(f"ya existe {display(path)}: no se toca (usa --force para reemplazarlo)")


def render(name: str, data: dict[str, Any], path: Path) -> str:
    """The file's text, validated as `path` would be: DataError (the model's message) if it is wrong."""
    text = site_text(data, schema_line(path, default_path(path.parent)))
    site_from_text(name, text, display(path))
    return text


def write_site(path: Path, text: str, force: bool) -> Path:
    """Write the schema beside the data, then the site file (atomically); returns the schema's path."""
    refuse_existing(path, force)
    schema = write_schema(default_path(path.parent))
    handle = tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}-", suffix=".tmp",
                                         delete=False, encoding="utf-8")
    try:
        with handle:
            handle.write(text)
        os.chmod(handle.name, 0o644)
        if force:
            os.replace(handle.name, path)
        else:
            try:
                os.link(handle.name, path)  # fails if the name was taken meanwhile: never replaced
            except FileExistsError:
                raise SiteExistsError(f"ya existe {display(path)}: no se toca (usa --force para "
                                      "reemplazarlo)") from None
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
    return schema
