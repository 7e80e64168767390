"""`python -m runbook.cli ARGS`: what `./rb ARGS` runs (invoke with Spanish misuse messages)."""

from .lazy_mock import invoke_without_mock

invoke_without_mock()  # before anything imports invoke: see lazy_mock.py

from .program import main  # noqa: E402 - after the stand-in above

main()
