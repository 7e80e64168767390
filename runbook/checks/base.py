"""What every check shares: its documentation, results, gathered facts, the check kinds.

In the manner of goss resources and testinfra modules, a check is a small
typed object: it says which facts (runbook/facts/) it needs from a node, and
turns their values into a Result whose detail is a Spanish sentence a
person can act on. Checks never open connections themselves: facts are
gathered once per node (one SSH round trip) and once from the lab client.

Each check carries its own documentation (id, title, Spanish description,
the step it belongs to): the registry builds it from the plan, and the
site's verification page lists the registry's checks as they are, so the
page cannot describe a check verify does not run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

from ..facts.base import Fact, Probe, read
from ..vocabulary import Kind, Scope, Status

T = TypeVar("T")


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

    # Parsed values, per fact: several checks read the same fact (keepalived's
    # state is parsed for three of them on each node, ~2 ms each). Kept with the
    # probe they came from, so a probe replaced in `probes` is parsed again.
    _parsed: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def value(self, fact: Fact[T]) -> T:
        """The fact's typed value; raises FactError (Spanish) when missing or unreadable."""
        probe = self.probes.get(fact.key)
        try:
            seen = self._parsed.get(fact)
        except TypeError:  # a fact that cannot be a key: parsed each time
            return read(self.probes, fact)
        if seen is not None and seen[0] is probe:
            return seen[1]
        value = read(self.probes, fact)  # raises on a missing or unreadable answer: nothing kept
        self._parsed[fact] = (probe, value)
        return value


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
    """Every node's facts and the lab client's, for the checks about the whole site."""

    nodes: dict[str, NodeFacts]
    client: ClientFacts


@dataclass
class Check:
    """What every check says about itself; subclasses (dataclasses) add what they evaluate.

    `description` is keyword-only so that it can follow the subclass's own
    fields without forcing a default on them.
    """

    kind: ClassVar[Kind]
    id: str  # stable, shown in reports and as the anchor of its entry on the site
    title: str  # Spanish
    step: str | None  # the procedure step it relates to (its section on the site)
    description: str = field(kw_only=True)  # the expected outcome, in Spanish (shown on the site)

    @property
    def scope(self) -> Scope:
        return self.kind.scope

    def outside(self) -> str | None:
        """Why deploy cannot repair a failure of this check (Spanish), None when the procedure owns it."""
        return None


class NodeCheck(Check):
    """A check run on every node. Subclasses implement `probes` and `evaluate`."""

    kind = Kind.STATE

    def facts(self, node: str) -> list[Fact]:
        """The facts it reads on `node`; facts with equal keys are asked once."""
        return []

    def evaluate(self, node: str, facts: NodeFacts) -> Outcome:
        raise NotImplementedError


class ClusterCheck(Check):
    """A check about the whole site: evaluated once, from every node's facts and the client's."""

    kind = Kind.CLUSTER

    def evaluate(self, facts: ClusterFacts) -> Outcome:
        raise NotImplementedError


