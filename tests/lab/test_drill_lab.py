"""`invoke drill` on the lab's real nodes: every scenario once, under a short load, loose bounds.

One `./rb drill --scenario all --json` run (the CLI end to end) on a deployed
lab; each test then reads one scenario's figures. The bounds are loose on
purpose (a 2-core CI machine); the tight figures belong to the benchmark
(benchmarks/bench_summary.py) and the results page.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from support.lab_fixtures import converge

from runbook.data.load import load_site
from runbook.drill.load import REQUEST_TIMEOUT_S
from runbook.drill.runner import wait_healthy
from runbook.drill.scenarios import HEALTH_CHECK_WINDOW_S
from runbook.lab.layout import layout
from runbook.names import data_dir
from runbook.plan.build import load_plan

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
INVOKE = str(REPO / ".venv" / "bin" / "invoke")
RATE, DURATION = 100, 20  # fault at 3 s, restore at 13 s (backend faults: 19 s), load ends 7 s later
# A silent backend is marked DOWN within the health-check window; add one request timeout.
HEALTH_WINDOW_S = HEALTH_CHECK_WINDOW_S + REQUEST_TIMEOUT_S


def invoke(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([INVOKE, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def drill(lab):
    converge(lab)
    assert wait_healthy(load_plan("lab")) == []
    done = invoke("drill", "--scenario", "all", "--rate", str(RATE), "--duration", str(DURATION), "--json")
    assert "Traceback" not in done.stderr, done.stderr
    data = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr[-3000:]
    return {s["name"]: s for s in data["scenarios"]} | {"_doc": data}


def test_every_scenario_ran_at_the_rate_and_ended_healthy(drill):
    doc = drill["_doc"]
    assert doc["site"] == "lab"
    assert [s["name"] for s in doc["scenarios"]] == [
        "planned", "haproxy-crash", "keepalived-crash", "node-crash", "backend-stop", "backend-down",
        "backend-stop-tcp", "backend-down-tcp"]
    for s in doc["scenarios"]:
        assert s["verify_after"] == "ok", (s["name"], s["verify_after_failures"])
        assert s["requests"] >= 0.9 * RATE * DURATION, s["name"]  # backend-down lasts longer
        assert s["rate_rps"] >= 0.8 * RATE, s["name"]
        # The sampler aims at 50 Hz; on a loaded 2-core machine it was seen at 19.5 Hz. What the
        # timeline needs is a resolution well under the takeover times it reports (seconds).
        assert s["sample_hz"] >= 10, s["name"]
        assert s["holder_before"] == "hera", s["name"]


def test_planned_handover_moves_the_vip_without_a_gap_and_takes_it_back(drill):
    s = drill["planned"]
    assert s["new_holder"] == "afrodita" and s["vip_moved_s"] is not None and s["vip_moved_s"] < 6
    # The peer takes the VIP before the node in maintenance lets it go: never a moment without owner.
    timeline = s["vip_timeline"]
    handover = [c for c in timeline if c["t"] < s["restore_at_s"]]
    assert all(change["holders"] for change in handover), timeline
    # Taking it back (preemption) may leave the VIP ownerless for an instant; loose bound for CI.
    gaps = [b["t"] - a["t"] for a, b in zip(timeline, timeline[1:], strict=False) if not a["holders"]]
    assert all(gap < 0.5 for gap in gaps), timeline
    assert s["failed"] <= 0.01 * s["requests"], s["errors"]
    assert s["vip_timeline"][-1]["holders"] == ["hera"]  # preemption back after the restore


def test_haproxy_crash_is_over_within_seconds(drill):
    s = drill["haproxy-crash"]
    assert s["takeover_s"] is not None and s["takeover_s"] < 4
    assert s["vip_timeline"][-1]["holders"] == ["hera"]


def test_keepalived_crash_hands_the_vip_over_and_systemd_brings_keepalived_back(drill):
    # The crashed keepalived leaves the VIP behind; afrodita takes it; systemd restarts keepalived
    # on hera (Restart=on-failure, after afrodita's takeover), which drops its stale VIP and takes
    # the VIP back by preemption. How long both held it is a figure of the soak and the results page.
    # Whether afrodita took it first depends on a 0.4 s margin (RestartSec 4 s against a 3.6 s takeover):
    # not asserted here; the figures are the soak's and the results page's.
    s = drill["keepalived-crash"]
    assert s["verify_after"] == "ok"
    assert s["vip_timeline"][-1]["holders"] == ["hera"]


def test_node_crash_moves_the_vip_to_the_backup(drill):
    s = drill["node-crash"]
    assert s["new_holder"] == "afrodita" and s["vip_moved_s"] is not None and s["vip_moved_s"] < 7
    assert s["takeover_s"] is not None and s["takeover_s"] < 7
    assert s["failed"] > 0  # a silent node is noticed only after 3 adverts: clients see it
    assert s["vip_timeline"][-1]["holders"] == ["hera"]


@pytest.mark.parametrize("name", ["backend-stop", "backend-down", "backend-stop-tcp", "backend-down-tcp"])
def test_a_dead_backend_is_hidden_and_haproxy_says_when_it_left_and_came_back(drill, name):
    s = drill[name]
    assert s["service_mode"] == ("tcp" if name.endswith("-tcp") else "http")
    assert s["vip_moved_s"] is None and s["new_holder"] is None
    # HAProxy marked the backend DOWN (its journal says when) within the health-check window at
    # worst, and UP again after the restore.
    assert s["marked_down_s"] is not None and 0 <= s["marked_down_s"] <= HEALTH_WINDOW_S, s
    assert s["marked_up_s"] is not None and s["marked_up_s"] >= 0, s
    # Retried on the other backend (redispatch): clients barely see it. Loose for a busy CI
    # machine; the targets (0 refused, ≤ 0.1 % silent) are the benchmark's.
    assert s["failed"] <= 0.02 * s["requests"], s["errors"]
    # Nothing fails when the backend comes back either (`abortonclose`: no abandoned request
    # is left retrying it, to reach it all at once on its return).
    assert s["failed_after_restore"] == 0, s["errors"]
    assert s["added_p50_s"] is not None and s["added_p99_s"] is not None


def test_yes_opens_a_site_without_a_lab_block_over_its_ssh(drill, tmp_path):
    """The lab's nodes described as a real site (no `lab:` block): only --yes runs it.

    The CLI runs inside the lab client's namespace, so the load it sends from "this
    machine" and its SSH (the lab's ProxyCommand) can only reach lab addresses.
    """
    site = yaml.safe_load((data_dir() / "lab.yaml").read_text())
    del site["lab"]
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(site, allow_unicode=True))
    (tmp_path / "procedure.yaml").write_text((data_dir() / "procedure.yaml").read_text())
    env = {**os.environ, "RUNBOOK_DATA_DIR": str(tmp_path)}
    client_ns = layout(load_site("lab")).client.netns

    def real_drill(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", client_ns, INVOKE, "drill", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=600)

    refused = real_drill("--scenario", "haproxy-crash")
    assert refused.returncode == 2 and "repite con --yes" in refused.stderr, refused.stderr
    assert refused.stdout == "" and "AVISO" not in refused.stderr
    done = real_drill("--yes", "--scenario", "planned,haproxy-crash", "--rate", "50", "--duration", "12", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    warning = done.stderr.split("drill:", 1)[0]  # said before anything happened
    assert "AVISO" in warning and "'lab'" in warning and "198.51.100.150" in warning, done.stderr
    got = {s["name"]: s for s in json.loads(done.stdout)["scenarios"]}
    assert list(got) == ["planned", "haproxy-crash"]
    assert all(s["verify_after"] == "ok" for s in got.values())
    planned = got["planned"]  # sampled over SSH: the handover is seen
    assert planned["holder_before"] == "hera" and planned["new_holder"] == "afrodita", planned["vip_timeline"]
    assert planned["sample_hz"] >= 10 and planned["failed"] <= 0.02 * planned["requests"]
    crash = got["haproxy-crash"]
    assert crash["failed"] > 0 and crash["takeover_s"] is not None and crash["takeover_s"] < 4
