"""The exported Ansible project on the lab's real Debian nodes, with stock ansible-playbook.

The story of the issue, in order: a fresh lab (nodes with nothing
installed) → `./rb export ansible` → `ansible-playbook -i inventory.yml
site.yml` → `./rb verify` passes → a second run reports changed=0 →
`--check --diff` reports nothing → `./rb deploy` finds nothing to change
(the two runners agree on what "done" is). No secret value anywhere in the
project or in ansible-playbook's output. Then the failure path: a config
that the real haproxy -c refuses stops the rollout on the first node, the
nodes keep their old files, their running services and the VIP.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.lab_fixtures import recreate, vip_holders

from runbook import lab as lab_api
from runbook.names import data_dir

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
RECAP_RE = re.compile(r"^(\S+)\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
NODES = ("hera", "afrodita")


def export(out: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(REPO / "rb"), "export", "ansible", "--output", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return proc


def playbook(project: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict[str, dict[str, int]]]:
    """Stock ansible-playbook, run from the project (its ansible.cfg), as the issue says."""
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "inventory.yml", "site.yml", *args], cwd=project,
                          capture_output=True, text=True, timeout=1200, env={**os.environ, "ANSIBLE_NOCOLOR": "1"})
    recap = {
        m.group(1): dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups()[1:]), strict=True))
        for m in RECAP_RE.finditer(proc.stdout)
    }
    return proc, recap


def invoke(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / ".venv" / "bin" / "invoke"), *args], cwd=REPO, capture_output=True,
                          text=True, timeout=900)


def secret(lab) -> str:
    return Path(lab.site.secrets["stats_password"].file).read_text().strip()


def node_state(lab) -> dict[str, str]:
    """Managed files (hash, mode, mtime), backups, service PIDs and the VIP, per node."""
    script = (
        "for f in /etc/keepalived/keepalived.conf /etc/haproxy/haproxy.cfg; do "
        "echo \"$f $(sha256sum < $f | cut -c1-64) $(stat -c '%a %U %G %Y' $f)\"; done; "
        "ls -a /etc/haproxy /etc/keepalived; "
        "systemctl show -p MainPID -p ActiveState haproxy keepalived; ip -o -4 addr show dev eth1"
    )
    out = {}
    for node in NODES:
        proc = lab_api.node_run(lab.site, node, ["sh", "-c", script], timeout=30)
        assert proc.returncode == 0, proc.stderr
        out[node] = proc.stdout
    return out


@pytest.fixture(scope="module")
def first_run(lab, tmp_path_factory):
    """A fresh lab, the export, one ansible-playbook run: (project, process, recap, holders right after)."""
    recreate(lab)
    project = tmp_path_factory.mktemp("ansible") / "ansible-lab"
    export(project)
    proc, recap = playbook(project)
    return project, proc, recap, vip_holders(lab)


def test_fresh_lab_converges_with_ansible_playbook(first_run):
    _project, proc, recap, _holders = first_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    for node in NODES:
        assert recap[node]["failed"] == 0 and recap[node]["unreachable"] == 0
        assert recap[node]["changed"] >= 5, recap  # files, ifup, packages, reloads...


def test_rolling_steps_go_one_node_at_a_time_vip_holder_last(first_run):
    _project, proc, _recap, holders = first_run
    for step in ("keepalived", "haproxy"):
        plays = re.findall(rf"^PLAY \[{step} · [^\]]* un nodo cada vez[^\]]*\].*\n\nTASK[^\n]*\n\w+: \[(\w+)\]",
                           proc.stdout, re.M)
        # One play per node (serial: 1), the lowest priority first; for haproxy, hera
        # already holds the VIP (keepalived put it there), so it goes last.
        assert plays == ["afrodita", "hera"], (step, plays)
    assert holders == ["hera"]  # the wait after the last node: on the highest priority


def test_verify_passes_after_ansible(first_run):
    proc = invoke("verify", "--format", "json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 0, [r for r in data["results"] if r["status"] in ("failed", "error")]


def test_second_run_changes_nothing(first_run):
    project, *_ = first_run
    proc, recap = playbook(project)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in recap.values()), recap


def test_check_diff_on_the_converged_lab_reports_nothing(first_run, lab):
    project, *_ = first_run
    before = node_state(lab)
    proc, recap = playbook(project, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in recap.values()), recap
    assert "--- before" not in proc.stdout  # no diff shown: nothing would change
    assert node_state(lab) == before


def test_deploy_agrees_that_nothing_is_left_to_do(first_run):
    proc = invoke("deploy", "--json")
    result = json.loads(proc.stdout)
    assert proc.returncode == 0, result["errors"]
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in result["recap"].values()), result["recap"]


def test_no_secret_in_the_project_or_in_the_output(first_run, lab, tmp_path):
    project, first, *_ = first_run
    value = secret(lab)
    for path in project.rglob("*"):
        if path.is_file():
            assert value not in path.read_text(errors="replace"), path
    assert value not in first.stdout + first.stderr
    proc, _ = playbook(project, "--check", "--diff", "-v", "--tags", "haproxy")
    assert proc.returncode == 0 and "haproxy.cfg" in proc.stdout
    assert "TASK [paquetes" not in proc.stdout  # --tags: one step, as deploy --step
    assert value not in proc.stdout + proc.stderr
    # The secret really is on the node: the project read it at run time.
    cfg = lab_api.node_run(lab.site, "hera", ["cat", "/etc/haproxy/haproxy.cfg"]).stdout
    assert f"stats auth admin:{value}\n" in cfg


def test_refused_config_stops_the_rollout_and_nodes_keep_serving(first_run, lab, tmp_path):
    project, *_ = first_run
    # A service named "stats" passes the data model but clashes with the stats
    # section in haproxy.cfg: only the real `haproxy -c` can tell.
    data = tmp_path / "site_data"
    data.mkdir()
    for f in data_dir().glob("*.yaml"):
        (data / f.name).write_text(f.read_text().replace("  - name: memcached\n", "  - name: stats\n"))
    broken = tmp_path / "ansible-roto"
    export(broken, env={"RUNBOOK_DATA_DIR": str(data)})
    before = node_state(lab)
    proc, recap = playbook(broken)
    assert proc.returncode == 2
    assert recap["afrodita"]["failed"] == 1 and recap["hera"]["failed"] == 0
    assert "la validación falló (haproxy -c -f %s):" in proc.stdout
    assert "has the same name as proxy 'stats'" in proc.stdout
    # The rollout stopped after afrodita: no haproxy play for hera.
    rolled = re.findall(r"^PLAY \[haproxy · [^\]]* un nodo cada vez[^\]]*\].*\n\nTASK[^\n]*\n\w+: \[(\w+)\]",
                        proc.stdout, re.M)
    assert rolled == ["afrodita"]
    assert node_state(lab) == before  # same files, same PIDs, same VIP
    assert vip_holders(lab) == ["hera"]
    assert secret(lab) not in proc.stdout
    # The good project still finds nothing to do.
    proc, recap = playbook(project)
    assert all(r["changed"] == 0 for r in recap.values()), recap
