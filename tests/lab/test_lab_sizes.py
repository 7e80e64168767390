"""Labs of any size: a three-balancer lab comes up, deploys and verifies.

A site with more than two nodes can be rehearsed on this machine before it
is deployed anywhere: the lab builds every balancer the lab site lists,
deploy rolls service reloads one node at a time (lowest priority first, the
VIP holder last) and verify expects the VIP on exactly one node, the one
keepalived chooses by priority among the nodes that compete for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.lab_sizes import write_sized_lab

from runbook import lab as lab_api
from runbook.data.load import load_site

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
INVOKE = str(REPO / ".venv" / "bin" / "invoke")


@dataclass
class SizedLab:
    site: object
    env: dict
    status: dict

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([INVOKE, *args, "--site", self.site.name], cwd=REPO, capture_output=True,
                              text=True, timeout=900, env={**os.environ, **self.env})
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def holders(self) -> list[str]:
        vip = f" {self.site.vip}/"
        return [n.name for n in self.site.nodes
                if vip in lab_api.node_run(self.site, n.name, ["ip", "-o", "-4", "addr", "show"]).stdout]


@pytest.fixture(scope="module")
def lab3(lab, tmp_path_factory):
    """A three-balancer lab, up beside the main one (`lab`: running, in any state)."""
    data = tmp_path_factory.mktemp("lab3-data")
    site = load_site(write_sized_lab(data, 3), data)
    lab_api.down(site)
    try:
        yield SizedLab(site, {"RUNBOOK_DATA_DIR": str(data)}, lab_api.up(site))
    finally:
        lab_api.down(site)


@pytest.fixture(scope="module")
def deployed(lab3):
    proc = lab3.cli("deploy", "--json")
    return proc, json.loads(proc.stdout), lab3.holders()


def test_three_balancer_lab_comes_up_beside_the_main_one(lab3):
    st = lab3.status
    assert st["running"] and st["namespace"] == "rb-lab3"
    assert [n["name"] for n in st["nodes"]] == ["atenea", "apolo", "artemisa"]
    assert all(n["state"] == "running" and n["holds_vip"] is False for n in st["nodes"])
    for node in lab3.site.nodes:
        proc = lab_api.node_run(lab3.site, node.name, ["hostname"], timeout=30)
        assert proc.stdout.strip() == node.name, proc.stderr
    assert st["paths"]["ssh_config"] == "/var/lib/runbook/lab3/ssh_config"


def test_three_balancer_lab_deploys_one_node_at_a_time_vip_holder_last(deployed):
    proc, result, holders = deployed
    assert proc.returncode == 0, result["errors"]
    assert all(r["failed"] == 0 and r["changed"] >= 5 for r in result["recap"].values()), result["recap"]
    events = [json.loads(line) for line in Path(result["transcript"]).read_text().splitlines()]
    orders = {e["step"]: e["order"] for e in events if e["event"] == "rolling"}
    # Fresh nodes: nobody holds the VIP before keepalived, so lowest priority first;
    # for haproxy and the firewall (loaded after the services start) the holder
    # (atenea, priority 110) goes last.
    last = ["artemisa", "apolo", "atenea"]
    assert orders == {"keepalived": last, "haproxy": last, "cortafuegos": last}
    assert holders == ["atenea"]  # deploy waited for the highest priority to take it


def test_three_balancer_lab_verifies(deployed, lab3):
    proc = lab3.cli("verify", "--format", "json")
    data = json.loads(proc.stdout)
    bad = [r for r in data["results"] if r["status"] in ("failed", "error")]
    assert proc.returncode == 0, bad
    by_check = {(r["check"], r["node"]): r for r in data["results"]}
    assert by_check[("vip-unica", None)]["detail"] == "198.51.100.150 solo está en atenea"
    assert by_check[("vip-nodo-previsto", None)]["detail"].startswith("198.51.100.150 está en atenea, como se esperaba")
    assert by_check[("estadisticas-protegidas", None)]["detail"] == \
        "sin credenciales: atenea 401, apolo 401, artemisa 401"
    for node in ("atenea", "apolo", "artemisa"):
        assert by_check[("fichero-keepalived", node)]["status"] == "passed"


def test_vip_goes_to_the_next_priority_and_verify_expects_it_there(deployed, lab3):
    lab_api.node_run(lab3.site, "atenea", ["systemctl", "stop", "keepalived"], timeout=30)
    try:
        deadline = time.monotonic() + 15
        while lab3.holders() != ["apolo"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert lab3.holders() == ["apolo"]  # priority 105, before artemisa's 100
        data = json.loads(lab3.cli("verify", "--format", "json").stdout)
        by_check = {(r["check"], r["node"]): r for r in data["results"]}
        assert by_check[("vip-unica", None)]["status"] == "passed"
        expected = by_check[("vip-nodo-previsto", None)]
        assert expected["status"] == "passed", expected
        assert "está en apolo, como se esperaba" in expected["detail"]
        assert "descartados: atenea sin keepalived" in expected["detail"]
        assert by_check[("unidad-keepalived", "atenea")]["status"] == "failed"
    finally:
        lab_api.node_run(lab3.site, "atenea", ["systemctl", "start", "keepalived"], timeout=30)
    deadline = time.monotonic() + 15
    while lab3.holders() != ["atenea"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert lab3.holders() == ["atenea"]  # preemption: the highest priority takes it back
    assert lab3.cli("verify").returncode == 0
