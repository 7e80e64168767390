"""What preemption back to the preferred node costs, against `nopreempt` and `preempt_delay`.

Run as root from the repository, on a lab that is up and deployed (the main
lab under the mutex, or a private lab through RUNBOOK_DATA_DIR and --site):

    flock /run/lock/runbook-lab-dev.lock .venv/bin/python benchmarks/bench_preemption.py --save

For each variant, keepalived.conf on every node is the deployed one with the
variant's lines (both nodes `state BACKUP`, as keepalived requires for
`nopreempt` and `preempt_delay`); the data cannot express these options, so
the file is edited on the nodes, checked with `keepalived -t` and keepalived
restarted. Then `planned-stop` (keepalived stopped on the holder, started
again: the preferred node comes back as BACKUP and preempts, or not) and
`planned` (maintenance mode, which relies on preemption to hand over) run
under load. Verify is not waited for (it flags the edited file); the lab is
deployed back with the site's data at the end. Results are merged into
benchmarks/measured.json under "preemption" with --save.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench_summary import now
from results_io import save_measured

from runbook import lab
from runbook.data.load import LAB_SITE
from runbook.drill import runner
from runbook.drill.load import LoadSpec
from runbook.drill.scenarios import SCENARIOS, Cluster
from runbook.lab.layout import layout
from runbook.plan.build import load_plan

REPO = Path(__file__).resolve().parents[1]
CONF = "/etc/keepalived/keepalived.conf"
VARIANTS = (("preempt (por defecto)", None), ("nopreempt", "nopreempt"),
            ("preempt_delay 5", "preempt_delay 5"))
SCENARIO_NAMES = ("planned-stop", "planned")
KEYS = ("requests", "failed", "failed_after_restore", "vip_moved_s", "holder_before", "new_holder",
        "restore_at_s", "vip_timeline")


def edit_nodes(site, line: str) -> None:
    sed = f"sed -i -e 's/state MASTER/state BACKUP/' -e '/^    priority /a\\    {line}' {CONF}"
    command = f"{sed} && keepalived -t -f {CONF} && systemctl restart keepalived"
    for node in site.nodes:
        done = lab.node_run(site, node.name, ["sh", "-c", command], timeout=60)
        if done.returncode != 0:
            raise SystemExit(f"{node.name}: no se pudo aplicar {line!r}: {done.stderr.strip()[-300:]}")


def deploy(site_name: str) -> None:
    done = subprocess.run([str(REPO / ".venv" / "bin" / "invoke"), "deploy", "--site", site_name], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"deploy falló: {(done.stderr or done.stdout)[-1000:]}")


def back_to_preferred(site, cluster: Cluster, timeout: float = 30) -> None:
    """Each measurement starts with the VIP on the highest priority (nopreempt leaves it elsewhere)."""
    preferred = max(site.nodes, key=lambda n: n.priority).name
    deadline = time.monotonic() + timeout
    while cluster.holders() != (preferred,):
        if time.monotonic() > deadline:
            raise SystemExit(f"la IP virtual no vuelve a {preferred}: {cluster.holders()}")
        for holder in cluster.holders():  # its restart announces priority 0: the preferred takes it
            lab.node_run(site, holder, ["systemctl", "restart", "keepalived"], timeout=60)
        time.sleep(5)
    time.sleep(3)


def took_back(s: dict) -> float | None:
    """Seconds from the restore until the VIP went back to the node that held it before."""
    back = [c["t"] for c in s["vip_timeline"]
            if c["t"] > s["restore_at_s"] and c["holders"] == [s["holder_before"]]]
    return round(back[0] - s["restore_at_s"], 3) if back else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", default=LAB_SITE)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--duration", type=int, default=40)
    parser.add_argument("--save", action="store_true")
    opts = parser.parse_args()
    plan = load_plan(opts.site)
    cluster = Cluster(site=plan.site, lay=layout(plan.site))
    spec = LoadSpec(rate=opts.rate, duration=opts.duration)
    rows = []
    healthy = runner.wait_healthy
    try:
        for label, line in VARIANTS:
            if line:
                edit_nodes(plan.site, line)
                time.sleep(8)  # both nodes start as BACKUP: one takes the VIP after 3 adverts
                runner.wait_healthy = lambda plan, timeout=0: []  # verify flags the edited file
            row = {"label": label}
            for name in SCENARIO_NAMES:
                back_to_preferred(plan.site, cluster)
                s = runner.run_scenario(plan, cluster, SCENARIOS[name], spec,
                                        lambda m: print(m, file=sys.stderr))
                row[name] = {**{k: s[k] for k in KEYS}, "took_back_s": took_back(s)}
            rows.append(row)
            runner.wait_healthy = healthy
            if line:
                deploy(opts.site)
    finally:
        runner.wait_healthy = healthy
    site = "" if opts.site == LAB_SITE else f"--site {opts.site} "
    data_dir = "RUNBOOK_DATA_DIR=<datos del laboratorio privado> " if site else ""
    command = (f"{data_dir}.venv/bin/python benchmarks/bench_preemption.py {site}"
               f"--rate {opts.rate} --duration {opts.duration} --save")
    result = {"when": now(), "command": command, "site": opts.site, "rate": opts.rate,
              "duration_s": opts.duration,
              "variants": rows}
    print(json.dumps(result, indent=1, ensure_ascii=False))
    if opts.save:
        save_measured("preemption", result)


if __name__ == "__main__":
    main()
