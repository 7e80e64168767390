"""What every task shares: loading data with clean errors, exit codes."""

from __future__ import annotations

import sys

from invoke.exceptions import Exit

from ..load import DataError, load_procedure, load_site
from ..plan import Plan, PlanError, build_plan

# Exit codes mean the same in every task.
OK, FAILED, BAD_INPUT = 0, 1, 2


def fail(message: str, code: int = BAD_INPUT) -> Exit:
    """An Exit that prints one Spanish line on stderr and no traceback."""
    return Exit(f"error: {message}", code=code)


def plan_or_exit(site_name: str | None) -> Plan:
    """Load and plan a site; invalid data ends the task with exit code 2.

    Called before any connection is opened, so bad data never touches a node.
    """
    try:
        # `--site ''` names no site: an error, not the default one.
        site = load_site() if site_name is None else load_site(site_name)
        return build_plan(site, load_procedure())
    except (DataError, PlanError) as exc:
        raise fail(str(exc)) from None


def check_node(plan: Plan, node: str | None) -> None:
    if node is not None and node not in plan.node_names:
        known = ", ".join(plan.node_names)
        raise fail(f"el sitio {plan.site.name!r} no tiene el nodo {node!r} (nodos: {known})")


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
