"""Secret values: read from the environment or a file outside the repo.

The plan only ever holds markers (`@@SECRETO_name@@`); these helpers swap
the real value in right before a file is written to a node. Taking secrets
out of anything shown or logged is masking.py's job.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInputError
from ..names import REPO_ROOT, SECRET_MARKER_RE

if TYPE_CHECKING:
    from ..data.records import Site

# Characters that are safe unquoted in haproxy.cfg (`stats auth user:pass`).
SAFE_SECRET_RE = re.compile(r"^[A-Za-z0-9._~!%^*+=-]{8,128}$")


class SecretError(BadInputError):
    """A secret is missing or unusable; the message never contains its value."""


def read_secrets(site: Site) -> dict[str, str]:
    return {name: _read_one(site, name) for name in site.secrets}


def _read_one(site: Site, name: str) -> str:
    source = site.secrets[name]
    return read_source(name, source.env, source.file)


def read_source(name: str, env: str | None, file: str | None) -> str:
    """One secret from its variable `env` (if set) or its `file`; SecretError (Spanish) if unusable."""
    if env and os.environ.get(env):
        value = os.environ[env].strip()
        origin = f"la variable {env}"
    elif file:
        path = Path(os.path.expanduser(file))
        if _inside_repo(path):
            raise SecretError(f"el secreto {name} no puede guardarse dentro del repositorio ({path})")
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError:
            hint = f"define {env} o crea " if env else "crea "
            raise SecretError(f"falta el secreto {name}: {hint}{path}") from None
        origin = str(path)
    else:
        raise SecretError(f"falta el secreto {name}: define la variable {env}")
    if not SAFE_SECRET_RE.match(value):
        raise SecretError(
            f"el secreto {name} (de {origin}) debe tener 8-128 caracteres de A-Z a-z 0-9 . _ ~ ! % ^ * + = -"
        )
    return value


def _inside_repo(path: Path) -> bool:
    try:
        path.resolve().relative_to(REPO_ROOT)
    except ValueError:
        return False
    return True


def materialize(text: str, secrets: dict[str, str]) -> str:
    """Put the real values in place of the markers (only for the node)."""

    def swap(match: re.Match) -> str:
        name = match.group(1)
        if name not in secrets:
            raise SecretError(f"la plantilla usa el secreto {name}, que el sitio no define")
        return secrets[name]

    return SECRET_MARKER_RE.sub(swap, text)
