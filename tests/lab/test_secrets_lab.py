"""Secrets on the lab's real nodes: private files, private backups, no old password in any report.

After a deploy, haproxy.cfg (it holds the stats password) and its backup are
0640 root:haproxy, HAProxy still reads it and serves, and another user of
the node cannot read either. After a password change, verify's table, JSON
and JUnit and deploy's --check show the old password only as a marker.
Each tampering with a mode is caught by verify and healed by one deploy.
"""

from __future__ import annotations

import json
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runbook import lab as lab_api

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
CFG = "/etc/haproxy/haproxy.cfg"
BACKUP = "/etc/haproxy/.haproxy.cfg.runbook-bak"
STALE = "@@SECRETO_stats_password_anterior@@"
LOCK_WAIT_S = 300


def cli(*args: str, runs: Path | None = None) -> subprocess.CompletedProcess:
    env = None
    if runs is not None:
        import os

        env = {**os.environ, "RUNBOOK_RUNS_DIR": str(runs)}
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        proc = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "runbook.cli", *args], cwd=REPO,
                              capture_output=True, text=True, timeout=900, env=env)
        if not (proc.returncode == 2 and "ya hay un despliegue en curso" in proc.stderr):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def deploy(*args: str, runs: Path | None = None) -> subprocess.CompletedProcess:
    proc = cli("deploy", *args, runs=runs)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def on(lab, node: str, script: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = lab_api.node_run(lab.site, node, ["sh", "-c", script], timeout=60)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def secret_file(lab) -> Path:
    return Path(lab.site.secrets["stats_password"].file)


def wait_verified(timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        proc = cli("verify", "--format", "json")
        data = json.loads(proc.stdout)
        if proc.returncode == 0 or time.monotonic() > deadline:
            assert proc.returncode == 0, [r for r in data["results"] if r["status"] != "passed"]
            return data
        time.sleep(1)


@pytest.fixture
def deployed(lab_converged):
    """Every verify check green (deploys only when it is not)."""
    return lab_converged


def test_haproxy_cfg_and_its_backup_are_0640_root_haproxy(deployed):
    for node in deployed.site.nodes:
        out = on(deployed, node.name, f"stat -c '%a %U %G' {CFG} {BACKUP}").stdout.split("\n")
        assert out[:2] == ["640 root haproxy", "640 root haproxy"], (node.name, out)
        assert on(deployed, node.name, "ls -a /etc/haproxy | grep -c runbook-tmp", ok=False).stdout.strip() == "0"
        # HAProxy (its master runs as root) reads it and serves; its own group may read it.
        assert on(deployed, node.name, "systemctl is-active haproxy").stdout.strip() == "active"
        assert on(deployed, node.name, f"runuser -u haproxy -- head -c 1 {CFG}").returncode == 0


def test_another_user_cannot_read_the_password(deployed):
    for node in deployed.site.nodes:
        for path in (CFG, BACKUP):
            proc = on(deployed, node.name, f"runuser -u nobody -- cat {path}", ok=False)
            assert proc.returncode != 0 and "Permission denied" in proc.stdout + proc.stderr, (node.name, path)


def test_verify_after_a_password_change_shows_no_old_password(deployed, tmp_path):
    path = secret_file(deployed)
    old = path.read_text().strip()
    new = "Clave-De-Prueba-" + old[:6]
    runs = tmp_path / "runs"
    try:
        path.write_text(new + "\n")
        table = cli("verify")
        data_proc = cli("verify", "--format", "json")
        junit = tmp_path / "verify.xml"
        junit_proc = cli("verify", "--format", "junit", "--output", str(junit))
        assert (table.returncode, data_proc.returncode, junit_proc.returncode) == (1, 1, 1)
        data = json.loads(data_proc.stdout)
        failing = {(r["check"], r["node"]) for r in data["results"] if r["status"] == "failed"}
        assert failing == {("fichero-haproxy", n.name) for n in deployed.site.nodes}
        diff = next(r for r in data["results"] if r["check"] == "fichero-haproxy")["diff"]
        assert f"-    stats auth admin:{STALE}\n" in diff and "+    stats auth admin:@@SECRETO_stats_password@@\n" in diff
        outputs = {"tabla": table.stdout + table.stderr, "json": data_proc.stdout, "junit": junit.read_text()}
        for name, text in outputs.items():
            assert old not in text and new not in text, name
            assert STALE in text, name
        check = cli("deploy", "--check", runs=runs)
        assert check.returncode == 0 and STALE in check.stdout
        assert old not in check.stdout + check.stderr and new not in check.stdout + check.stderr
        deploy(runs=runs)
        wait_verified()
        for transcript in runs.glob("*.jsonl"):
            assert old not in transcript.read_text() and new not in transcript.read_text()
        for node in deployed.site.nodes:
            modes = on(deployed, node.name, f"stat -c '%a %U %G' {CFG} {BACKUP}").stdout.split("\n")[:2]
            assert modes == ["640 root haproxy", "640 root haproxy"]
    finally:
        path.write_text(old + "\n")
        deploy()
    wait_verified()


@pytest.mark.parametrize(
    ("tamper", "detail"),
    [
        (f"chmod 644 {BACKUP}", "la copia /etc/haproxy/.haproxy.cfg.runbook-bak tiene permisos 644 root haproxy"),
        (f"chgrp adm {BACKUP}", "la copia /etc/haproxy/.haproxy.cfg.runbook-bak tiene permisos 640 root adm"),
        (f"cp -p {CFG} /etc/haproxy/.haproxy.cfg.runbook-tmp && chmod 604 /etc/haproxy/.haproxy.cfg.runbook-tmp",
         "la copia /etc/haproxy/.haproxy.cfg.runbook-tmp tiene permisos 604"),
        (f"chmod 644 {CFG}", "permisos '644 root haproxy', se esperaba '640 root haproxy'"),
    ],
    ids=["backup-644", "backup-otro-grupo", "temporal-abierto", "fichero-644"],
)
def test_an_open_mode_is_caught_by_verify_and_healed_by_one_deploy(deployed, tamper, detail):
    node = deployed.site.nodes[-1].name
    on(deployed, node, tamper)
    proc = cli("verify", "--format", "json", "--node", node)
    data = json.loads(proc.stdout)
    bad = [r for r in data["results"] if r["status"] != "passed" and r["status"] != "skipped"]
    assert proc.returncode == 1 and [r["check"] for r in bad] == ["fichero-haproxy"], bad
    assert detail in bad[0]["detail"]
    first = json.loads(deploy("--json").stdout)
    changed = [o for o in first["outcomes"] if o["status"] == "changed"]
    assert [(o["node"], o["target"]) for o in changed] == [(node, CFG)]
    second = json.loads(deploy("--json").stdout)
    assert not [o for o in second["outcomes"] if o["status"] == "changed"]
    wait_verified()
    modes = on(deployed, node, f"stat -c '%a %U %G' {CFG} {BACKUP}").stdout.split("\n")[:2]
    assert modes == ["640 root haproxy", "640 root haproxy"]
    assert on(deployed, node, "ls -a /etc/haproxy | grep -c runbook-tmp", ok=False).stdout.strip() == "0"


def test_junit_file_is_valid_after_all_this(deployed, tmp_path):
    out = tmp_path / "v.xml"
    assert cli("verify", "--format", "junit", "--output", str(out)).returncode == 0
    assert ET.parse(out).getroot().get("failures") == "0"
