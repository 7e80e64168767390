"""Debian 12 against Debian 13, multicast against unicast VRRP: the same lab, the same machine, the same run.

Run as root from the repository (each lab is recreated; all are left down):

    .venv/bin/python benchmarks/bench_releases.py            # 3 rounds
    .venv/bin/python benchmarks/bench_releases.py --runs 5

Three labs, taken in turn in every round so that the machine's load falls on
all of them alike:

- `lab`: Debian 12, VRRP by multicast (the published tutorial's lab);
- `trixie`: Debian 13, VRRP by unicast, in a LAN that drops multicast VRRP;
- `trixie` with `vrrp.unicast: false` in a LAN that carries multicast (a copy
  of the data in a temporary folder): the same release and timers as the one
  above, so only the way adverts travel differs.

For each: a warm `lab.up` (base cached), the first deploy of the fresh nodes
(`invoke deploy --json`: in process and wall) and the drill's node-crash
scenario (`invoke drill --scenario node-crash --json`: how long until the
backup holds the VIP, `vip_moved_s`, and until clients are served again,
`takeover_s`). Budgets: warm `lab.up` of Debian 13 ≤ 15 s; its first deploy
within 20 % of Debian 12's (medians); unicast node-crash takeover within 0.5 s
of multicast's (medians). RUNBOOK_DATA_DIR is honoured (a private copy of
site_data with its own namespaces); on the shared labs of site_data it waits
for the development mutex first (CONTRIBUTING.md). Results go to
benchmarks/results/releases-<time>.json (gitignored).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from results_io import summary, write_results

from runbook import lab
from runbook.data.load import load_site
from runbook.names import REPO_ROOT, data_dir

REPO = Path(__file__).resolve().parents[1]
INVOKE = str(REPO / ".venv" / "bin" / "invoke")
WARM_BUDGET_S, DEPLOY_RATIO, TAKEOVER_SLACK_S = 15.0, 1.20, 0.5


def invoke(args: list[str], data: Path) -> dict:
    started = time.monotonic()
    proc = subprocess.run([INVOKE, *args], cwd=REPO, capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "RUNBOOK_DATA_DIR": str(data)})
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} falló (código {proc.returncode}): {proc.stderr[-2000:]}")
    return {"wall_s": round(time.monotonic() - started, 3), **json.loads(proc.stdout)}


def one_lab(name: str, data: Path, rate: int, duration: int) -> dict:
    site = load_site(name, data)
    lab.down(site)
    started = time.monotonic()
    lab.up(site)
    up = round(time.monotonic() - started, 2)
    deployed = invoke(["deploy", "--site", name, "--json"], data)
    drill = invoke(["drill", "--site", name, "--scenario", "node-crash", "--rate", str(rate),
                    "--duration", str(duration), "--json"], data)
    crash = drill["scenarios"][0]
    lab.down(site)
    return {"warm_up_s": up, "deploy_in_process_s": deployed["duration_s"],
            "deploy_wall_s": deployed["wall_s"], "takeover_s": crash["takeover_s"],
            "vip_moved_s": crash["vip_moved_s"],
            "new_holder": crash["new_holder"], "verify_after": crash["verify_after"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--duration", type=int, default=14)
    opts = parser.parse_args()
    data = data_dir()
    if data.resolve() == (REPO_ROOT / "site_data").resolve():
        mutex = open("/run/lock/runbook-lab-dev.lock", "w")  # noqa: SIM115 - held until the process ends
        fcntl.flock(mutex, fcntl.LOCK_EX)
    multicast = Path(tempfile.mkdtemp(prefix="rb-bench-multicast-"))
    shutil.copytree(data, multicast, dirs_exist_ok=True)
    text = (multicast / "trixie.yaml").read_text()
    text = text.replace("  unicast: true", "  unicast: false").replace("  multicast: false\n", "")
    (multicast / "trixie.yaml").write_text(text)
    labs = {"debian12-multicast": ("lab", data), "debian13-unicast": ("trixie", data),
            "debian13-multicast": ("trixie", multicast)}
    runs: dict[str, list[dict]] = {key: [] for key in labs}
    try:
        for _ in range(opts.runs):
            for key, (name, folder) in labs.items():
                runs[key].append(one_lab(name, folder, opts.rate, opts.duration))
                print(key, runs[key][-1], flush=True)
    finally:
        shutil.rmtree(multicast, ignore_errors=True)

    def med(key: str, field: str) -> dict:
        return summary([r[field] for r in runs[key]])

    result: dict = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"kernel": platform.release(), "cpus": os.cpu_count()},
        "rate": opts.rate, "duration": opts.duration, "runs": runs,
        "warm_up_s": {key: med(key, "warm_up_s") for key in labs},
        "deploy_in_process_s": {key: med(key, "deploy_in_process_s") for key in labs},
        "takeover_s": {key: med(key, "takeover_s") for key in labs},
        "vip_moved_s": {key: med(key, "vip_moved_s") for key in labs},
    }
    deploys = result["deploy_in_process_s"]
    d12, d13 = deploys["debian12-multicast"], deploys["debian13-unicast"]
    uni, multi = result["takeover_s"]["debian13-unicast"], result["takeover_s"]["debian13-multicast"]
    result["budgets"] = {
        "debian13_warm_up_le_15s": result["warm_up_s"]["debian13-unicast"]["max"] <= WARM_BUDGET_S,
        "debian13_deploy_within_20pct": d13["median"] <= DEPLOY_RATIO * d12["median"],
        "unicast_takeover_within_0_5s": uni["median"] <= multi["median"] + TAKEOVER_SLACK_S,
    }
    out = write_results("releases", result)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2, ensure_ascii=False))
    print(f"-> {out}")


if __name__ == "__main__":
    main()
