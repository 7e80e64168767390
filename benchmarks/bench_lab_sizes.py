"""A lab of N balancers beside the main one: how long up, first deploy and verify take.

Run as root from the repository:

    .venv/bin/python benchmarks/bench_lab_sizes.py            # three balancers
    .venv/bin/python benchmarks/bench_lab_sizes.py --nodes 4

The site is generated in a temporary data folder (tests/support/lab_sizes.py: its own
namespace rb-labN and state in /var/lib/runbook/labN), so the main lab is not
touched. Timed: `lab.up` (base cached), the first `invoke deploy --json`
(fresh nodes, rolling reloads with the VRRP wait) and `invoke verify
--format json`. The sized lab is taken down at the end. Results go to
benchmarks/results/lab-sizes-<time>.json (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_io import write_results

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.lab_sizes import write_sized_lab  # noqa: E402 - the tests' generator of sized lab sites

from runbook import lab  # noqa: E402
from runbook.data.load import load_site  # noqa: E402


def cli(env: dict, *args: str) -> tuple[float, dict]:
    started = time.monotonic()
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "invoke"), *args], cwd=REPO, capture_output=True,
                          text=True, timeout=1800, env={**os.environ, **env})
    elapsed = round(time.monotonic() - started, 2)
    if proc.returncode != 0:
        raise SystemExit(f"invoke {' '.join(args)} falló (código {proc.returncode}): {proc.stdout[-3000:]}")
    return elapsed, json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=3, help="balanceadores (por defecto 3)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        name = write_sized_lab(Path(tmp), opts.nodes)
        site = load_site(name, Path(tmp))
        env = {"RUNBOOK_DATA_DIR": tmp}
        lab.down(site)
        try:
            started = time.monotonic()
            lab.up(site)
            up_s = round(time.monotonic() - started, 2)
            deploy_s, deployed = cli(env, "deploy", "--json", "--site", name)
            verify_s, verified = cli(env, "verify", "--format", "json", "--site", name)
        finally:
            lab.down(site)
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"kernel": platform.release(), "cpus": os.cpu_count(),
                    "load_1min": round(os.getloadavg()[0], 2)},
        "nodes": [n.name for n in site.nodes],
        "lab_up_s": up_s,
        "first_deploy": {"cli_wall_s": deploy_s, "in_process_s": deployed["duration_s"]},
        "verify": {"cli_wall_s": verify_s, "in_process_s": round(verified["seconds"], 3),
                   "results": len(verified["results"]), "exit_code": verified["exit_code"]},
        "total_s": round(up_s + deploy_s + verify_s, 2),
    }
    out = write_results(f"lab-sizes-{opts.nodes}", result)
    print(json.dumps(result, indent=2))
    print(f"resultados: {out}")


if __name__ == "__main__":
    main()
