"""What every check shares: results, gathered facts and the two check kinds.

In the manner of goss resources and testinfra modules, a check is a small
typed object: it says which facts (runbook/facts/) it needs from a node, and
turns their values into a Result whose detail is a Spanish sentence a
person can act on. Checks never open connections themselves: facts are
gathered once per node (one SSH round trip) and once from the lab client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, TypeVar

from ..facts.base import Fact, Probe, read

T = TypeVar("T")

class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # the check could not be evaluated (node unreachable, probe broke)
    SKIPPED = "skipped"  # does not apply here (step condition, non-lab site)

    @property
    def spanish(self) -> str:
        return _SPANISH[self]


_SPANISH = {
    Status.PASSED: "correcta",
    Status.FAILED: "FALLA",
    Status.ERROR: "error",
    Status.SKIPPED: "omitida",
}


@dataclass(frozen=True)
class Outcome:
    """What a check decided: a status and a Spanish sentence explaining it."""

    status: Status
    detail: str
    diff: str = ""  # a unified diff node-vs-site, for file checks

    @classmethod
    def ok(cls, detail: str) -> Outcome:
        return cls(Status.PASSED, detail)

    @classmethod
    def fail(cls, detail: str, diff: str = "") -> Outcome:
        return cls(Status.FAILED, detail, diff)

    @classmethod
    def error(cls, detail: str) -> Outcome:
        return cls(Status.ERROR, detail)

    @classmethod
    def skip(cls, detail: str) -> Outcome:
        return cls(Status.SKIPPED, detail)


@dataclass
class NodeFacts:
    """Everything gathered from one node in its single round trip."""

    node: str
    probes: dict[str, Probe] = field(default_factory=dict)  # fact key -> raw answer
    unreachable: str | None = None  # Spanish reason when the node could not be reached

    def probe(self, name: str) -> Probe | None:
        return self.probes.get(name)

    def value(self, fact: Fact[T]) -> T:
        """The fact's typed value; raises FactsError (Spanish) when missing or unreadable."""
        return read(self.probes, fact)


@dataclass
class ClientFacts:
    """What the lab client saw: per service, per client address, the answers."""

    available: bool
    reason: str = ""  # Spanish: why client-side checks could not run
    skipped: bool = False  # True when they do not apply (a non-lab site), not a failure
    services: dict[str, list[dict]] = field(default_factory=dict)
    stats: dict[str, dict] = field(default_factory=dict)  # node -> {"status": int|None, "error": str}


@dataclass
class ClusterFacts:
    nodes: dict[str, NodeFacts]
    client: ClientFacts


class NodeCheck:
    """A check run on every node. Subclasses set id/title/step and implement both methods."""

    scope: Literal["nodo"] = "nodo"
    id: str
    title: str
    step: str | None

    def facts(self, node: str) -> list[Fact]:
        """The facts it reads on `node`; facts with equal keys are asked once."""
        return []

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        raise NotImplementedError

    def outside(self) -> str | None:
        """Why deploy cannot repair a failure of this check (Spanish), None when the procedure owns it."""
        return None


class ClusterCheck:
    """A check about the whole site: evaluated once, from every node's facts and the client's."""

    scope: Literal["clúster"] = "clúster"
    id: str
    title: str
    step: str | None

    def evaluate(self, facts: ClusterFacts) -> Outcome:
        raise NotImplementedError

    def outside(self) -> str | None:
        return None


