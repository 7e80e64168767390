"""Export the plan as a self-contained Ansible project (`./rb export ansible`).

The plan is already a portable list of actions; this package writes it for
stock ansible-playbook, doing what deploy does with it (see actions.py for a
file or a command, plays.py for step order, rolling order and the VRRP wait,
secret_vars.py for secrets, connection.py for inventory and ssh). Pure except
for `write`, which only touches the output folder; nothing here connects to
a node or reads a secret.

    from runbook.export import export_ansible
    files = export_ansible(plan, Path("ansible-lab"))
"""

from __future__ import annotations

from pathlib import Path

from ..plan.steps import Plan
from .host_values import ExportError
from .project import MARKER, build, write


def export_ansible(plan: Plan, output: Path) -> list[str]:
    """Write the project to `output`; return the relative paths written, sorted."""
    files = build(plan)
    write(files, output)
    return sorted(files)


__all__ = ["MARKER", "ExportError", "build", "export_ansible"]
