"""Run one drill scenario under load: fault, restore, verify, figures.

Timeline of a scenario lasting D seconds of load (the load stops by itself):

    0 ── load starts ── 0.15·D fault ── 0.65·D restore ── D load ends ── verify

A scenario whose fault needs longer to play out (backend-down: HAProxy's
health checks) holds it `hold_s` instead, and its load lasts that much longer.

The cluster must be healthy (verify passes) before a scenario starts; after
the restore the drill waits until verify passes again (`verify_after`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from ..checks import Status
from ..plan.steps import Plan
from ..verify import run_verify
from . import analysis, haproxy_events
from .load import LoadRun, LoadSpec
from .scenarios import Cluster, DrillError, Scenario

FAULT_AT, RESTORE_AT = 0.15, 0.65  # fractions of the load's duration
HEALTHY_TIMEOUT_S = 90  # backends need `rise 2` checks, VRRP 3 × advert_int, after a restore


def failing_checks(plan: Plan) -> list[str]:
    report = run_verify(plan)
    bad = [f"{r.check}@{r.where}" for r in report.results if r.status in (Status.FAILED, Status.ERROR)]
    return bad + [f"inaccesible@{n}" for n in report.unreachable]


def wait_healthy(plan: Plan, timeout: float = HEALTHY_TIMEOUT_S) -> list[str]:
    """Poll verify until it passes; return what still fails at the deadline ([] = healthy)."""
    deadline = time.monotonic() + timeout
    while True:
        bad = failing_checks(plan)
        if not bad or time.monotonic() > deadline:
            return bad
        time.sleep(1)


def _sleep_until(when: float) -> None:
    delay = when - time.time()
    if delay > 0:
        time.sleep(delay)


def run_scenario(plan: Plan, cluster: Cluster, scenario: Scenario, spec: LoadSpec,
                 log: Callable[[str], None] = lambda m: None) -> dict:
    site = plan.site
    bad = wait_healthy(plan)
    if bad:
        raise DrillError(f"el clúster no está sano antes de «{scenario.name}» "
                         f"(falla: {', '.join(bad[:5])}); ejecuta ./rb deploy y ./rb verify")
    holders = cluster.holders()
    if len(holders) != 1:
        where = ", ".join(holders) or "ningún nodo"
        raise DrillError(f"la IP virtual debería estar en un solo nodo y está en: {where}")
    holder = holders[0]
    fault_at = FAULT_AT * spec.duration
    hold = max((RESTORE_AT - FAULT_AT) * spec.duration, scenario.hold_s)
    spec = replace(spec, duration=round(fault_at + hold + (1 - RESTORE_AT) * spec.duration, 3))
    extra: dict = {}
    with cluster.sampler(spec.duration + 30) as sampler:
        load = LoadRun(site, spec, real_site_confirmed=site.lab is None, mode=scenario.mode)
        launched = time.time()
        try:
            _sleep_until(launched + fault_at)
            log(f"{scenario.name}: fallo en {holder}: {scenario.fault_text}")
            fault = scenario.fault(cluster, holder)
            if scenario.name == "keepalived-crash":
                # The state this fault leaves behind (the VIP on both nodes) is
                # what verify must flag: record what it says before the restore.
                _sleep_until(fault + 0.4 * hold)
                extra["verify_during"] = failing_checks(plan)
            _sleep_until(launched + fault_at + hold)
            log(f"{scenario.name}: restableciendo")
            restore = scenario.restore(cluster, holder)
            records = load.finish()
        except BaseException:
            load.abort()
            raise
    log(f"{scenario.name}: esperando a que verify pase")
    still_bad = wait_healthy(plan)
    if scenario.backend:
        # Read after verify passed: HAProxy has marked the backend UP again by then.
        events = cluster.haproxy_transitions(holder, scenario.mode, fault - 5)
        extra.update(haproxy_events.marked(events, fault, restore))
    return summarize(scenario, records, sampler, fault, restore, holder, still_bad, extra)


def summarize(scenario: Scenario, records: list[dict], sampler, fault: float, restore: float,
              holder: str, still_bad: list[str], extra: dict) -> dict:
    samples = sampler.samples
    start = min((r["t"] for r in records), default=fault)
    last = max((r["t"] for r in records), default=fault)
    failed = [r for r in records if not r["ok"]]
    moved_s, new_holder = analysis.vip_moved(samples, fault, holder)
    fault_failures = analysis.fault_failures(records, fault, restore)
    takeover = analysis.takeover(records, fault, restore)
    return {
        "name": scenario.name,
        "title": scenario.title,
        "fault": scenario.fault_text,
        "service_mode": scenario.mode,
        "requests": len(records),
        "failed": len(failed),
        "failed_pct": round(100 * len(failed) / len(records), 3) if records else 0.0,
        "rate_rps": round(len(records) / (last - start), 1) if last > start else 0.0,
        "longest_error_window_s": _round(analysis.longest_error_window(records)),
        "takeover_s": _round(takeover),
        "vip_moved_s": _round(moved_s),
        "verify_after": "failed" if still_bad else "ok",
        "verify_after_failures": still_bad,
        "holder_before": holder,
        "new_holder": new_holder,
        "failed_during_fault": len(fault_failures),
        "failed_after_restore": sum(1 for r in failed if r["t"] >= restore),
        "last_error_after_fault_s": _round(max((r["t"] for r in fault_failures), default=fault) - fault)
        if fault_failures else None,
        "last_error_s": _round(max(r["t"] for r in failed) - fault) if failed else None,
        "two_holders_s": _round(analysis.two_holders_s(samples)),
        "failed_at_vip_change": analysis.failed_at_vip_change(records, samples),
        **{k: _round(v) for k, v in analysis.added_latency(records, fault, restore).items()},
        "errors": dict(Counter(r.get("error") or "?" for r in failed).most_common()),
        "sample_hz": round(sampler.rate_hz, 1),
        "fault_at_s": round(fault - start, 3),
        "restore_at_s": round(restore - start, 3),
        "vip_timeline": _holder_changes(samples, start),
        "timeline": analysis.timeline(records, start),
        **extra,
    }


def _holder_changes(samples, start: float) -> list[dict]:
    changes, previous = [], None
    for s in samples:
        if s.holders != previous:
            changes.append({"t": round(s.t - start, 3), "holders": list(s.holders)})
            previous = s.holders
    return changes


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def run_drill(plan: Plan, names: list[str], spec: LoadSpec,
              log: Callable[[str], None] = lambda m: None, real_site_confirmed: bool = False,
              repeat: int = 1) -> dict:
    """Every named scenario in turn, `repeat` rounds, each starting from (and ending in) a healthy cluster.

    Rounds rather than one scenario N times in a row: a slow minute of a shared machine
    then touches one run of several scenarios, not every run of one. With more than one
    round, each scenario's figures are the median of its runs (`repeats.combine`).
    A site that is not the lab runs only when the caller confirms it (--yes), and never
    the faults only the lab can undo.
    """
    from .repeats import combine
    from .scenarios import LAB_ONLY, SCENARIOS

    if plan.site.lab is None:
        if not real_site_confirmed:
            raise DrillError(f"el sitio {plan.site.name} no es un laboratorio: "
                             "hace falta confirmarlo (--yes)")
        refused = [n for n in names if n in LAB_ONLY]
        if refused:
            raise DrillError(f"{', '.join(refused)} solo se ejecuta en el laboratorio")
    if plan.site.lab is not None:
        from ..lab.layout import layout

        cluster = Cluster(site=plan.site, lay=layout(plan.site))
    else:  # a real site: confirmed by the caller (--yes); faults and sampling over SSH
        from .remote import RemoteCluster

        cluster = RemoteCluster(plan.site)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    try:
        for round_ in range(1, repeat + 1):
            for name in names:
                which = f" (ronda {round_} de {repeat})" if repeat > 1 else ""
                log(f"escenario {name}{which}: {spec.rate:g} peticiones/s durante {spec.duration:g} s")
                runs[name].append(run_scenario(plan, cluster, SCENARIOS[name], spec, log))
    finally:
        getattr(cluster, "close", lambda: None)()
    return {
        "site": plan.site.name,
        "rate": spec.rate,
        "duration_s": spec.duration,
        "request_timeout_s": spec.timeout,
        "repeat": repeat,
        "scenarios": [combine(runs[name]) for name in names],
    }
