"""The documented "Comprobación" checks of the plan, run for real on the node.

These are the very `Check` objects the site renders: verify runs each one's
command (stdout and stderr merged, as a person at the terminal sees them)
and judges the output with `Check.passes`, so the page and verify cannot
disagree about what a step's check is.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from ..plan import Check
from ..vocabulary import Kind
from .base import NodeCheck, NodeFacts, Outcome, missing_probe

MAX_SHOWN = 300  # characters of command output quoted in a failure


def check_probe(check_id: str) -> str:
    return f"comprobación:{check_id}"


def exists_probe(path: str) -> str:
    return f"existe:{path}"


@dataclass
class DocumentedCheck(NodeCheck):
    kind = Kind.DOCUMENTED
    id: str
    title: str
    step: str | None
    checks: dict[str, Check]  # node -> that node's rendered check
    when_file_exists: str | None = None
    redact: Callable[[str], str] = str

    def probes(self, node: str) -> dict[str, str]:
        probes = {check_probe(self.id): self.checks[node].command}
        if self.when_file_exists:
            probes[exists_probe(self.when_file_exists)] = f"test -e {shlex.quote(self.when_file_exists)}"
        return probes

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        check = self.checks[node]
        if self.when_file_exists:
            exists = facts.probe(exists_probe(self.when_file_exists))
            if exists is None:
                return missing_probe(self.when_file_exists)
            if exists.exit_code != 0:
                return Outcome.skip(f"no existe {self.when_file_exists}: el paso no se aplica en este nodo")
        probe = facts.probe(check_probe(self.id))
        if probe is None:
            return missing_probe(check.command)
        output = self.redact(probe.output.strip("\n"))
        if check.passes(probe.exit_code, probe.output):
            # Short output says more than the description ("1", "active ⏎ active"); long
            # output (ss, haproxy -v) would bury it, so the expectation is shown instead.
            shown = _quote(output)
            return Outcome.ok(shown if shown and len(shown) <= 80 else check.description)
        return Outcome.fail(
            f"se esperaba: {check.description} Se obtuvo (código {probe.exit_code}): "
            + (_quote(output) or "(sin salida)")
        )


def _quote(output: str) -> str:
    one_line = " ⏎ ".join(line.strip() for line in output.splitlines() if line.strip())
    return one_line if len(one_line) <= MAX_SHOWN else one_line[: MAX_SHOWN - 1] + "…"
