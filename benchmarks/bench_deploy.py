"""How long deploy takes on the 2-node lab: first deploy and no-op re-deploy.

Run as root from the repository (the lab is brought up if needed):

    .venv/bin/python benchmarks/bench_deploy.py            # no-op re-deploy ×5
    .venv/bin/python benchmarks/bench_deploy.py --fresh    # recreate the lab first: time the first deploy

Two numbers per run:
- `in_process_s`: what deploy itself reports (connect, facts, apply), the
  cost that grows with nodes and steps;
- `cli_wall_s`: the whole `invoke deploy --json` process as a user waits for
  it, Python start-up and imports included.
Target: no-op re-deploy of both nodes together ≤ 1.5 s. Results go to
benchmarks/results/deploy-<time>.json (gitignored). The lab is left running.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

from results_io import summary, write_results

from runbook import lab
from runbook.data.load import LAB_SITE, load_site

REPO = Path(__file__).resolve().parents[1]
NOOP_BUDGET_S = 1.5


def deploy_once() -> dict:
    """One `invoke deploy --json`; waits while another deploy holds the lab's lock."""
    while True:
        started = time.monotonic()
        proc = subprocess.run([str(REPO / ".venv" / "bin" / "invoke"), "deploy", "--json"], cwd=REPO,
                              capture_output=True, text=True, timeout=1800)
        wall = time.monotonic() - started
        if not (proc.returncode == 2 and "ya hay un despliegue en curso" in proc.stderr):
            break
        time.sleep(1)
    if proc.returncode != 0:
        raise SystemExit(f"deploy falló (código {proc.returncode}): {proc.stderr or proc.stdout[-2000:]}")
    result = json.loads(proc.stdout)
    changed = sum(r["changed"] for r in result["recap"].values())
    return {"cli_wall_s": round(wall, 3), "in_process_s": result["duration_s"], "changed": changed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="no-op re-deploys (default 5)")
    parser.add_argument("--fresh", action="store_true",
                        help="recreate the lab (nodes with nothing installed) and time the first deploy")
    opts = parser.parse_args()
    site = load_site(LAB_SITE)
    result: dict = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"kernel": platform.release(), "cpus": os.cpu_count()},
        "nodes": [n.name for n in site.nodes],
        "steps": None,
    }
    if opts.fresh:
        lab.down(site)
    lab.up(site)
    if opts.fresh:
        result["first_deploy"] = deploy_once()
    else:
        deploy_once()  # converge first: what follows must be no-ops
    noop = [deploy_once() for _ in range(opts.runs)]
    if any(r["changed"] for r in noop):
        raise SystemExit(f"un re-despliegue cambió algo: {noop}")
    in_process = summary([r["in_process_s"] for r in noop])
    cli = summary([r["cli_wall_s"] for r in noop])
    result["noop_redeploy"] = {
        "runs": noop,
        "in_process_s": in_process,
        "cli_wall_s": cli,
        "budget_s": NOOP_BUDGET_S,
        "within_budget_in_process": in_process["median"] <= NOOP_BUDGET_S,
        "within_budget_cli": cli["median"] <= NOOP_BUDGET_S,
    }
    from runbook.plan.build import load_plan

    result["steps"] = len(load_plan(LAB_SITE).steps)
    out = write_results("deploy", result)
    print(json.dumps(result, indent=2))
    print(f"resultados: {out}")


if __name__ == "__main__":
    main()
