"""What would change: a pure function of the plan, the node's facts and the secrets.

No connection here. Files are compared by the sha256 of their final bytes
(secrets materialized) and by mode/owner/group; run actions by their guard's
exit status, exactly as the guard is shown on the site.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..plan.copies import too_open
from ..plan.secrets import materialize
from ..plan.steps import Action, FileAction, PlannedStep, RunAction
from ..vocabulary import Status
from .facts import Facts


@dataclass(frozen=True)
class Prediction:
    action: Action
    status: Status  # OK, CHANGED or SKIPPED
    reason: str  # Spanish, shown in progress lines and --check
    content_changed: bool = False  # files: the bytes differ (write, validate, activate)
    meta_changed: bool = False  # files: only mode/owner/group differ (chmod/chown), or a copy's
    reapply: bool = False  # files: same bytes, but not in effect (its `unless` failed): activate again


def desired_bytes(action: FileAction, secrets: dict[str, str]) -> bytes:
    return materialize(action.content, secrets).encode("utf-8")


def predict_action(action: Action, facts: Facts, secrets: dict[str, str]) -> Prediction:
    if isinstance(action, RunAction):
        return _predict_run(action, facts)
    return _predict_file(action, facts, secrets)


def _predict_run(action: RunAction, facts: Facts) -> Prediction:
    if action.unless is None:
        # No guard: the command is naturally idempotent and always runs.
        return Prediction(action, Status.CHANGED, "se ejecuta siempre (sin condición)")
    status = facts.guards[action.unless]
    if status == 0:
        return Prediction(action, Status.OK, "no hace falta: la condición «salvo si» ya se cumple")
    return Prediction(action, Status.CHANGED, f"la condición «salvo si» no se cumple (código {status})")


def _predict_file(action: FileAction, facts: Facts, secrets: dict[str, str]) -> Prediction:
    fact = facts.files[action.path]
    if not fact.exists:
        return Prediction(action, Status.CHANGED, "el fichero no existe", content_changed=True)
    if fact.not_regular:
        reason = "la ruta existe pero no es un fichero normal"
        return Prediction(action, Status.CHANGED, reason, content_changed=True)
    sha = hashlib.sha256(desired_bytes(action, secrets)).hexdigest()
    content = fact.sha256 != sha
    wanted_mode = int(action.mode, 8)
    meta = []
    if fact.mode != wanted_mode:
        meta.append(f"modo {fact.mode:04o} → {wanted_mode:04o}")
    if (fact.owner, fact.group) != (action.owner, action.group):
        meta.append(f"propietario {fact.owner}:{fact.group} → {action.owner}:{action.group}")
    for path, mode, owner, group in fact.copies:
        if too_open(mode, owner, group, wanted_mode, action.owner, action.group):
            meta.append(f"la copia {path} ({mode:04o} {owner}:{group}) está más abierta que el fichero")
    reapply = not content and action.unless is not None and facts.guards[action.unless] != 0
    if not content and not meta and not reapply:
        return Prediction(action, Status.OK, "sin cambios")
    reasons = (["el contenido es distinto"] if content else []) + meta
    if reapply:
        reasons.append(
            "el fichero está bien, pero no en vigor: la condición «salvo si» no se cumple "
            f"(código {facts.guards[action.unless]})"
        )
    return Prediction(action, Status.CHANGED, "; ".join(reasons), content_changed=content,
                      meta_changed=bool(meta), reapply=reapply)


def predict_step(step: PlannedStep, node: str, facts: Facts, secrets: dict[str, str]) -> list[Prediction]:
    actions = step.actions[node]
    if step.when_file_exists and not facts.exists[step.when_file_exists]:
        reason = f"no existe {step.when_file_exists}: el paso no se aplica a este nodo"
        return [Prediction(a, Status.SKIPPED, reason) for a in actions]
    return [predict_action(a, facts, secrets) for a in actions]
