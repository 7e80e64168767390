"""The words deploy and verify share: statuses, check kinds and scopes.

Code compares English identifiers; Spanish appears only where a person (or
the JSON a person reads) sees it, and every such word comes from the table
below. Deploy talks about actions and verify about checks: the same status
takes the Spanish gender of what it describes (un cambio «fallido», una
comprobación que «FALLA», «omitido» / «omitida»), hence one table per noun.
The values of the enums are what the JSON documents carry, unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OK = "ok"  # deploy: the action was not needed (Ansible's ok)
    CHANGED = "changed"  # deploy: the action ran and changed the node (or would, with --check)
    PASSED = "passed"  # verify: the check holds
    FAILED = "failed"
    ERROR = "error"  # verify: the check could not be evaluated (node unreachable, probe broke)
    SKIPPED = "skipped"  # does not apply here (step condition, non-lab site)

    def check_word(self) -> str:
        """The word for a check's result (verify)."""
        return _CHECK_WORDS[self][0]

    def check_tally(self) -> str:
        """What follows a count of checks with this result in verify's summary ("3 fallan")."""
        return _CHECK_WORDS[self][1]

    def action_word(self, dry_run: bool = False) -> str:
        """The word for an action's result (deploy); `dry_run`: what --check says of a change."""
        if dry_run and self is Status.CHANGED:
            return "cambiaría"
        return _ACTION_WORDS[self]


# Deploy's recap columns, in order (Ansible's recap); verify's summary, in order.
ACTION_STATUSES = (Status.OK, Status.CHANGED, Status.FAILED, Status.SKIPPED)
CHECK_STATUSES = (Status.PASSED, Status.FAILED, Status.ERROR, Status.SKIPPED)

_ACTION_WORDS = {
    Status.OK: "ok",
    Status.CHANGED: "cambiado",
    Status.FAILED: "fallido",
    Status.SKIPPED: "omitido",
}
_CHECK_WORDS = {
    Status.PASSED: ("correcta", "correctas"),
    Status.FAILED: ("FALLA", "fallan"),
    Status.ERROR: ("error", "con error"),
    Status.SKIPPED: ("omitida", "omitidas"),
}


class Scope(StrEnum):
    NODE = "node"  # evaluated on every node
    CLUSTER = "cluster"  # evaluated once for the whole site

    @property
    def spanish(self) -> str:
        return _SCOPE_WORDS[self]


_SCOPE_WORDS = {Scope.NODE: "nodo", Scope.CLUSTER: "clúster"}


class Kind(StrEnum):
    DOCUMENTED = "documented"  # a step's «Comprobación», shown on the step's page
    STATE = "state"  # verify's own check of one node's state
    CLUSTER = "cluster"  # verify's own check of the whole site

    @property
    def scope(self) -> Scope:
        return Scope.CLUSTER if self is Kind.CLUSTER else Scope.NODE

    @property
    def spanish(self) -> str:
        return _KIND_WORDS[self]


_KIND_WORDS = {Kind.DOCUMENTED: "documentada", Kind.STATE: "estado", Kind.CLUSTER: "clúster"}
