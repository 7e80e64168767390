"""How long the lab takes: warm `lab.up` (cached base), cold (first build), down.

Run as root from the repository:

    .venv/bin/python benchmarks/bench_lab.py            # warm, 5 runs
    .venv/bin/python benchmarks/bench_lab.py --cold     # also a cold build

`lab.up` returns only once every node answers a command over SSH, so its
duration is "until all nodes answer SSH". Results go to
benchmarks/results/lab-<time>.json (gitignored). The lab is left down.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import time

from results_io import write_results

from runbook import lab
from runbook.data.load import load_site
from runbook.lab import base

WARM_BUDGET, COLD_BUDGET = 15.0, 180.0


def timed(func, *args) -> float:
    started = time.monotonic()
    func(*args)
    return round(time.monotonic() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="warm runs (default 5)")
    parser.add_argument("--cold", action="store_true",
                        help="delete the cached base first and time its rebuild")
    opts = parser.parse_args()
    site = load_site("lab")
    result: dict = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"kernel": platform.release(), "cpus": __import__("os").cpu_count()},
        "base": str(base.base_dir()),
        "nodes": [n.name for n in site.nodes],
    }
    lab.down(site)
    if opts.cold:
        shutil.rmtree(base.base_dir(), ignore_errors=True)
        result["cold_up_s"] = timed(lab.up, site)
        result["cold_within_budget"] = result["cold_up_s"] <= COLD_BUDGET
        lab.down(site)
    warm, downs = [], []
    for _ in range(opts.runs):
        warm.append(timed(lab.up, site))
        downs.append(timed(lab.down, site))
    result["warm_up_s"] = {"runs": warm, "median": statistics.median(warm), "max": max(warm)}
    result["warm_within_budget"] = max(warm) <= WARM_BUDGET
    result["down_s"] = {"runs": downs, "median": statistics.median(downs)}
    lab.up(site)
    result["idempotent_up_s"] = timed(lab.up, site)
    lab.down(site)

    out = write_results("lab", result)
    print(json.dumps(result, indent=2))
    print(f"-> {out}")


if __name__ == "__main__":
    main()
