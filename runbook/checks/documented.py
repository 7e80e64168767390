"""The documented "Comprobación" checks of the plan, run for real on the node.

These are the very `Check` objects the site renders: verify runs each one's
command (stdout and stderr merged, as a person at the terminal sees them)
and judges the output with `Check.passes`, so the page and verify cannot
disagree about what a step's check is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..facts.base import FactError
from ..facts.command import Command
from ..facts.files import PathExists
from ..plan.steps import Check
from ..vocabulary import Kind
from .base import NodeCheck, NodeFacts, Outcome

MAX_SHOWN = 300  # characters of command output quoted in a failure


def check_fact(check_id: str, check: Check) -> Command:
    """Asked by its id: two steps may document the same command, each judged on its own."""
    return Command(check.command, name=f"comprobación:{check_id}")


@dataclass
class DocumentedCheck(NodeCheck):
    """A check the procedure documents in a step, run on each node as the site shows it."""

    kind = Kind.DOCUMENTED
    checks: dict[str, Check]  # node -> that node's rendered check
    when_file_exists: str | None = None
    redact: Callable[[str], str] = str
    checks_only: bool = False  # its step changes nothing: deploy cannot repair what it finds

    def outside(self) -> str | None:
        if not self.checks_only:
            return None
        return ("este paso solo comprueba, no cambia nada en los nodos: lo que encuentra está fuera "
                "de ellos (por ejemplo, un servidor que no contesta)")

    def facts(self, node: str) -> list:
        facts = [check_fact(self.id, self.checks[node])]
        if self.when_file_exists:
            facts.append(PathExists(self.when_file_exists))
        return facts

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        check = self.checks[node]
        try:
            if self.when_file_exists and not facts.value(PathExists(self.when_file_exists)):
                return Outcome.skip(f"no existe {self.when_file_exists}: el paso no se aplica en este nodo")
            probe = facts.value(check_fact(self.id, check))
        except FactError as exc:
            return Outcome.error(str(exc))
        output = self.redact(probe.output.strip("\n"))
        if check.passes(probe.exit_code, probe.output):
            # Short output says more than the description ("1", "active ⏎ active"); long
            # output (ss, haproxy -v) would bury it, so the expectation is shown instead.
            shown = _quote(output)
            return Outcome.ok(shown if shown and len(shown) <= 80 else check.description)
        # A long listing: what differs says more than its first characters (but no output is no output).
        same_code = probe.exit_code == check.exit_code
        difference = check.output_difference(probe.output) if same_code and output else None
        if difference is not None:
            return Outcome.fail(f"se esperaba: {check.description} Diferencia: {self.redact(difference)}")
        return Outcome.fail(
            f"se esperaba: {check.description} Se obtuvo (código {probe.exit_code}): "
            + (_quote(output) or "(sin salida)")
        )


def _quote(output: str) -> str:
    one_line = " ⏎ ".join(line.strip() for line in output.splitlines() if line.strip())
    return one_line if len(one_line) <= MAX_SHOWN else one_line[: MAX_SHOWN - 1] + "…"
