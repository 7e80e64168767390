"""Keys a site file may still use under an older name: read as the new one, with a notice.

`controllers:` named the servers behind the VIP when the only site was an
OpenStack cloud; it is `servers:` now (model.Server). A file written before
keeps working: the loader renames the key before validating and prints one
Spanish line on stderr naming the file and the line, so the user knows what
to change. A file with both names is an error (which one is meant?).

Light on purpose (no pydantic): the plan cache asks `uses_old_keys` about
the raw bytes, so that a file with an old key is always loaded, and warned
about, instead of being served silently from the cache.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import BadInputError

if TYPE_CHECKING:
    from .yaml_strict import Document

# Old top-level key -> its current name.
RENAMED = {"controllers": "servers"}
_OLD_KEY_RE = re.compile(rb"^(?:" + b"|".join(re.escape(k.encode()) for k in RENAMED) + rb")\s*:", re.M)


class BothNamesError(BadInputError):
    """The file uses an old key and its new name at once."""

    def __init__(self, line: int, old: str, new: str) -> None:
        super().__init__(f"'{old}' es el nombre antiguo de '{new}' y el fichero usa los dos: "
                         f"deja solo '{new}'")
        self.line = line
        self.old = old


def uses_old_keys(raw: bytes) -> bool:
    """True when the raw file may hold an old top-level key (a false alarm only costs the cache)."""
    return _OLD_KEY_RE.search(raw) is not None


def rename_old_keys(document: Document, display: str) -> list[str]:
    """Rename the old keys of a site document in place; the notices to show (Spanish, one line each)."""
    data = document.data
    if not isinstance(data, dict):
        return []
    notices = []
    for old, new in RENAMED.items():
        if old not in data:
            continue
        line = document.line_of((old,))
        if new in data:
            raise BothNamesError(line, old, new)
        document.data = data = {(new if key == old else key): value for key, value in data.items()}
        document.places = {((new, *path[1:]) if path[:1] == (old,) else path): place
                           for path, place in document.places.items()}
        notices.append(f"{display}, línea {line}: aviso: la clave '{old}' está obsoleta; se lee como "
                       f"'{new}': cámbiale el nombre en el fichero")
    return notices
