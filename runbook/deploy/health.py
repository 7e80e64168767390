"""After a deploy: wait until the cluster has settled, then say what is still wrong.

Restarting a service or bringing an interface back up leaves a few seconds
of transition: keepalived's track script must rise again, VRRP must give the
VIP back to the node the priorities choose, HAProxy must see its backends
again. Deploy waits for the very checks `verify` runs for those things, so
that `./rb verify` right after `./rb deploy` passes: the units, keepalived's
own view of its track script, HAProxy's view of the backends (one round trip
per node per poll, the same framed probes verify sends) and, when every node
takes part, the VIP on exactly one node and on the expected one.

A moment when every check passes is not enough: right after a restart the
checks can all pass before keepalived has noticed anything (its track
script needs `fall` failures, a peer needs three missed adverts), and the
VIP can move a second later; `verify` run then found no node holding it.
So the wait ends only when every check has passed on consecutive looks
spanning a stable window: longer than a VRRP master's timeout (three
adverts plus the skew) and a track script's `fall 2` at `interval 1`.

What is still failing when it ends is reported, never hidden. A check whose
`outside()` gives a reason (a backend down: another machine) is drift that
the procedure does not own: deploy says it cannot fix it and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from ..checks import ClientFacts, ClusterFacts, NodeFacts, Status, build_registry
from ..checks.cluster import VipExpected, VipUnique
from ..checks.node import BackendsUp, KeepalivedTracking, UnitActiveEnabled
from ..facts.base import Fact, FactError
from ..facts.net import Ipv4Addresses
from ..facts.runner import gather
from ..plan.steps import Plan

NODE_CHECKS = (UnitActiveEnabled, KeepalivedTracking, BackendsUp)
CLUSTER_CHECKS = (VipUnique, VipExpected)
# Longest transition seen on the lab: a backend DOWN in HAProxy's view needs
# `rise 2` checks 2 s apart; VRRP preemption needs about 3 adverts. Normally
# the wait ends after a few seconds, as soon as every check passes.
SETTLE_S = 20
POLL_S = 0.5


def stable_window(advert_int: float) -> float:
    """How long every check must keep passing: a VRRP master-down timeout (3 adverts + skew), at least 3 s."""
    return max(3.0, 3 * advert_int + 1.0)


@dataclass(frozen=True)
class Problem:
    """A check still failing after deploy: Spanish detail, and why deploy cannot fix it (if so)."""

    node: str | None  # None: the cluster
    check: str
    title: str
    detail: str
    step: str | None
    outside: str | None = None

    @property
    def deploy_can_fix(self) -> bool:
        return self.outside is None

    def message(self) -> str:
        where = self.node or "clúster"
        text = f"{where} · {self.check} ({self.title}): {self.detail}"
        if self.outside:
            return f"{text}. Deploy no puede arreglarlo: {self.outside}"
        return f"{text} (sigue fallando tras el despliegue)"

    def to_json(self) -> dict:
        return {**asdict(self), "deploy_can_fix": self.deploy_can_fix, "message": self.message()}


class Health:
    """The checks deploy looks at after its work, built from the plan like verify's."""

    def __init__(self, plan: Plan, secrets: dict[str, str]):
        registry = build_registry(plan, secrets)
        self.node_checks = [c for c in registry.node if isinstance(c, NODE_CHECKS)]
        self.cluster_checks = [c for c in registry.cluster if isinstance(c, CLUSTER_CHECKS)]
        self.node_names = plan.node_names

    def facts(self, node: str) -> list[Fact]:
        return [*(f for check in self.node_checks for f in check.facts(node)), Ipv4Addresses()]

    def gather(self, shell, node: str) -> NodeFacts:
        """One round trip on an open shell (deploy's connection); raises ActionError if it breaks.

        A node that answers nothing readable leaves every fact missing: each
        health check then reports the datum it could not get.
        """
        try:
            return NodeFacts(node, probes=gather(shell, self.facts(node)))
        except FactError:
            return NodeFacts(node)

    def problems(self, facts: dict[str, NodeFacts]) -> list[Problem]:
        """Failing checks for these nodes; cluster checks only when every node is there."""
        judged = [
            (name, check, check.evaluate(name, node_facts))
            for name, node_facts in facts.items()
            for check in self.node_checks
        ]
        if set(facts) == set(self.node_names):
            cluster = ClusterFacts(nodes=facts, client=ClientFacts(available=False, skipped=True))
            judged += [(None, check, check.evaluate(cluster)) for check in self.cluster_checks]
        return [
            Problem(name, check.id, check.title, outcome.detail, check.step, check.outside())
            for name, check, outcome in judged
            if outcome.status in (Status.FAILED, Status.ERROR)
        ]


def settle(
    health: Health,
    look: Callable[[], dict[str, NodeFacts]],
    wait: bool,
    waiting: Callable[[], None] = lambda: None,
    stable_s: float = 3.0,
) -> list[Problem]:
    """Problems left once every check has passed for `stable_s` in a row, or SETTLE_S ends.

    Without `wait` (a run that changed nothing) one look decides, at once,
    unless it finds a problem deploy owns: then the cluster is still moving by
    itself (a crashed keepalived that systemd is restarting, the VIP going back
    to its node by preemption: soak seed 303), and deploy waits for it as after
    a change. A problem seen during the window starts the window again; when
    SETTLE_S ends, the last look's problems are what is reported.
    """
    deadline = time.monotonic() + SETTLE_S
    calm_since: float | None = None
    first = True
    while True:
        problems = health.problems(look())
        if first and not wait and any(p.deploy_can_fix for p in problems):
            wait = True
        first = False
        now = time.monotonic()
        if problems:
            calm_since = None
        elif calm_since is None:
            calm_since = now
        if not wait or now > deadline or (calm_since is not None and now - calm_since >= stable_s):
            return problems
        waiting()
        time.sleep(POLL_S)
