"""`invoke verify` on the lab's real nodes: a converged cluster passes, each tampering is caught.

The story of the issue, in order: deploy, verify exits 0; then one tampering
at a time (an edited haproxy.cfg, keepalived stopped on the VIP holder, the
sysctl file removed, a backend unplugged, the track script made unusable, a
node unreachable), each detected by the right check with the right message
while every other check still passes, and each undone before the next test.
"""

from __future__ import annotations

import json
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runbook import lab as lab_api
from runbook.checks import Status
from runbook.lab.layout import layout
from runbook.plan.build import load_plan
from runbook.verify import run_verify

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
INVOKE = str(REPO / ".venv" / "bin" / "invoke")
LOCK_WAIT_S = 300  # another engineer's deploy may hold the lab's lock
SYSCTL_FILE = "/etc/sysctl.d/60-haproxy-nonlocal-bind.conf"
BAD = ("failed", "error")


def deploy(*args: str) -> None:
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        proc = subprocess.run([INVOKE, "deploy", *args], cwd=REPO, capture_output=True, text=True, timeout=900)
        busy = proc.returncode == 2 and "ya hay un despliegue en curso" in proc.stderr
        if not busy or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def verify_cli(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([INVOKE, "verify", *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def verify_json(*args: str) -> tuple[int, dict]:
    proc = verify_cli("--format", "json", *args)
    return proc.returncode, json.loads(proc.stdout)


def failing(data: dict) -> dict[tuple[str, str], str]:
    return {(r["check"], r["node"] or "clúster"): r["detail"] for r in data["results"] if r["status"] in BAD}


def result(data: dict, check: str, node: str | None) -> dict:
    return next(r for r in data["results"] if r["check"] == check and r["node"] == node)


def wait_until(predicate, timeout: float, what: str):
    """Poll verify in-process (fast) until predicate(report) holds; return that report."""
    plan = load_plan("lab")
    deadline = time.monotonic() + timeout
    while True:
        report = run_verify(plan)
        failed = {(r.check, r.where) for r in report.results if r.status in (Status.FAILED, Status.ERROR)}
        if predicate(failed, report):
            return report
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: tras {timeout} s siguen fallando {sorted(failed)}")
        time.sleep(0.5)


def wait_converged(timeout: float = 60):
    return wait_until(lambda failed, report: not failed and report.exit_code == 0, timeout, "sin converger")


def on(lab, node: str, script: str) -> str:
    proc = lab_api.node_run(lab.site, node, ["sh", "-c", script], timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def vip_holder(lab) -> str:
    holders = [n.name for n in lab.site.nodes if f" {lab.site.vip}/" in on(lab, n.name, "ip -4 -o addr show")]
    assert len(holders) == 1, holders
    return holders[0]


def lab_link(lab, peer: str, up: bool) -> None:
    """Plug or unplug a lab cable (the bridge side of a veth, in the lab namespace)."""
    state = "up" if up else "down"
    subprocess.run(["ip", "-n", layout(lab.site).netns, "link", "set", peer, state], check=True)


@pytest.fixture
def converged(lab_converged):
    """A deployed lab where every check passes (deploys only when verify is not green)."""
    return lab_converged


def test_converged_cluster_passes_every_check(converged, tmp_path):
    proc = verify_cli()
    assert proc.returncode == 0, proc.stdout
    assert "Verificación del sitio lab" in proc.stdout and " 0 fallan, 0 con error" in proc.stdout
    code, data = verify_json()
    assert code == 0 and data["exit_code"] == 0 and not failing(data)
    checked = {(r["check"], r["node"]) for r in data["results"] if r["status"] == "passed"}
    for node in ("hera", "afrodita"):
        assert {("fichero-haproxy", node), ("keepalived-seguimiento", node), ("escucha-servicios", node)} <= checked
    assert result(data, "vip-nodo-previsto", None)["detail"].startswith("198.51.100.150 está en hera")
    assert "zeus" in result(data, "servicio-horizon-reparto", None)["detail"]
    junit = tmp_path / "verify.xml"
    assert verify_cli("--format", "junit", "--output", str(junit)).returncode == 0
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "0" and root.get("errors") == "0" and int(root.get("tests")) == len(data["results"])


def test_edited_haproxy_cfg_is_shown_as_a_diff(converged, tmp_path):
    # Next to the `stats auth` line: the diff's context must show the marker, not the password.
    on(converged, "afrodita", "sed -i 's/stats refresh 10s/stats refresh 20s/' /etc/haproxy/haproxy.cfg")
    try:
        code, data = verify_json()
        assert code == 1
        assert failing(data) == {
            ("fichero-haproxy", "afrodita"): "/etc/haproxy/haproxy.cfg: el contenido difiere del generado por el sitio"
        }
        bad = result(data, "fichero-haproxy", "afrodita")
        assert bad["diff"].startswith("--- afrodita:/etc/haproxy/haproxy.cfg\n+++ sitio:/etc/haproxy/haproxy.cfg")
        assert "\n-    stats refresh 20s\n+    stats refresh 10s\n" in bad["diff"]
        assert " stats auth admin:@@SECRETO_stats_password@@\n" in bad["diff"]
        password = Path(converged.site.secrets["stats_password"].file).read_text().strip()
        assert password not in json.dumps(data)
        assert bad["step_title"] == "Configurar HAProxy" and bad["link"].endswith("instalacion.html#haproxy")
        table = verify_cli()
        assert table.returncode == 1 and "paso «Configurar HAProxy»" in table.stdout
        assert password not in table.stdout
        junit = tmp_path / "verify.xml"
        assert verify_cli("--format", "junit", "--output", str(junit)).returncode == 1
        case = ET.parse(junit).getroot().find(".//testsuite[@name='lab.afrodita']/testcase[@name='fichero-haproxy']")
        assert "-    stats refresh 20s" in case.find("failure").text
    finally:
        deploy("--node", "afrodita")
    wait_converged()


def test_stopped_keepalived_on_the_vip_holder(converged):
    holder = vip_holder(converged)
    assert holder == "hera"
    on(converged, holder, "systemctl stop keepalived")
    try:
        wait_until(lambda failed, r: ("vip-unica", "clúster") not in failed and ("vip-nodo-previsto", "clúster")
                   not in failed, 15, "la IP virtual no pasó a afrodita")
        assert vip_holder(converged) == "afrodita"
        code, data = verify_json()
        assert code == 1
        assert set(failing(data)) == {
            ("unidad-keepalived", "hera"),
            ("servicios-activos", "hera"),
            ("keepalived-seguimiento", "hera"),
        }
        assert "keepalived no está en marcha: inactive (dead)" in failing(data)[("unidad-keepalived", "hera")]
        assert result(data, "vip-unica", None)["detail"] == "198.51.100.150 solo está en afrodita"
        expected = result(data, "vip-nodo-previsto", None)["detail"]
        assert "está en afrodita, como se esperaba" in expected and "hera sin keepalived" in expected
    finally:
        on(converged, holder, "systemctl start keepalived")
    wait_converged()
    assert vip_holder(converged) == "hera"


def test_removed_sysctl_file(converged):
    on(converged, "afrodita", f"rm {SYSCTL_FILE}")
    try:
        code, data = verify_json()
        assert code == 1
        assert failing(data) == {
            ("fichero-60-haproxy-nonlocal-bind", "afrodita"): f"{SYSCTL_FILE} no existe en el nodo",
            ("nonlocal-bind-persistente", "afrodita"):
                "ningún fichero de /etc/sysctl.d/ fija net.ipv4.ip_nonlocal_bind: tras un reinicio volvería a 0",
        }
        # The running value is still 1: only the persistence is lost.
        assert result(data, "nonlocal-bind-activo", "afrodita")["status"] == "passed"
    finally:
        deploy("--node", "afrodita")
    wait_converged()


def test_unplugged_backend_is_reported_down(converged):
    zeus = next(b for b in layout(converged.site).backends if b.name == "zeus")
    expected = {
        (check, node)
        # Each balancer asks every server itself, too (step servidores-responden).
        for check in ("servicio-horizon-backends", "servicio-memcached-backends", "servidores-contestan")
        for node in ("hera", "afrodita")
    } | {("servicio-horizon-reparto", "clúster"), ("servicio-memcached-reparto", "clúster")}
    lab_link(converged, zeus.peer, up=False)
    try:
        # HAProxy marks it DOWN after `fall 3` failed checks, 2 s apart.
        wait_until(lambda failed, r: failed == expected, 40, "zeus no aparece caído")
        code, data = verify_json()
        assert code == 1 and set(failing(data)) == expected
        assert "zeus DOWN" in failing(data)[("servicio-horizon-backends", "hera")]
        assert "acaban todas en hades" in failing(data)[("servicio-horizon-reparto", "clúster")]
        # The balancer's own question names the server that does not answer.
        assert f"{zeus.address.ip}:" in failing(data)[("servidores-contestan", "hera")]
        # The service itself still answers, from the remaining backend.
        assert result(data, "servicio-horizon-responde", None)["status"] == "passed"
    finally:
        lab_link(converged, zeus.peer, up=True)
    wait_converged()


def test_track_script_made_unusable_is_disabled_by_keepalived(converged):
    # The original tutorial's trap: without killall (psmisc) keepalived disables
    # the check silently and the master keeps the VIP with nobody watching HAProxy.
    on(converged, "hera", "mv /usr/bin/killall /usr/bin/killall.apartado && systemctl reload keepalived")
    try:
        report = wait_until(lambda failed, r: ("keepalived-seguimiento", "hera") in failed, 15,
                            "keepalived no desactivó la comprobación")
        assert report.exit_code == 1
        code, data = verify_json()
        # Three honest views of one cause: keepalived's state, the missing command,
        # and `keepalived -t`, which says it would disable the script (exit code 5).
        assert set(failing(data)) == {
            ("keepalived-seguimiento", "hera"),
            ("killall-instalado", "hera"),
            ("keepalived-config-valida", "hera"),
        }
        assert "Disabling track script chk_haproxy" in failing(data)[("keepalived-config-valida", "hera")]
        assert "keepalived ha desactivado la comprobación chk_haproxy" in failing(data)[
            ("keepalived-seguimiento", "hera")
        ]
        assert "está en hera, como se esperaba" in result(data, "vip-nodo-previsto", None)["detail"]
    finally:
        on(converged, "hera", "mv /usr/bin/killall.apartado /usr/bin/killall && systemctl reload keepalived")
    wait_converged()


def test_unreachable_node_exits_2_and_the_other_is_still_checked(converged):
    # hera's SSH master from the verify just before is still on its socket:
    # the cut cable is found by trying it, not by waiting for ssh (how long
    # that takes is measured by benchmarks/bench_verify.py --unplugged).
    hera = layout(converged.site).node("hera")
    lab_link(converged, hera.mgmt_peer, up=False)
    try:
        proc = verify_cli("--format", "json")
        assert proc.returncode == 2
        data = json.loads(proc.stdout)
        assert list(data["unreachable"]) == ["hera"]
        address = f"{converged.site.node('hera').management_address}:{converged.site.ssh.port}"
        assert data["unreachable"]["hera"].startswith(f"hera: no se puede conectar con {address} (")
        afrodita = [r for r in data["results"] if r["node"] == "afrodita"]
        assert afrodita and all(r["status"] in ("passed", "skipped") for r in afrodita)
        assert all(r["status"] == "error" for r in data["results"] if r["node"] == "hera")
        table = verify_cli()
        assert table.returncode == 2 and "✗ hera: " in table.stdout
    finally:
        lab_link(converged, hera.mgmt_peer, up=True)
    wait_converged()
