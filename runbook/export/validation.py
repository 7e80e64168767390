"""The plan's validator as an Ansible `validate:` command that judges like deploy.

Deploy does not trust a validator's exit code alone: keepalived -t may exit
0 while it complains, haproxy -c prints warnings on stderr. Ansible's
`validate:` only looks at the exit code, so the plan's command runs inside a
small POSIX sh wrapper that prints the output (Ansible shows it when the
check fails) and fails on any line other than a known success line, as
`runbook.deploy.executor.validator_verdict` does.

Ansible's copy module fills the candidate path in with Python's `%`
formatting and splits the result like a shell (no shell runs it), so every
`%` other than the plan's `%s` placeholders is doubled, and the plan's
command is passed as one quoted argument to `sh -c`.
"""

from __future__ import annotations

import re
import shlex

from ..deploy.executor import VALIDATOR_SUCCESS_LINES
from .host_values import ExportError

WRAPPER_NAME = "rb-validar"  # $0 of the wrapper: names it in `ps` and in error messages


def _bre(text: str) -> str:
    """`text` as a literal in a grep basic regular expression, inside double quotes."""
    if any(c in text for c in '"`$\\'):
        raise ValueError(f"línea de validación no admitida: {text!r}")
    return re.sub(r"([.\[\]*^])", r"\\\1", text)


def _wrapper_script() -> str:
    # Double quotes inside: the whole script is then one readable '...' word.
    accepted = " ".join(
        f'-e "[[:space:]]*{_bre(line)}[[:space:]]*"' for line in sorted(VALIDATOR_SUCCESS_LINES)
    )
    return (
        'out=$(/bin/sh -c "$1" 2>&1); rc=$?; printf "%s\\n" "$out"; '
        '[ "$rc" -eq 0 ] || exit "$rc"; '
        f'if printf "%s\\n" "$out" | grep -qvx -e "[[:space:]]*" {accepted}; then exit 1; fi'
    )


def _percent_safe(text: str) -> str:
    """Double every % except the `%s` placeholders (copy does `validate % path`)."""
    return "%s".join(part.replace("%", "%%") for part in text.split("%s"))


def ansible_validate(validate: str) -> str:
    """`validate:` for ansible.builtin.copy running the plan's validator `validate` (with %s)."""
    if validate.count("%s") != 1:
        # copy fills in one path with `validate % path`; deploy would accept more.
        raise ExportError(f"el validador «{validate}» debe nombrar el fichero con un solo %s para Ansible")
    script = shlex.quote(_wrapper_script()).replace("%", "%%")  # no placeholder in the wrapper
    return f"/bin/sh -c {script} {WRAPPER_NAME} {_percent_safe(shlex.quote(validate))}"


def plan_validator(ansible_command: str) -> str:
    """The plan's validator inside a `validate:` written by `ansible_validate` (for checks)."""
    words = shlex.split(ansible_command.replace("%%", "%"))
    if len(words) != 5 or words[:2] != ["/bin/sh", "-c"] or words[3] != WRAPPER_NAME:
        raise ValueError(f"no es un validador exportado: {ansible_command!r}")
    return words[4]
