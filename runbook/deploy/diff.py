"""What would change: a pure function of the plan, the node's facts and the secrets.

No connection here. Files are compared by the sha256 of their final bytes
(secrets materialized) and by mode/owner/group; run actions by their guard's
exit status, exactly as the guard is shown on the site.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass

from ..plan import SECRET_MARKER_RE, Action, FileAction, PlannedStep, RunAction
from ..secrets import materialize, redact
from .facts import Facts
from .outcome import CHANGED, OK, SKIPPED


@dataclass(frozen=True)
class Prediction:
    action: Action
    status: str  # OK, CHANGED or SKIPPED
    reason: str  # Spanish, shown in progress lines and --check
    content_changed: bool = False  # files: the bytes differ (write, validate, activate)
    meta_changed: bool = False  # files: only mode/owner/group differ (chmod/chown)
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
        return Prediction(action, CHANGED, "se ejecuta siempre (sin condición)")
    status = facts.guards[action.unless]
    if status == 0:
        return Prediction(action, OK, "no hace falta: la condición «salvo si» ya se cumple")
    return Prediction(action, CHANGED, f"la condición «salvo si» no se cumple (código {status})")


def _predict_file(action: FileAction, facts: Facts, secrets: dict[str, str]) -> Prediction:
    fact = facts.files[action.path]
    if not fact.exists:
        return Prediction(action, CHANGED, "el fichero no existe", content_changed=True)
    if fact.not_regular:
        reason = "la ruta existe pero no es un fichero normal"
        return Prediction(action, CHANGED, reason, content_changed=True)
    sha = hashlib.sha256(desired_bytes(action, secrets)).hexdigest()
    content = fact.sha256 != sha
    wanted_mode = int(action.mode, 8)
    meta = []
    if fact.mode != wanted_mode:
        meta.append(f"modo {fact.mode:04o} → {wanted_mode:04o}")
    if (fact.owner, fact.group) != (action.owner, action.group):
        meta.append(f"propietario {fact.owner}:{fact.group} → {action.owner}:{action.group}")
    reapply = not content and action.unless is not None and facts.guards[action.unless] != 0
    if not content and not meta and not reapply:
        return Prediction(action, OK, "sin cambios")
    reasons = (["el contenido es distinto"] if content else []) + meta
    if reapply:
        reasons.append(
            "el fichero está bien, pero no en vigor: la condición «salvo si» no se cumple "
            f"(código {facts.guards[action.unless]})"
        )
    return Prediction(action, CHANGED, "; ".join(reasons), content_changed=content,
                      meta_changed=bool(meta), reapply=reapply)


def predict_step(step: PlannedStep, node: str, facts: Facts, secrets: dict[str, str]) -> list[Prediction]:
    actions = step.actions[node]
    if step.when_file_exists and not facts.exists[step.when_file_exists]:
        reason = f"no existe {step.when_file_exists}: el paso no se aplica a este nodo"
        return [Prediction(a, SKIPPED, reason) for a in actions]
    return [predict_action(a, facts, secrets) for a in actions]


def unified_diff(path: str, current: bytes | None, desired: str, secrets: dict[str, str]) -> str:
    """A unified diff for people: secrets appear only as their markers.

    `desired` is the plan's content (it already holds markers); the current
    file from the node holds real values, so it is redacted before diffing.
    """
    old = "" if current is None else redact(current.decode("utf-8", errors="replace"), secrets)
    old = mask_stale_secrets(old, desired)
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        desired.splitlines(keepends=True),
        fromfile=f"{path} (en el nodo)" if current is not None else "/dev/null",
        tofile=f"{path} (según el plan)",
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return text


def mask_stale_secrets(old: str, desired: str) -> str:
    """Hide values that sit where the plan puts a secret (e.g. an old password).

    `redact` only knows today's values; a node may still hold a previous
    password. Any line of the node's file shaped like a plan line that carries
    a marker gets the value at the marker's place replaced by
    `@@SECRETO_<name>_anterior@@`, so the diff still shows that it changes.
    """
    patterns = []
    for line in desired.splitlines():
        if not SECRET_MARKER_RE.search(line):
            continue
        parts = SECRET_MARKER_RE.split(line)  # text, name, text, name, ..., text
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<s{i}>.+?)" for i, part in enumerate(parts)
        )
        patterns.append((re.compile(f"^{regex}$"), parts))
    if not patterns:
        return old
    out = []
    for line in old.splitlines(keepends=True):
        body, end = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        for regex, parts in patterns:
            if regex.match(body) and not SECRET_MARKER_RE.search(body):
                body = "".join(
                    part if i % 2 == 0 else f"@@SECRETO_{part}_anterior@@" for i, part in enumerate(parts)
                )
                break
        out.append(body + end)
    return "".join(out)
