"""The one root of every error the package raises: a Spanish message and an exit code.

Every exception class defined in `runbook` derives from `RunbookError`, so
the command line needs one handler (runbook/cli/program.py) instead of a
ladder of `except` clauses per task: it prints `error: <message>` on one
line, no traceback, and exits with `code`. Exit codes mean the same in every
task (README): 0 fine, 1 a real failure or drift, 2 bad input or a node that
cannot be reached.

This module imports nothing, so even `./rb --list` can afford it.
"""

from __future__ import annotations

OK, FAILED, BAD_INPUT = 0, 1, 2


class RunbookError(Exception):
    """A failure the user can act on; `str()` is the Spanish message, `code` the exit code.

    Subclasses set the code their failures mean (`code = BAD_INPUT` for
    invalid data, say); one instance may override it with `code=`.
    """

    code: int = FAILED

    def __init__(self, *args: object, code: int | None = None) -> None:
        super().__init__(*args)
        if code is not None:
            self.code = code


class BadInputError(RunbookError):
    """The input cannot be used as given (data, options, secrets, a held lock): exit code 2.

    Nothing has been touched when it is raised: bad input is refused before
    any file is written or any connection opened.
    """

    code = BAD_INPUT
