"""Errors of the lab, with the Spanish message the user sees.

The CLI prints `str(exc)` and exits with `exc.code`; no traceback ever
reaches the user for a known failure.
"""

from __future__ import annotations

from ..errors import RunbookError

# Same meaning as everywhere in the project: 1 a real failure, 2 bad input
# or a missing prerequisite.
FAILED, BAD_INPUT = 1, 2


class LabError(RunbookError, RuntimeError):
    """The lab could not do what was asked (exit code 1 by default)."""

    code = FAILED

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class PrerequisiteError(LabError):
    """Something the lab needs is missing on this machine (exit code 2)."""

    code = BAD_INPUT
