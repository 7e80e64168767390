"""`python -m runbook.cli ARGS`: what `./rb ARGS` runs (invoke with Spanish misuse messages)."""

from .program import main

main()
