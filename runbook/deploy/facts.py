"""What deploy needs to know about a node, asked in ONE round trip.

Each SSH command costs a round trip (~50 ms on the lab, more on a real WAN),
so the state of every managed file, every guard's exit status, every step's
`when` path and the VIP are asked together through the fact runner
(runbook/facts/), then read into `Facts`, the pure input of diff.py. The
module is pure except for `gather` and `fetch_contents`, which only need
something with invoke's `run()` (deploy's Shell, a local Context).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..facts.base import Fact, FactError, Probe, read
from ..facts.command import Command
from ..facts.files import FileContent, FileFact, FileState, PathExists
from ..facts.net import Ipv4Addresses, vip_held
from ..facts.runner import gather as gather_facts
from ..plan.steps import FileAction, Plan, PlannedStep, RunAction

__all__ = ["Facts", "FactError", "FactsQuery", "FileFact", "fetch_contents", "gather", "query_for"]


@dataclass(frozen=True)
class FactsQuery:
    """The questions to ask one node, deduplicated, in a stable order."""

    files: tuple[str, ...] = ()
    guards: tuple[str, ...] = ()
    exists: tuple[str, ...] = ()
    vip: str | None = None

    @classmethod
    def build(
        cls,
        files: Iterable[str] = (),
        guards: Iterable[str] = (),
        exists: Iterable[str] = (),
        vip: str | None = None,
    ) -> FactsQuery:
        return cls(
            files=tuple(dict.fromkeys(files)),
            guards=tuple(dict.fromkeys(guards)),
            exists=tuple(dict.fromkeys(exists)),
            vip=vip,
        )

    def facts(self) -> list:
        return [
            *(FileState(p) for p in self.files),
            *(Command(g) for g in self.guards),
            *(PathExists(p) for p in self.exists),
            *([Ipv4Addresses()] if self.vip is not None else []),
        ]


@dataclass(frozen=True)
class Facts:
    files: dict[str, FileFact] = field(default_factory=dict)
    guards: dict[str, int] = field(default_factory=dict)  # guard command -> exit status
    exists: dict[str, bool] = field(default_factory=dict)
    holds_vip: bool | None = None  # None: not asked
    answers: dict[str, Probe] = field(default_factory=dict)  # every raw answer, extra facts' too


def query_for(plan: Plan, node: str, steps: Iterable[PlannedStep] | None = None) -> FactsQuery:
    """Everything deploy needs to know about `node` for these steps (default: all)."""
    steps = list(plan.steps if steps is None else steps)
    actions: list[RunAction | FileAction] = [a for s in steps for a in s.actions[node]]
    return FactsQuery.build(
        files=[a.path for a in actions if isinstance(a, FileAction)],
        guards=[a.unless for a in actions if a.unless],
        exists=[s.when_file_exists for s in steps if s.when_file_exists],
        vip=str(plan.site.vip),
    )


def read_facts(probes: dict[str, Probe], query: FactsQuery) -> Facts:
    """Deploy's view of a round trip's answers; raises FactError naming what is missing or unreadable."""
    return Facts(
        files={p: read(probes, FileState(p)) for p in query.files},
        guards={g: read(probes, Command(g)).exit_code for g in query.guards},
        exists={p: read(probes, PathExists(p)) for p in query.exists},
        holds_vip=None if query.vip is None else vip_held(read(probes, Ipv4Addresses()), query.vip),
        answers=probes,
    )


def opening_facts(query: FactsQuery, also: Iterable[Fact] = ()) -> list[Fact]:
    """What one round trip asks for this query, `also` riding along (health's facts)."""
    return [*query.facts(), *also]


def gather(ctx, query: FactsQuery, also: Iterable[Fact] = ()) -> Facts:
    """Ask the node (one `run`) and read its answers; `also` rides along (health's facts)."""
    return read_facts(gather_facts(ctx, opening_facts(query, also)), query)


def fetch_contents(shell, paths: list[str]) -> dict[str, bytes | None]:
    """The current content of files (for --check's diffs), in one round trip on deploy's Shell.

    The answer is withheld from the transcript (see Shell.withhold_output).
    """
    if not paths:
        return {}
    shell.withhold_output = True
    try:
        probes = gather_facts(shell, [FileContent(p) for p in paths])
    finally:
        shell.withhold_output = False
    found = {p: read(probes, FileContent(p)) for p in paths}
    return {p: None if text is None else text.encode("utf-8") for p, text in found.items()}
