"""`./rb soak` on the lab's real nodes: a short soak, seeded, must keep every rule in every round.

Seed 3189 draws six different faults: chained ones that broke before (keepalived killed on the
VIP holder, the holder's LAN addresses flushed, the peer's cable flapping), the VIP holder
rebooted and its /var/log full, and no backend-down (the longest round). The rules are the soak's own
(runbook/soak/rules.py); this test reads what a user reads: the exit code, the last line and
the results file.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from runbook.soak.faults import catalogue
from runbook.soak.picking import pick_faults

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
INVOKE = str(REPO / ".venv" / "bin" / "invoke")
SEED, ROUNDS, RATE = 3189, 6, 50


def test_a_short_seeded_soak_keeps_every_rule(lab_converged, tmp_path):
    results = tmp_path / "soak.json"
    done = subprocess.run([INVOKE, "soak", "--rounds", str(ROUNDS), "--seed", str(SEED), "--rate", str(RATE),
                           "--json", str(results)], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert "Traceback" not in done.stderr, done.stderr
    doc = json.loads(results.read_text())
    broken = {r["round"]: (r["fault"], r["broken"]) for r in doc["rounds"] if r["broken"]}
    assert done.returncode == 0 and not broken, (broken, done.stdout[-2000:], done.stderr[-2000:])
    assert done.stdout.rstrip().splitlines()[-1].startswith(
        f"soak lab: {ROUNDS} rondas, ") and "ninguna ronda rompe las reglas" in done.stdout
    assert [r["fault"] for r in doc["rounds"]] == pick_faults(list(catalogue()), ROUNDS, SEED)
    for r in doc["rounds"]:
        assert r["verify_green_after_s"] is not None and r["second_deploy"]["changed"] == 0, r
        assert r["requests"] > 0
