"""Where the package's errors meet the user: one mapping to exit codes for every task.

Every task is declared with this module's `task` (invoke's, plus this
mapping), so `./rb TASK`, plain `invoke TASK` and one task calling another
(`./rb demo`) all end the same way:

- a `RunbookError` (the root of every exception of the package, see
  runbook/errors.py): `error: <its Spanish message>` on stderr, its exit
  code, no traceback;
- Ctrl-C: `error: interrumpido`, exit 1;
- anything else is a bug of ours: one Spanish line that says so, exit 1,
  and the traceback only with RUNBOOK_DEBUG=1.

invoke's own exits (Exit, a failed `c.run`) pass through untouched: invoke
prints and maps them itself.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import invoke
from invoke.exceptions import Exit, Failure

from ..errors import FAILED, RunbookError

DEBUG_ENV = "RUNBOOK_DEBUG"  # set to anything but "" or "0": unexpected errors keep their traceback


def task(*args, **kwargs):
    """invoke's `@task` (with or without options), its body run through `reported`."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return invoke.task(reported(args[0]))
    return lambda body: invoke.task(*args, **kwargs)(reported(body))


def reported(body: Callable) -> Callable:
    """The task body, with every failure turned into invoke's Exit: one line and an exit code."""

    @functools.wraps(body)  # invoke reads the options from the body's signature (through __wrapped__)
    def run(*args, **kwargs):
        try:
            return body(*args, **kwargs)
        except (Exit, Failure):
            raise
        except RunbookError as exc:
            raise Exit(f"error: {exc}", code=exc.code) from None
        except KeyboardInterrupt:
            raise Exit("error: interrumpido", code=FAILED) from None
        except Exception as exc:
            if debugging():
                raise
            raise Exit(unexpected(exc), code=FAILED) from None

    run.reports_errors = True  # what tests/unit/test_errors.py looks for on every task
    return run


def unexpected(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else "sin mensaje"
    return (f"error inesperado ({type(exc).__name__}: {first}); es un fallo de runbook: "
            f"repite con {DEBUG_ENV}=1 para ver la traza y comunícalo")


def debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")
