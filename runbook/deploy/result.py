"""What a deploy was asked to do and what it did: options, outcomes, recap, exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..vocabulary import ACTION_STATUSES, Status
from .health import Problem
from .outcome import ActionResult


@dataclass(frozen=True)
class DeployOptions:
    node: str | None = None  # only this node
    step: str | None = None  # only this step
    check: bool = False  # dry run: show what would change, change nothing


@dataclass
class DeployResult:
    site: str
    check: bool
    nodes: list[str]
    outcomes: list[ActionResult] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)  # node -> Spanish reason
    errors: list[str] = field(default_factory=list)  # "nodo · paso X: mensaje"
    failed_nodes: dict[str, str] = field(default_factory=dict)  # node -> what failed
    stopped: dict[str, str] = field(default_factory=dict)  # node -> why a rollout left it alone
    transcript: Path | None = None
    duration_s: float = 0.0
    unsettled: bool = False  # the VIP was not on exactly one node after a reload
    remaining: list[Problem] = field(default_factory=list)  # checks still failing after the deploy

    def recap(self) -> dict[str, dict[str, int]]:
        table = {name: dict.fromkeys((s.value for s in ACTION_STATUSES), 0) for name in self.nodes}
        for o in self.outcomes:
            table[o.node][o.status.value] += 1
        return table

    @property
    def failed(self) -> bool:
        return (
            bool(self.failed_nodes) or self.unsettled or bool(self.remaining)
            or any(o.status is Status.FAILED for o in self.outcomes)
        )

    @property
    def exit_code(self) -> int:
        """1 if anything failed, else 2 if a node was unreachable, else 0 (--check too)."""
        if self.failed:
            return 1
        return 2 if self.unreachable else 0

    def to_json(self) -> dict:
        return {
            "site": self.site,
            "check": self.check,
            "exit_code": self.exit_code,
            "duration_s": round(self.duration_s, 3),
            "recap": self.recap(),
            "unreachable": self.unreachable,
            "failed": self.failed_nodes,
            "stopped": self.stopped,
            "errors": self.errors,
            "remaining": [p.to_json() for p in self.remaining],
            "outcomes": [o.to_json() for o in self.outcomes],
            "transcript": str(self.transcript) if self.transcript else None,
        }
