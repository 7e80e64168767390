"""What every task shares: loading data, exit codes, one way to refuse.

Errors are not caught here: every failure of the package is a RunbookError
that carries its exit code, and program.py turns it into one Spanish line.
Imports of the models and the planner wait until a task needs them, so
listing or misusing tasks stays fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ..errors import BAD_INPUT, FAILED, OK, RunbookError

if TYPE_CHECKING:
    from ..plan.steps import Plan

__all__ = ["BAD_INPUT", "FAILED", "OK", "check_node", "fail", "out", "plan_or_exit"]


def fail(message: str, code: int = BAD_INPUT) -> RunbookError:
    """An error a task raises: one Spanish line on stderr, no traceback, this exit code."""
    return RunbookError(message, code=code)


def plan_or_exit(site_name: str | None) -> Plan:
    """Load and plan a site; invalid data (DataError, PlanError) ends the task with exit code 2.

    Called before any connection is opened, so bad data never touches a node.
    A plan built before from the very same files is read from the cache
    (plan_cache.py): no YAML, pydantic validation or Jinja2 to redo.
    """
    from ..plan.cache import cached_plan

    def build() -> Plan:
        from ..data.load import load_procedure, load_site
        from ..plan.build import build_plan

        # `--site ''` names no site: an error, not the default one.
        site = load_site() if site_name is None else load_site(site_name)
        return build_plan(site, load_procedure())

    return cached_plan(site_name, build)


def check_node(plan: Plan, node: str | None) -> None:
    if node is not None and node not in plan.node_names:
        known = ", ".join(plan.node_names)
        raise fail(f"el sitio {plan.site.name!r} no tiene el nodo {node!r} (nodos: {known})")


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
