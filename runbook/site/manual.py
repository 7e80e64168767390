"""The by-hand path: what a person types to do a plan action without the tool.

A pure, deterministic transformation of the plan's own action objects, so
the commands on the page cannot drift from what deploy runs:

- a run action is its command, unchanged;
- a file action becomes: make its folder when no package does (a systemd
  drop-in folder, `UNIT.d/`: deploy makes every folder it writes in),
  write the content with a quoted here-document (into `PATH.nuevo` when
  the file is validated first, else straight into PATH), owner and mode
  when they differ from what `cat >` gives a new file as root, the plan's
  validation with that real path instead of `%s`, `mv` into place, and
  the command that makes it take effect.

Secrets stay as the plan's markers here; the page shows each one as a
placeholder the reader replaces (see `placeholder`).
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass
from typing import Literal

from ..plan.steps import SECRET_MARKER_RE, Action, FileAction

# What a new file gets from `cat > FILE` as root with Debian's umask (022).
NEW_FILE_MODE = "0644"
NEW_FILE_OWNER = ("root", "root")
CANDIDATE_SUFFIX = ".nuevo"
PLACEHOLDERS = {"stats_password": "pon aquí tu contraseña"}
# What happens if a reader leaves the placeholder in (tried: `haproxy -c` accepts it).
FORGOTTEN = {
    "stats_password": "HAProxy da el fichero por bueno y la contraseña sería «pon», la primera palabra",
}

Role = Literal["run", "mkdir", "write", "perms", "validate", "install", "apply"]


@dataclass(frozen=True)
class HandCommand:
    role: Role
    text: str  # exactly what to type; secrets as markers (see placeholder)
    lead: str  # Spanish Markdown sentence shown before the command
    output: str | None = None  # expected output (⟨⟩ = varies), None when not documented
    after: str = ""  # Spanish Markdown sentence shown after the command (and its output)


def placeholder(secret: str) -> str:
    """What the page shows where the plan has the marker of `secret`."""
    return PLACEHOLDERS.get(secret, f"pon aquí el secreto {secret}")


def with_placeholders(text: str) -> str:
    """The command as the reader sees it: every secret marker replaced by its placeholder."""
    return SECRET_MARKER_RE.sub(lambda m: placeholder(m.group(1)), text)


def candidate_path(action: FileAction) -> str:
    """Where the reader writes a file that is validated before it replaces the old one."""
    return action.path + CANDIDATE_SUFFIX


def heredoc(path: str, content: str) -> str:
    """`cat > PATH <<'EOF'` + content + `EOF`: writes exactly `content`, nothing expanded."""
    if not content.endswith("\n"):
        raise ValueError(
            f"el contenido de {path} no termina en salto de línea: un here-document no lo reproduciría exacto"
        )
    lines = set(content.splitlines())
    delimiter, n = "EOF", 1
    while delimiter in lines:
        n += 1
        delimiter = f"EOF{n}"
    return f"cat > {shlex.quote(path)} <<'{delimiter}'\n{content}{delimiter}"


def hand_commands(action: Action) -> list[HandCommand]:
    """The commands a person types for `action`, in order."""
    if not isinstance(action, FileAction):
        return [HandCommand("run", action.command, "Ejecuta:")]
    validated = action.validate is not None
    target = candidate_path(action) if validated else action.path
    shown = f"`{target}`"
    out = []
    folder = new_folder(action.path)
    if folder:
        out.append(HandCommand("mkdir", f"mkdir -p {shlex.quote(folder)}",
                               "Crea antes su carpeta: los ajustes de una unidad de systemd van en una "
                               "carpeta con su nombre, que no existe en un Debian recién instalado."))
    if validated:
        lead = (
            f"Escribe el fichero nuevo en {shown}, al lado de `{action.path}`: así lo compruebas "
            "antes de sustituir el que está en uso."
        )
    else:
        lead = f"Crea {shown} con este contenido:"
    after = " ".join(_secret_hint(s, target) for s in sorted(set(SECRET_MARKER_RE.findall(action.content))))
    out.append(HandCommand("write", heredoc(target, action.content), lead, after=after))
    perms = _perms(action, target)
    if perms:
        out.append(HandCommand("perms", perms, "Ajusta el propietario y los permisos:"))
    if validated:
        out.append(
            HandCommand(
                "validate",
                action.validate_command(target) or "",
                "Compruébalo antes de instalarlo:",
                output=action.validate_output,
                after=(
                    "Si sale otra cosa, corrige el fichero nuevo y repite la comprobación: "
                    f"mientras no lo muevas, se sigue usando el `{action.path}` de antes."
                ),
            )
        )
        out.append(
            HandCommand(
                "install",
                f"mv {shlex.quote(target)} {shlex.quote(action.path)}",
                "Cuando la comprobación salga bien, ponlo en su sitio:",
            )
        )
    if action.on_change:
        lead = f"Haz que `{action.service}` lo use:" if action.service else "Aplícalo:"
        out.append(HandCommand("apply", action.on_change, lead, output=action.apply_output))
    return out


def new_folder(path: str) -> str | None:
    """The folder the reader makes before writing `path`: a systemd drop-in folder, which no package
    creates (every other folder of the procedure comes with Debian or with the package it configures)."""
    folder = posixpath.dirname(path)
    return folder if folder.startswith("/etc/systemd/system/") and folder.endswith(".d") else None


def _secret_hint(secret: str, path: str) -> str:
    hint = (
        f"Después, cambia «{placeholder(secret)}» por el valor real (sin espacios ni `#`) con un "
        f"editor, por ejemplo `nano {shlex.quote(path)}`: escrito en la orden de arriba, quedaría en "
        "el historial de la terminal."
    )
    if secret in FORGOTTEN:
        hint += f" Si se te olvida, {FORGOTTEN[secret]}."
    return hint


def _perms(action: FileAction, path: str) -> str:
    lines = []
    if (action.owner, action.group) != NEW_FILE_OWNER:
        lines.append(f"chown {shlex.quote(f'{action.owner}:{action.group}')} {shlex.quote(path)}")
    if action.mode != NEW_FILE_MODE:
        lines.append(f"chmod {shlex.quote(action.mode)} {shlex.quote(path)}")
    return "\n".join(lines)
