"""How long the Ansible export takes, and running it with stock ansible-playbook on the lab.

Run as root from the repository (recreates the lab: nodes with nothing installed):

    .venv/bin/python benchmarks/bench_export.py

Timed (wall clock, the whole command as a user waits for it):
- `./rb export ansible --output DIR` (×3, median);
- the first `ansible-playbook -i inventory.yml site.yml` on a fresh lab
  (apt-get install from the lab's repository, files validated and activated,
  rolling reloads with the VRRP wait);
- a second run (nothing to change) and `--check --diff` on the converged lab.
Results go to benchmarks/results/export-<time>.json (gitignored). The lab is left running.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_io import summary, write_results

from runbook import lab
from runbook.data.load import LAB_SITE, load_site

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
RECAP_RE = re.compile(r"^(\S+)\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def timed(argv: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=1800)
    elapsed = round(time.monotonic() - started, 2)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} falló (código {proc.returncode}):\n"
                         f"{proc.stdout[-3000:]}{proc.stderr}")
    return elapsed, proc


def playbook(project: Path, *args: str) -> dict:
    elapsed, proc = timed([PLAYBOOK, "-i", "inventory.yml", "site.yml", *args], project)
    changed = {m.group(1): int(m.group(3)) for m in RECAP_RE.finditer(proc.stdout)}
    return {"wall_s": elapsed, "changed": changed}


def main() -> None:
    site = load_site(LAB_SITE)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "ansible-lab"
        export_runs = [timed([str(REPO / "rb"), "export", "ansible", "--output", str(project)], REPO)[0]
                       for _ in range(3)]
        lab.down(site)
        lab.up(site)
        first = playbook(project)
        second = playbook(project)
        check = playbook(project, "--check", "--diff")
    if any(second["changed"].values()) or any(check["changed"].values()):
        raise SystemExit(f"una segunda ejecución cambió algo: {second} {check}")
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"kernel": platform.release(), "cpus": os.cpu_count(),
                    "load_1min": round(os.getloadavg()[0], 2)},
        "nodes": [n.name for n in site.nodes],
        "export_cli_wall_s": summary(export_runs),
        "first_run": first,
        "second_run": second,
        "check_diff": check,
    }
    out = write_results("export", result)
    print(json.dumps(result, indent=2))
    print(f"resultados: {out}")


if __name__ == "__main__":
    main()
