"""HAProxy in front of the lab's real backends: what production would see.

The backends are Debian's nginx (shaped like Horizon: an anonymous
`GET /horizon` is redirected to the login page) and memcached. With the
site's health checks HAProxy reports every server UP and verify passes;
with the strict `expect status 200` this project's data once had, both
Horizon servers go DOWN and a client gets 503: the lab now catches that
class of mistake, as it was meant to.
"""

from __future__ import annotations

import csv
import io

import pytest
from test_deploy_lab import data_copy, deploy_cli
from test_verify_lab import failing, result, verify_json, wait_converged, wait_until

from runbook import lab as lab_api
from runbook.facts.haproxy import HaproxyStat
from runbook.lab.layout import BACKEND_KEY

pytestmark = pytest.mark.lab
ADMIN_SOCKET = "/run/haproxy/admin.sock"
LOGIN = "/horizon/auth/login/?next=/horizon/"


@pytest.fixture
def converged(lab_converged):
    """Every verify check green (deploys only when it is not)."""
    return lab_converged


def servers(lab, node: str) -> dict[tuple[str, str], dict]:
    """HAProxy's `show stat` on a node, read through its admin socket: (proxy, server) -> row."""
    proc = lab_api.node_run(lab.site, node, ["sh", "-c", HaproxyStat(ADMIN_SOCKET).command()], timeout=30)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.strip()
    assert text.startswith("# "), text[:200]
    rows = csv.DictReader(io.StringIO(text[2:]))
    return {(r["pxname"], r["svname"]): r for r in rows if r["svname"] not in ("FRONTEND", "BACKEND")}


def test_haproxy_reports_every_real_backend_up_with_the_sites_checks(converged):
    for node in ("hera", "afrodita"):
        rows = servers(converged, node)
        for service in converged.site.services:
            for backend in service.backends:
                row = rows[(service.name, backend.name)]
                assert row["status"] == "UP", (node, service.name, backend.name, row["check_status"])
                if service.mode == "http":
                    # Layer 7 check passed on the redirect Horizon really sends.
                    assert (row["check_status"], row["check_code"]) == ("L7OK", "302")
                else:
                    assert row["check_status"] == "L4OK"


def test_verify_sees_the_redirect_and_who_answered(converged):
    code, data = verify_json()
    assert code == 0, failing(data)
    horizon = result(data, "servicio-horizon-responde", None)["detail"]
    assert f"(GET /horizon → 302 → 200 {LOGIN})" in horizon
    assert "hades" in horizon and "zeus" in horizon
    memcached = result(data, "servicio-memcached-responde", None)["detail"]
    assert f"; {BACKEND_KEY} = " in memcached and "VERSION 1.6." in memcached
    for service in ("horizon", "memcached"):
        spread = result(data, f"servicio-{service}-reparto", None)
        assert spread["status"] == "passed" and "zeus ←" in spread["detail"] and "hades ←" in spread["detail"]


def test_the_old_strict_200_check_takes_both_horizon_servers_down(converged, tmp_path, monkeypatch):
    # What the data said before: Horizon healthy only on 200. A real Horizon answers 302.
    env = data_copy(tmp_path, {"expect_status: 200-399": "expect_status: 200"})
    proc, result = deploy_cli(env=env)
    # deploy applies it, then sees the servers fall and says so: exit 1, nothing hidden.
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "servicio-horizon-backends" in {p["check"] for p in result["remaining"]}
    monkeypatch.setenv("RUNBOOK_DATA_DIR", env["RUNBOOK_DATA_DIR"])
    try:
        expected = {("servicio-horizon-backends", "hera"), ("servicio-horizon-backends", "afrodita"),
                    ("servicio-horizon-responde", "clúster"), ("servicio-horizon-reparto", "clúster")}
        # HAProxy marks a server DOWN after `fall 3` failed checks, 2 s apart.
        wait_until(lambda failed, r: failed == expected, 40, "los servidores de horizon no caen")
        for node in ("hera", "afrodita"):
            rows = servers(converged, node)
            for name in ("zeus", "hades"):
                row = rows[("horizon", name)]
                assert (row["status"], row["check_status"], row["check_code"]) == ("DOWN", "L7STS", "302")
            assert rows[("memcached", "zeus")]["status"] == "UP"
        code, data = verify_json()
        assert code == 1 and set(failing(data)) == expected
        assert "zeus DOWN (L7STS" in failing(data)[("servicio-horizon-backends", "hera")]
        # What a user gets: HAProxy's 503, from both nodes' point of view (the VIP).
        assert "GET /horizon → 503" in failing(data)[("servicio-horizon-responde", "clúster")]
    finally:
        monkeypatch.delenv("RUNBOOK_DATA_DIR")
        proc, _ = deploy_cli()
        assert proc.returncode == 0, proc.stderr[-2000:]
    wait_converged()
