"""How long verify takes on the 2-node lab: the whole suite, converged cluster.

Run as root from the repository (the lab is brought up and deployed if needed):

    .venv/bin/python benchmarks/bench_verify.py            # 10 runs of each kind
    .venv/bin/python benchmarks/bench_verify.py --runs 20
    .venv/bin/python benchmarks/bench_verify.py --unplugged hera   # a node's cable cut

Two numbers per run:
- `in_process_s`: `run_verify` itself (connect to both nodes in parallel, one
  round trip each with every probe, the client's requests through the VIP,
  evaluation), plus the slowest of the parallel gatherings;
- `cli_wall_s`: the whole `invoke verify --format json` as a user waits for
  it, Python start-up and imports included.
Target: the whole suite ≤ 1 s. Results go to benchmarks/results/verify-<time>.json
(gitignored). The lab is left running.

`--unplugged NODE`: the node's management cable is cut (the bridge side of
its veth is set down) and `invoke verify --format json` is timed until it
reports the node unreachable (exit 2), in the two cases a user meets: its
SSH master still on its socket from a verify just before ("warm"), and no
master at all ("cold"). Target: reach.REACH_S (the project's bound on
reaching a node) plus 2 s for Python and the other node's checks. The
cable is plugged back and the lab converges again after every run.
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
from runbook.lab.layout import layout
from runbook.plan.build import load_plan
from runbook.remote import reach
from runbook.remote.sshmux import close_masters
from runbook.verify import run_verify

REPO = Path(__file__).resolve().parents[1]
INVOKE = str(REPO / ".venv" / "bin" / "invoke")
BUDGET_S = 1.0
UNPLUGGED_BUDGET_S = reach.REACH_S + 2.0


def converge() -> None:
    if run_verify(load_plan(LAB_SITE)).exit_code == 0:
        return
    deploy()
    wait_converged()


def deploy() -> None:
    while True:
        proc = subprocess.run([INVOKE, "deploy"], cwd=REPO, capture_output=True, text=True, timeout=1800)
        if not (proc.returncode == 2 and "ya hay un despliegue en curso" in proc.stderr):
            break
        time.sleep(1)
    if proc.returncode != 0:
        raise SystemExit(f"deploy falló (código {proc.returncode}): {proc.stderr or proc.stdout[-2000:]}")


def wait_converged() -> None:
    deadline = time.monotonic() + 60
    while run_verify(load_plan(LAB_SITE)).exit_code != 0:  # backends need `rise 2` checks
        if time.monotonic() > deadline:
            raise SystemExit("el laboratorio no converge: ejecuta ./rb verify para ver qué falla")
        time.sleep(1)


def in_process_once(plan) -> dict:
    started = time.monotonic()
    report = run_verify(plan)
    wall = time.monotonic() - started
    if report.exit_code != 0:
        raise SystemExit(f"verify no pasó (código {report.exit_code}) durante la medida")
    return {"in_process_s": round(wall, 3), "gather_s": report.timings, "checks": len(report.results)}


def cli_once() -> dict:
    started = time.monotonic()
    proc = subprocess.run([INVOKE, "verify", "--format", "json"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"verify falló (código {proc.returncode}): {proc.stderr or proc.stdout[-2000:]}")
    return {"cli_wall_s": round(wall, 3), "reported_s": json.loads(proc.stdout)["seconds"]}


def unplugged_once(site, node: str, warm: bool) -> dict:
    """One verify with `node`'s management cable cut: warm (its master up) or cold (no master)."""
    lay = layout(site)
    if warm:
        run_verify(load_plan(LAB_SITE))  # every node's master up, as after a deploy or a verify
    else:
        close_masters(lay.ssh_config)
    cable = ["ip", "-n", lay.netns, "link", "set", lay.node(node).mgmt_peer]
    subprocess.run([*cable, "down"], check=True)
    try:
        started = time.monotonic()
        proc = subprocess.run([INVOKE, "verify", "--format", "json"], cwd=REPO, capture_output=True,
                              text=True, timeout=120)
        wall = time.monotonic() - started
    finally:
        subprocess.run([*cable, "up"], check=True)
    data = json.loads(proc.stdout) if proc.stdout.strip() else {}
    if proc.returncode != 2 or list(data.get("unreachable", {})) != [node]:
        raise SystemExit(f"verify no dio {node} por inalcanzable (código {proc.returncode}): "
                         f"{proc.stderr or proc.stdout[-2000:]}")
    wait_converged()
    return {"master": "warm" if warm else "cold", "cli_wall_s": round(wall, 3), "reported_s": data["seconds"],
            "message": data["unreachable"][node]}


def unplugged(site, node: str, runs: int) -> dict:
    measured = [unplugged_once(site, node, warm) for _ in range(runs) for warm in (True, False)]
    walls = {kind: [r["cli_wall_s"] for r in measured if r["master"] == kind] for kind in ("warm", "cold")}
    medians = {kind: summary(values) for kind, values in walls.items()}
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"kernel": platform.release(), "cpus": os.cpu_count()},
        "unplugged": node,
        "reach_s": reach.REACH_S,
        "budget_s": UNPLUGGED_BUDGET_S,
        "cli_wall_s": medians,
        "within_budget": max(max(v) for v in walls.values()) <= UNPLUGGED_BUDGET_S,
        "runs": measured,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="runs of each kind (default 10; 3 with --unplugged)")
    parser.add_argument("--unplugged", metavar="NODE", help="time verify with this node's cable cut")
    opts = parser.parse_args()
    site = load_site(LAB_SITE)
    lab.up(site)
    converge()
    if opts.unplugged:
        result = unplugged(site, site.node(opts.unplugged).name, opts.runs or 3)
        out = write_results("verify-unplugged", result)
        print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2, ensure_ascii=False))
        print(f"resultados: {out}")
        return
    plan = load_plan(LAB_SITE)
    runs = opts.runs or 10
    in_process = [in_process_once(plan) for _ in range(runs)]
    cli = [cli_once() for _ in range(runs)]
    medians = {
        "in_process_s": summary([r["in_process_s"] for r in in_process]),
        "cli_wall_s": summary([r["cli_wall_s"] for r in cli]),
    }
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"kernel": platform.release(), "cpus": os.cpu_count()},
        "nodes": [n.name for n in site.nodes],
        "checks": in_process[0]["checks"],
        "budget_s": BUDGET_S,
        **medians,
        "within_budget_in_process": medians["in_process_s"]["median"] <= BUDGET_S,
        "within_budget_cli": medians["cli_wall_s"]["median"] <= BUDGET_S,
        "runs": {"in_process": in_process, "cli": cli},
    }
    out = write_results("verify", result)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2, ensure_ascii=False))
    print(f"resultados: {out}")


if __name__ == "__main__":
    main()
