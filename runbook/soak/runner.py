"""A soak: rounds of faults in a row on the lab, each repaired and judged; the results document.

Each round starts from a healthy cluster: verify green (waiting as the drill
does, up to its HEALTHY_TIMEOUT_S). A cluster a round left unhealthy gets one
more deploy before the next round (recorded as `recovery_deploy` on that
next round); if even that does not bring verify back, the soak stops.

The document is written to its file after every round, so a soak cut short
keeps what it measured.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..drill.runner import wait_healthy
from ..drill.scenarios import Cluster, DrillError
from ..plan.steps import Plan
from .faults import catalogue
from .round import run_deploy, run_round


def results_path(state_dir: Path) -> Path:
    """Where a soak's results go by default: the lab's state dir, one file per run (UTC time)."""
    return state_dir / "soak" / f"soak-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"


def machine() -> dict:
    import os

    return {"host": platform.node(), "cpus": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version()}


def summary(rounds: list[dict]) -> dict:
    """Figures over the rounds: per fault, failed requests and the worst time until served again."""
    per_fault: dict[str, dict] = {}
    for r in rounds:
        f = per_fault.setdefault(r["fault"], {"rounds": 0, "failed": 0, "max_failed": 0,
                                              "max_served_again_s": 0.0, "broken": 0})
        f["rounds"] += 1
        f["failed"] += r["failed"]
        f["max_failed"] = max(f["max_failed"], r["failed"])
        if r["served_again_s"] is None:
            f["max_served_again_s"] = None
        elif f["max_served_again_s"] is not None:
            f["max_served_again_s"] = max(f["max_served_again_s"], r["served_again_s"])
        f["broken"] += bool(r["broken"])
    durations = [r["duration_s"] for r in rounds]
    return {
        "rounds": len(rounds),
        "broken_rounds": [r["round"] for r in rounds if r["broken"]],
        "failed": sum(r["failed"] for r in rounds),
        "round_s_mean": round(sum(durations) / len(durations), 1) if durations else None,
        "round_s_max": max(durations, default=None),
        "per_fault": per_fault,
    }


def run_soak(plan: Plan, cluster: Cluster, secrets: dict[str, str], faults: Sequence[str], seed: int | None,
             rate: float, save: Path, log: Callable[[str], None] = lambda m: None) -> dict:
    """Every fault of `faults` in turn (already picked, from `seed` or given), each judged."""
    known = catalogue()
    doc = {"kind": "soak", "site": plan.site.name, "seed": seed, "rate": rate,
           "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
           "faults": list(faults), "rounds": [], "summary": summary([])}
    save.parent.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(faults, start=1):
        recovery = None
        bad = wait_healthy(plan)
        if bad:
            log(f"ronda {index}: el clúster no está sano ({', '.join(bad[:4])}): deploy antes de seguir")
            recovery = run_deploy(plan, secrets)
            bad = wait_healthy(plan)
            if bad:
                _write(save, doc)
                raise DrillError(f"tras la ronda {index - 1} el clúster no vuelve a estar sano ni con "
                                 f"otro deploy (falla: {', '.join(bad[:5])}); resultados en {save}")
        record = run_round(plan, cluster, secrets, known[name], index, rate, log)
        record["recovery_deploy"] = recovery
        doc["rounds"].append(record)
        doc["summary"] = summary(doc["rounds"])
        _write(save, doc)
        verdict = "rompe las reglas: " + "; ".join(record["broken"]) if record["broken"] else "bien"
        log(f"ronda {index}: {name}: {record['failed']} fallidas, {record['duration_s']:.0f} s, {verdict}")
    return doc


def _write(path: Path, doc: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
