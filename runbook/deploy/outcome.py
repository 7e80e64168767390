"""What happened to each action on each node.

Statuses follow Ansible's recap (ok / changed / failed / skipped) and are
the members of the Status enum verify uses too (runbook/vocabulary.py,
which also holds the Spanish words the CLI shows).

An ActionResult is not verify's Outcome: an Outcome is a check's verdict
(status, detail, diff) before it is placed on a node; an ActionResult is
the record of one action on one node (node, step, target, duration), the
line deploy prints and one entry of its JSON. Verify's counterpart of it is
its Result. Folding them into one type would leave half the fields empty
on each side and change both JSON documents.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import RunbookError
from ..plan.steps import Action, FileAction
from ..vocabulary import Status


def describe(action: Action) -> str:
    """The short name of an action in progress lines and the recap."""
    if isinstance(action, FileAction):
        return action.path
    return action.command


@dataclass(frozen=True)
class ActionResult:
    node: str
    step: str
    kind: str  # the action's kind: "run" | "file"
    target: str  # the file path or the command, exactly as the site shows it
    status: Status  # OK, CHANGED, FAILED or SKIPPED
    message: str = ""  # Spanish, already redacted
    diff: str | None = None  # unified diff (files, --check), secrets redacted
    duration_s: float = 0.0

    def to_json(self) -> dict:
        return {**asdict(self), "status": self.status.value}  # plain strings in the JSON


class ActionError(RunbookError):
    """An action could not be applied; the message is Spanish and redacted."""
