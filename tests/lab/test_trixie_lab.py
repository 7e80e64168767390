"""Debian 13 and unicast VRRP: the lab site `trixie`, beside the main lab.

`site_data/trixie.yaml` is the lab's shape on Debian 13 (haproxy 3.0,
keepalived 2.3) in a LAN that drops multicast VRRP (`lab: {multicast:
false}`, nftables on the lab's bridge), so its VRRP goes by unicast
(`vrrp.unicast: true`). Its own namespace and state dir: it runs beside the
main lab (Debian 12, multicast) and touches nothing of it.

On it: a fresh deploy, verify green, a second deploy that changes nothing;
keepalived silently back in multicast caught by verify and healed by one
deploy; the same site with unicast off (a multicast site in a network
without multicast) leaving both nodes with the VIP, and verify saying so;
the drill's planned and node-crash scenarios. And every config rendered for
every site accepted by Debian 13's own haproxy, keepalived and nft.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from support.debian13 import run13
from test_outputs_lab import _check_observation, _check_step

from runbook import lab as lab_api
from runbook.data.load import load_site, site_names
from runbook.lab.layout import layout
from runbook.lab.network import multicast_dropped
from runbook.names import data_dir
from runbook.plan.build import load_plan
from runbook.plan.secrets import materialize
from runbook.plan.steps import FileAction

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
INVOKE = str(REPO / ".venv" / "bin" / "invoke")
SITE = "trixie"
FAKE_SECRETS = {"stats_password": "s3creto-de-prueba"}


def rb(*args: str, data: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, **({"RUNBOOK_DATA_DIR": str(data)} if data else {})}
    proc = subprocess.run([INVOKE, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def verify(data: Path | None = None) -> tuple[int, dict[tuple[str, str], dict]]:
    proc = rb("verify", "--site", SITE, "--format", "json", data=data)
    report = json.loads(proc.stdout)
    return proc.returncode, {(r["check"], r["node"]): r for r in report["results"]}


def failing(results: dict) -> set[tuple[str, str]]:
    return {key for key, r in results.items() if r["status"] in ("failed", "error")}


def on_node(site, node: str, command: str) -> str:
    return lab_api.node_run(site, node, ["sh", "-c", command]).stdout


@pytest.fixture(scope="module")
def trixie():
    """The Debian 13 lab, fresh, beside the main lab; taken down at the end."""
    site = load_site(SITE)
    lab_api.down(site)
    lab_api.up(site)
    try:
        yield site
    finally:
        lab_api.down(site)


@pytest.fixture(scope="module")
def deployed(trixie):
    """The first deploy of the fresh Debian 13 nodes, as the CLI prints it."""
    return rb("deploy", "--site", SITE)


def test_nodes_are_debian_13_in_a_lan_that_drops_multicast(trixie):
    for node in trixie.nodes:
        assert on_node(trixie, node.name, "cat /etc/debian_version").startswith("13.")
    assert multicast_dropped(layout(trixie)) is not None  # the nftables rule is there
    main = load_site("lab")
    assert main.os == "debian12" and main.lab.multicast  # the published tutorial's lab: unchanged


def test_fresh_deploy_verify_green_and_second_deploy_changes_nothing(trixie, deployed):
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-2000:]
    code, results = verify()
    assert code == 0, failing(results)
    for node, peer in (("hestia", "198.51.100.111"), ("ares", "198.51.100.110")):
        assert results[("vrrp-unicast", node)]["detail"] == (
            f"según keepalived: VI_50 envía sus anuncios por unicast a {peer}")
        # Debian 13's haproxy says nothing about a valid file: the documented check expects just that
        assert results[("haproxy-config-valida", node)]["status"] == "passed"
    again = rb("deploy", "--site", SITE)
    assert again.returncode == 0 and "sin cambios" in again.stdout, again.stdout[-2000:]


def test_every_documented_output_is_what_debian13_prints(trixie, deployed):
    # The site of a Debian 13 site shows Debian 13's outputs (haproxy 3.0's silent -c, `proto keepalived`).
    plan = load_plan(SITE)
    problems: list[str] = []
    for step in plan.steps:
        problems += _check_step(trixie, plan, step.id, set())
    for item in plan.observations:
        problems += _check_observation(trixie, item)
    # The page runs lan-direccion right after the interface step, before keepalived exists (the walk
    # of test_outputs_lab.py proves that order); on the converged holder the VIP is a second line.
    holder = trixie.nodes_by_priority[0].name
    assert [p for p in problems if not p.startswith(f"{holder}, comprobación lan-direccion:")] == []


def test_keepalived_silently_back_in_multicast_is_caught_and_healed(trixie, deployed):
    # Without its unicast block keepalived goes on in multicast, without an error anywhere.
    on_node(trixie, "ares", "sed -i '/unicast_src_ip/d; /unicast_peer {/,/}/d' /etc/keepalived/keepalived.conf"
            " && systemctl reload keepalived")
    code, results = verify()
    assert code == 1
    result = results[("vrrp-unicast", "ares")]
    assert result["status"] == "failed"
    assert result["detail"].startswith(
        "según keepalived: VI_50 envía sus anuncios por multicast (224.0.0.18), no por unicast a 198.51.100.110")
    assert result["link"] == "site/instalacion.html#keepalived"
    healed = rb("deploy", "--site", SITE)
    assert healed.returncode == 0, healed.stdout[-3000:]
    code, results = verify()
    assert code == 0, failing(results)
    again = rb("deploy", "--site", SITE)
    assert again.returncode == 0 and "sin cambios" in again.stdout, again.stdout[-2000:]


def test_a_multicast_site_in_a_network_without_multicast_has_two_vip_holders(trixie, deployed, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(data_dir(), data)
    text = (data / f"{SITE}.yaml").read_text()
    (data / f"{SITE}.yaml").write_text(text.replace("  unicast: true", "  unicast: false"))
    dropped_before = multicast_dropped(layout(trixie))
    done = rb("deploy", "--site", SITE, data=data)
    assert done.returncode == 1  # deploy waits for the cluster to settle, and says it does not
    assert "vip-unica" in done.stdout + done.stderr
    code, results = verify(data)
    assert code == 1
    detail = results[("vip-unica", None)]["detail"]
    assert detail.startswith("198.51.100.150 está a la vez en hestia y ares: los nodos no se ven por VRRP")
    assert "usa unicast (vrrp.unicast: true)" in detail
    assert ("vrrp-unicast", "hestia") not in results  # a multicast site has no unicast check
    assert multicast_dropped(layout(trixie)) > dropped_before  # the adverts were sent, and dropped
    back = rb("deploy", "--site", SITE)
    assert back.returncode == 0, back.stdout[-3000:]
    code, results = verify()
    assert code == 0, failing(results)


def test_drill_planned_and_node_crash_fail_over_by_unicast(trixie, deployed):
    done = rb("drill", "--site", SITE, "--scenario", "planned,node-crash", "--rate", "100", "--duration", "14",
              "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    scenarios = {s["name"]: s for s in json.loads(done.stdout)["scenarios"]}
    for name in ("planned", "node-crash"):
        s = scenarios[name]
        assert s["holder_before"] == "hestia" and s["new_holder"] == "ares", (name, s["vip_timeline"])
        assert s["verify_after"] == "ok", (name, s["verify_after_failures"])
        assert s["vip_timeline"][-1]["holders"] == ["hestia"], name  # preemption back after the restore
    assert scenarios["planned"]["failed"] <= 0.01 * scenarios["planned"]["requests"]
    assert scenarios["node-crash"]["takeover_s"] is not None


# --------------------------------------------------------------------- Debian 13's validators


def _files(name: str) -> list[FileAction]:
    return [a for a in load_plan(name).actions() if isinstance(a, FileAction)]


@pytest.mark.parametrize("site", site_names())
def test_debian13_haproxy_accepts_every_rendered_config(site):
    for action in _files(site):
        if action.path == "/etc/haproxy/haproxy.cfg":
            result = run13(["haproxy", "-c", "-f", "{cfg}"], {"cfg": materialize(action.content, FAKE_SECRETS)})
            # HAProxy 3.0 is silent about a valid file: any line is a warning or an error.
            assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), (site, action.node)


@pytest.fixture(scope="module")
def scratch_netns():
    """A namespace with an eth1: `keepalived -t` refuses a config naming a missing interface."""
    name = f"rb-kt13-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "add", "eth1", "type", "veth", "peer", "name", "peer0"], check=True)
    yield name
    subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.mark.parametrize("site", site_names())
def test_debian13_keepalived_accepts_every_rendered_config(site, scratch_netns):
    for action in _files(site):
        if action.path == "/etc/keepalived/keepalived.conf":
            result = run13(["keepalived", "-t", "-f", "{conf}"], {"conf": action.content}, scratch_netns)
            assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), (site, action.node)


@pytest.mark.parametrize("site", site_names())
def test_debian13_nft_accepts_every_rendered_firewall(site, scratch_netns):
    for action in _files(site):
        if action.path == "/etc/nftables.conf":
            result = run13(["nft", "-c", "-f", "{conf}"], {"conf": action.content}, scratch_netns)
            assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), (site, action.node)


def test_debian13_validators_catch_a_typo(scratch_netns):
    keepalived = next(a for a in _files(SITE) if a.path == "/etc/keepalived/keepalived.conf")
    result = run13(["keepalived", "-t", "-f", "{conf}"],
                   {"conf": keepalived.content.replace("unicast_peer {", "unicast_peers {")}, scratch_netns)
    assert result.returncode != 0 and "Unknown keyword 'unicast_peers'" in result.stderr
    haproxy = next(a for a in _files(SITE) if a.path == "/etc/haproxy/haproxy.cfg")
    broken = materialize(haproxy.content, FAKE_SECRETS).replace("timeout connect 5s", "contimeout 5000")
    result = run13(["haproxy", "-c", "-f", "{cfg}"], {"cfg": broken})
    assert result.returncode != 0 and "contimeout" in result.stderr
    nftables = next(a for a in _files(SITE) if a.path == "/etc/nftables.conf")
    result = run13(["nft", "-c", "-f", "{conf}"], {"conf": nftables.content.replace("policy drop", "policy dorp")},
                   scratch_netns)
    assert result.returncode != 0 and "dorp" in result.stderr
