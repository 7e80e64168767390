"""`invoke verify`: run every check of the site on its nodes and from the lab client.

gather.py collects facts (one SSH round trip per node, in parallel), the
registry in runbook/checks turns them into results, report.py shows them.

The names below are loaded on first use (PEP 562): importing the package,
or its standard-library-only client_probe, must not pull in the models,
the checks and rich, so that `verify` can start its round trips first
(runbook/ahead.py).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DEFAULT_SITE_URL": "run",
    "FORMATS": "report",
    "Report": "run",
    "Result": "run",
    "print_table": "report",
    "render": "report",
    "run_verify": "run",
    "summary_line": "report",
    "table_console": "report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
