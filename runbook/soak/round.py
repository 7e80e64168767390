"""One soak round on the lab: fault under load, the sysadmin's repair, verify, a second deploy.

Timeline (the drill's constant load runs from the start to the end, the VIP
sampled on the nodes' namespaces all along):

    load ── LEAD_S ── fault ── hold_s ── repair ── verify until green (≤ 10 s) ── deploy ── end

The repair is one deploy, or for a fault deploy does not own the drill
scenario's restore. The round starts from a healthy cluster (verify green);
what it records is judged by rules.broken_rules.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..checks import Status
from ..drill import analysis
from ..drill.load import LoadRun, LoadSpec
from ..drill.scenarios import Cluster, DrillError
from ..plan.steps import Plan
from ..verify import run_verify
from .faults import Fault, Target
from .rules import VERIFY_WITHIN_S, broken_rules, healthy_since, no_holder_seconds

LEAD_S = 1.0  # load before the fault
LOAD_CEILING_S = 600.0  # the load stops by itself after this, should a round hang
VERIFY_POLL_S = 0.5


def failing(report) -> list[str]:
    bad = [f"{r.check}@{r.where}" for r in report.results if r.status in (Status.FAILED, Status.ERROR)]
    return bad + [f"inaccesible@{n}" for n in report.unreachable]


def run_deploy(plan: Plan, secrets: dict[str, str]) -> dict:
    """One in-process deploy (what `./rb deploy` does), summed up for the round's record."""
    from ..deploy import DeployOptions, deploy

    result = deploy(plan, secrets, DeployOptions())
    changed = sum(row["changed"] for row in result.recap().values())
    return {"exit": result.exit_code, "changed": changed, "duration_s": round(result.duration_s, 3),
            "errors": result.errors, "remaining": [p.message() for p in result.remaining],
            "unsettled": result.unsettled}


def verify_until_green(plan: Plan, since: float) -> tuple[float | None, float | None, list[str]]:
    """Verify again and again while less than VERIFY_WITHIN_S have passed since `since`.

    Returns (seconds from `since` to the start of the first green verify, the epoch time it
    returned, what failed last); (None, None, failures) when none was green in time.
    """
    bad: list[str] = []
    while True:
        begun = time.time()
        if begun - since > VERIFY_WITHIN_S:
            return None, None, bad
        bad = failing(run_verify(plan))
        if not bad:
            return begun - since, time.time(), []
        time.sleep(VERIFY_POLL_S)


def pick_target(cluster: Cluster, plan: Plan) -> tuple[str, str]:
    holders = cluster.holders()
    if len(holders) != 1:
        where = ", ".join(holders) or "ninguno"
        raise DrillError(f"la IP virtual debería estar en un solo nodo y está en: {where}")
    holder = holders[0]
    peer = next(n for n in plan.node_names if n != holder)
    return holder, peer


def run_round(plan: Plan, cluster: Cluster, secrets: dict[str, str], fault: Fault, index: int,
              rate: float, log: Callable[[str], None] = lambda m: None) -> dict:
    holder, peer = pick_target(cluster, plan)
    target = Target(cluster, plan, holder, peer)
    hit = {"holder": holder, "peer": peer, "both": "todos"}[fault.role]
    spec = LoadSpec(rate=rate, duration=LOAD_CEILING_S)
    started = time.time()
    first = None
    with cluster.sampler(LOAD_CEILING_S) as sampler:
        load = LoadRun(plan.site, spec)
        try:
            time.sleep(LEAD_S)
            log(f"ronda {index}: {fault.name} en {hit}")
            fault_at = fault.apply(target)
            time.sleep(max(0.0, fault_at + fault.hold_s - time.time()))
            if fault.repair == "deploy":
                log(f"ronda {index}: deploy")
                first = run_deploy(plan, secrets)
            else:
                log(f"ronda {index}: restableciendo")
                fault.restore(target)
            repaired = time.time()
            green_s, green_end, verify_bad = verify_until_green(plan, repaired)
            healthy_at = healthy_since(first, repaired, green_end)
            log(f"ronda {index}: segundo deploy")
            second = run_deploy(plan, secrets)
            ended = time.time()
            records = load.stop()
        except BaseException:
            load.abort()
            raise
    samples = sampler.samples
    failed = [r for r in records if not r["ok"]]
    record = {
        "round": index,
        "fault": fault.name,
        "source": fault.source,
        "node": hit,
        "holder_before": holder,
        "repair": fault.repair,
        "requests": len(records),
        "failed": len(failed),
        "failed_after_repair": sum(1 for r in failed if r["t"] >= repaired),
        "served_again_s": _round(analysis.takeover(records, fault_at, ended)),
        "failed_at_vip_change": analysis.failed_at_vip_change(records, samples),
        "two_holders_s": _round(analysis.two_holders_s(samples)),
        "no_holder_s": _round(no_holder_seconds(samples, fault_at, ended)),
        "no_holder_after_healthy_s": _round(no_holder_seconds(samples, healthy_at, ended))
        if healthy_at is not None else None,
        "first_deploy": first,
        "verify_green_after_s": _round(green_s),
        "verify_failures": verify_bad,
        "second_deploy": second,
        "fault_at_s": round(fault_at - started, 3),
        "repair_at_s": round(repaired - started, 3),
        "duration_s": round(ended - started, 3),
        "holders_after": list(samples[-1].holders) if samples else [],
    }
    record["broken"] = broken_rules(record)
    return record


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
