"""What happened to each action: the vocabulary shared by deploy's parts.

Statuses follow Ansible's recap (ok / changed / failed / skipped); the CLI
shows them in Spanish.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import RunbookError
from ..plan import Action, FileAction

OK, CHANGED, FAILED, SKIPPED = "ok", "changed", "failed", "skipped"
STATUSES = (OK, CHANGED, FAILED, SKIPPED)
SPANISH = {OK: "ok", CHANGED: "cambiado", FAILED: "fallido", SKIPPED: "omitido"}


def describe(action: Action) -> str:
    """The short name of an action in progress lines and the recap."""
    if isinstance(action, FileAction):
        return action.path
    return action.command


@dataclass(frozen=True)
class Outcome:
    node: str
    step: str
    kind: str  # "run" | "file"
    target: str  # the file path or the command, exactly as the site shows it
    status: str
    message: str = ""  # Spanish, already redacted
    diff: str | None = None  # unified diff (files, --check), secrets redacted
    duration_s: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


class ActionFailed(RunbookError):
    """An action could not be applied; the message is Spanish and redacted."""
