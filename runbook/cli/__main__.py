"""`python -m runbook.cli ARGS`: what `./rb ARGS` runs (invoke with Spanish misuse messages)."""

from .lean_invoke import invoke_lean

invoke_lean()  # before anything imports invoke: see lean_invoke.py

from .program import main  # noqa: E402 - after the stand-ins above

main()
