"""Run verify: gather every node and the lab client in parallel, evaluate the registry."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..checks import ClientFacts, ClusterFacts, Kind, NodeFacts, Outcome, Scope, Status, build_registry
from ..checks.base import Check, ClusterCheck, NodeCheck
from ..plan.secrets import SecretError, read_secrets
from ..plan.steps import Plan
from .gather import gather_client, gather_node

# Where a failure's step is explained: the installation page of the built site
# (mkdocs.yml: use_directory_urls false), each step anchored by its id.
DEFAULT_SITE_URL = "site/instalacion.html"
SITE_URL_ENV = "RUNBOOK_SITE_URL"


@dataclass(frozen=True)
class Result:
    check: str
    title: str
    node: str | None  # None for a cluster check
    kind: Kind  # a step's documented check, or verify's own (node state, cluster)
    status: Status
    detail: str
    step: str | None
    step_title: str | None
    link: str | None
    diff: str = ""
    outside: str | None = None  # why deploy cannot repair this check's failure (None: deploy can)

    @property
    def where(self) -> str:
        return self.node or Scope.CLUSTER.spanish


@dataclass
class Report:
    site: str
    results: list[Result]
    unreachable: dict[str, str] = field(default_factory=dict)  # node -> Spanish message
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # gathering per node / client, seconds

    @property
    def exit_code(self) -> int:
        """0 all passed, 1 a failure or drift, 2 a node that cannot be reached."""
        if self.unreachable:
            return 2
        if any(r.status in (Status.FAILED, Status.ERROR) for r in self.results):
            return 1
        return 0

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    def failures(self) -> list[Result]:
        return [r for r in self.results if r.status in (Status.FAILED, Status.ERROR)]


def step_link(site_url: str, step: str | None) -> str | None:
    return f"{site_url}#{step}" if step else None


def run_verify(plan: Plan, node: str | None = None, site_url: str | None = None) -> Report:
    started = time.monotonic()
    site = plan.site
    site_url = site_url or os.environ.get(SITE_URL_ENV) or DEFAULT_SITE_URL
    try:
        secrets, secret_error = read_secrets(site), None
    except SecretError as exc:
        secrets, secret_error = {}, str(exc)
    registry = build_registry(plan, secrets, secret_error)
    names = [node] if node else list(plan.node_names)
    whole_site = node is None

    timings: dict[str, float] = {}

    def timed(label: str, fn, *args):
        begun = time.monotonic()
        try:
            return fn(*args)
        finally:
            timings[label] = round(time.monotonic() - begun, 3)

    with ThreadPoolExecutor(max_workers=len(names) + 1) as pool:
        node_jobs = {n: pool.submit(timed, n, gather_node, site, n, registry.facts(n)) for n in names}
        client_job = pool.submit(timed, "cliente", gather_client, site) if whole_site else None
        facts = {n: job.result() for n, job in node_jobs.items()}
        client = client_job.result() if client_job else ClientFacts(available=False, skipped=True)

    titles = {s.id: s.title for s in plan.steps}

    def result(check: Check, where: str | None, outcome: Outcome) -> Result:
        return Result(
            check=check.id,
            title=check.title,
            node=where,
            kind=check.kind,
            status=outcome.status,
            detail=outcome.detail,
            step=check.step,
            step_title=titles.get(check.step) if check.step else None,
            link=step_link(site_url, check.step),
            diff=outcome.diff,
            outside=check.outside(),
        )

    results: list[Result] = []
    for name in names:
        node_facts = facts[name]
        for check in registry.node_checks():
            results.append(result(check, name, _evaluate_node(check, name, node_facts)))
    cluster_facts = ClusterFacts(nodes=facts, client=client)
    for check in registry.cluster:
        if whole_site:
            outcome = _evaluate_cluster(check, cluster_facts)
        else:
            outcome = Outcome.skip(f"solo se verificó el nodo {node}")
        results.append(result(check, None, outcome))
    unreachable = {n: f.unreachable for n, f in facts.items() if f.unreachable}
    return Report(site=site.name, results=results, unreachable=unreachable,
                  seconds=time.monotonic() - started, timings=timings)


def _evaluate_node(check: NodeCheck, node: str, facts: NodeFacts) -> Outcome:
    if facts.unreachable:
        return Outcome.error("sin datos: no se pudo conectar con el nodo (motivo al final del informe)")
    try:
        return check.evaluate(node, facts)
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
        return Outcome.error(f"la comprobación no pudo evaluarse: {type(exc).__name__}: {exc}")


def _evaluate_cluster(check: ClusterCheck, facts: ClusterFacts) -> Outcome:
    try:
        return check.evaluate(facts)
    except Exception as exc:  # noqa: BLE001
        return Outcome.error(f"la comprobación no pudo evaluarse: {type(exc).__name__}: {exc}")
