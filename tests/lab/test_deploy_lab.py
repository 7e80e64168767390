"""`invoke deploy` on the lab's real Debian nodes, as a user runs it.

Order matters and is the story of the issue: a fresh lab is deployed, the
VIP serves both backends, a re-run changes nothing, `--check` shows a hand
edit without touching anything, an invalid config is refused while the
nodes keep serving, and unreachable or impostor nodes give the documented
errors. Every destructive test puts the nodes back (a re-deploy) at the end.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from support.lab_fixtures import recreate, vip_holders

from runbook import lab as lab_api
from runbook.deploy.lock import deploy_lock
from runbook.names import data_dir

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
MANAGED = [
    "/etc/network/interfaces.d/eth1",
    "/etc/sysctl.d/60-haproxy-nonlocal-bind.conf",
    "/etc/sysctl.d/60-ip-virtual-arp.conf",
    "/etc/keepalived/keepalived.conf",
    "/etc/haproxy/haproxy.cfg",
    "/etc/nftables.conf",
]
LOCK_WAIT_S = 300  # other engineers' deploys may hold the lab's lock for a while


def deploy_cli(*args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, dict | None]:
    """`invoke deploy --json ...`; waits its turn if another deploy holds the lock."""
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        proc = subprocess.run(
            [str(REPO / ".venv" / "bin" / "invoke"), "deploy", "--json", *args],
            cwd=REPO, capture_output=True, text=True, timeout=900, env={**os.environ, **(env or {})},
        )
        busy = proc.returncode == 2 and "ya hay un despliegue en curso" in proc.stderr
        if not busy or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, (json.loads(proc.stdout) if proc.stdout.strip() else None)


def secret(lab) -> str:
    return Path(lab.site.secrets["stats_password"].file).read_text().strip()


def node_state(lab) -> dict:
    """What a deploy could change on the nodes: managed files (hash, mode, owner), backups, units, VIP,
    the VIP's local route and the ARP settings."""
    script = (
        "for f in " + " ".join(MANAGED) + "; do "
        "if [ -f $f ]; then echo \"$f $(sha256sum < $f | cut -c1-64) $(stat -c '%a %U %G %Y' $f)\"; "
        "else echo \"$f absent\"; fi; done; "
        "ls -a /etc/haproxy /etc/keepalived; "
        "systemctl show -p MainPID -p ActiveState haproxy keepalived; "
        "ip -o -4 addr show dev eth1; ip -4 route show table local type local dev lo; "
        "sysctl net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce"
    )
    state = {}
    for node in lab.site.nodes:
        proc = lab_api.node_run(lab.site, node.name, ["sh", "-c", script], timeout=30)
        assert proc.returncode == 0, proc.stderr
        state[node.name] = proc.stdout
    return state


def get(lab, path: str, source: str) -> str:
    """Which backend served a browser's visit (redirects followed, cookies kept) from `source`."""
    proc = lab_api.client_run(
        lab.site, ["curl", "-sS", "-m", "5", "-L", "-b", "", "-o", "/dev/null", "-w", "%{http_code} %header{x-backend}",
                   "--interface", source, f"http://{lab.site.vip}{path}"], timeout=15
    )
    assert proc.returncode == 0, f"{source}: {proc.stderr}"
    code, backend = proc.stdout.split(" ", 1)
    assert code == "200", f"{source}: {proc.stdout}"
    return backend


def wait_served(lab, timeout: float = 20.0) -> None:
    """The VIP answers: Horizon's login page, after its redirect (right after a reload the
    backends' health checks need ~2 s)."""
    source = str(lab.site.lab.client.addresses[0])
    deadline = time.monotonic() + timeout
    while True:
        proc = lab_api.client_run(lab.site, ["curl", "-sS", "-m", "3", "-L", "-o", "/dev/null", "-w", "%{http_code}",
                                             "--interface", source, f"http://{lab.site.vip}/horizon"], timeout=10)
        if proc.stdout == "200" or time.monotonic() > deadline:
            assert proc.stdout == "200", f"la VIP no responde: {proc.stdout} {proc.stderr}"
            return
        time.sleep(0.5)


def data_copy(tmp_path: Path, edits: dict[str, str]) -> dict[str, str]:
    """Env for a copy of the site data in use with `lab.yaml` edited (old text -> new text).

    The data in use: RUNBOOK_DATA_DIR's when set, so that a run on a private lab deploys to that
    lab and never to the shared one of site_data/."""
    data = tmp_path / "site_data"
    data.mkdir()
    for f in data_dir().glob("*.yaml"):
        (data / f.name).write_text(f.read_text())
    text = (data / "lab.yaml").read_text()
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    (data / "lab.yaml").write_text(text)
    return {"RUNBOOK_DATA_DIR": str(data)}


@pytest.fixture(scope="module")
def first_deploy(lab):
    """A fresh lab (every node a new server), then one deploy."""
    recreate(lab)
    proc, result = deploy_cli()
    # Read at once: deploy only returns after VRRP has settled on the node
    # the priorities choose.
    lab.holders_after_first_deploy = vip_holders(lab)
    return proc, result


@pytest.fixture
def converged(first_deploy, lab_converged):
    """The cluster as the plan says (deploys only when verify is not green), the VIP serving."""
    wait_served(lab_converged)
    return lab_converged


# ------------------------------------------------------------ a fresh lab


def test_fresh_lab_deploy_exits_0_and_changes_both_nodes(first_deploy, lab):
    proc, result = first_deploy
    assert proc.returncode == 0, (proc.stderr, result and result["errors"])
    assert result["exit_code"] == 0 and result["errors"] == []
    for node in ("hera", "afrodita"):
        assert result["recap"][node]["failed"] == 0
        assert result["recap"][node]["changed"] >= 5  # files, ifup, packages...
    installed = {(o["node"], o["target"]) for o in result["outcomes"] if o["status"] == "changed"}
    assert ("hera", "/etc/haproxy/haproxy.cfg") in installed
    assert ("afrodita", "apt-get update && apt-get install -y haproxy keepalived psmisc nftables") in installed
    assert secret(lab) not in proc.stdout + proc.stderr
    assert secret(lab) not in Path(result["transcript"]).read_text()


def test_vip_answers_and_both_backends_serve(first_deploy, lab):
    wait_served(lab)
    served = Counter()
    for address in lab.site.lab.client.addresses:
        answers = {get(lab, "/horizon", str(address)) for _ in range(3)}
        # balance source: one client address always lands on the same backend.
        assert len(answers) == 1, f"{address}: {answers}"
        served[answers.pop()] += 1
    assert set(served) == {"zeus", "hades"}, served


def test_vip_is_on_exactly_one_node_the_highest_priority(first_deploy, lab):
    assert lab.holders_after_first_deploy == [lab.site.vip_owner.name]
    assert vip_holders(lab) == [lab.site.vip_owner.name]


def test_second_deploy_changes_nothing(first_deploy, lab):
    proc, result = deploy_cli()
    assert proc.returncode == 0, proc.stderr
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in result["recap"].values()), result["recap"]
    assert {o["status"] for o in result["outcomes"]} == {"ok", "skipped"}
    skipped = {o["step"] for o in result["outcomes"] if o["status"] == "skipped"}
    assert skipped == {"arranque-lento"}  # Ubuntu 14.04 only: no /etc/init/failsafe.conf here


# ------------------------------------------------------------------ --check


def test_check_shows_a_hand_edit_as_a_diff_and_changes_nothing(converged, lab):
    edit = "# editado a mano en afrodita"
    proc = lab_api.node_run(lab.site, "afrodita", ["sh", "-c", f"echo '{edit}' >> /etc/haproxy/haproxy.cfg"])
    assert proc.returncode == 0, proc.stderr
    before = node_state(lab)
    proc, result = deploy_cli("--check")
    after = node_state(lab)
    assert before == after
    assert proc.returncode == 0 and result["check"] is True
    would = [(o["node"], o["target"]) for o in result["outcomes"] if o["status"] == "changed"]
    assert would == [("afrodita", "/etc/haproxy/haproxy.cfg")]
    diff = next(o["diff"] for o in result["outcomes"] if o["status"] == "changed")
    assert f"-{edit}" in diff and "+++ /etc/haproxy/haproxy.cfg (según el plan)" in diff
    assert secret(lab) not in proc.stdout and secret(lab) not in Path(result["transcript"]).read_text()
    # The human form shows the same diff.
    text = subprocess.run([str(REPO / ".venv" / "bin" / "invoke"), "deploy", "--check", "--node", "afrodita"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert text.returncode == 0 and edit in text.stdout and "cambiaría" in text.stdout
    # The real deploy then puts it back: exactly that file changes.
    proc, result = deploy_cli()
    changed = [(o["node"], o["target"]) for o in result["outcomes"] if o["status"] == "changed"]
    assert changed == [("afrodita", "/etc/haproxy/haproxy.cfg")]
    assert edit not in lab_api.node_run(lab.site, "afrodita", ["cat", "/etc/haproxy/haproxy.cfg"]).stdout


# -------------------------------------------------- validation and faults


def test_invalid_haproxy_config_is_refused_and_nodes_keep_serving(converged, lab, tmp_path):
    # A service named "stats" passes the data model but clashes with the stats
    # section in haproxy.cfg: only the real `haproxy -c` can tell.
    env = data_copy(tmp_path, {"  - name: memcached\n": "  - name: stats\n"})
    before = node_state(lab)
    proc, result = deploy_cli(env=env)
    assert proc.returncode == 1, proc.stderr
    first = "afrodita"  # backup node first in the rollout (hera holds the VIP)
    assert result["errors"][0].startswith(f"{first} · paso haproxy: la validación falló (haproxy -c -f %s):")
    assert "has the same name as proxy 'stats'" in result["errors"][0]
    assert result["stopped"] == {"hera": f"despliegue escalonado detenido porque falló {first}"}
    after = node_state(lab)
    assert before == after  # same files, same haproxy/keepalived PIDs, same VIP
    wait_served(lab, timeout=5)
    assert vip_holders(lab) == ["hera"]


def test_unreachable_node_gives_the_documented_error(converged, lab, tmp_path):
    # afrodita moved to an address nobody has; the ssh_config still routes it
    # through the lab namespace (never out of this machine).
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(Path(lab.paths["ssh_config"]).read_text().replace("192.0.2.11", "192.0.2.99"))
    env = data_copy(tmp_path, {
        "management_address: 192.0.2.11": "management_address: 192.0.2.99",
        f"config: {lab.paths['ssh_config']}": f"config: {ssh_config}",
    })
    proc, result = deploy_cli(env=env)
    assert proc.returncode == 2
    assert re.match(r"^afrodita · conexión: .*192\.0\.2\.99", result["errors"][0]), result["errors"]
    assert result["unreachable"].keys() == {"afrodita"}
    assert result["recap"]["hera"]["failed"] == 0 and result["recap"]["hera"]["ok"] > 0
    human = subprocess.run([str(REPO / ".venv" / "bin" / "invoke"), "deploy", "--step", "paquetes"], cwd=REPO,
                           capture_output=True, text=True, timeout=120, env={**os.environ, **env})
    assert human.returncode == 2 and "afrodita · conexión:" in human.stdout and "inalcanzable" in human.stdout


def test_host_key_mismatch_is_refused(converged, lab, tmp_path):
    impostor = tmp_path / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)], check=True)
    keytype, blob = impostor.with_suffix(".pub").read_text().split()[:2]
    # hera's real keys out, the impostor's in: whatever hera presents cannot match.
    known = [line for line in Path(lab.paths["known_hosts"]).read_text().splitlines()
             if not line.startswith("hera,")]
    known.append(f"hera,{lab.site.node('hera').management_address} {keytype} {blob}")
    (tmp_path / "known_hosts").write_text("\n".join(known) + "\n")
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(Path(lab.paths["ssh_config"]).read_text().replace(
        str(lab.paths["known_hosts"]), str(tmp_path / "known_hosts")))
    env = data_copy(tmp_path, {f"config: {lab.paths['ssh_config']}": f"config: {ssh_config}"})
    proc, result = deploy_cli(env=env)
    assert proc.returncode == 2
    assert result["unreachable"].keys() == {"hera"}
    assert "NO coincide con known_hosts" in result["unreachable"]["hera"]


def test_auth_failure_names_the_node(converged, lab, tmp_path):
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(Path(lab.paths["ssh_config"]).read_text().replace(
        f"IdentityFile {lab.paths['key']}", f"IdentityFile {stranger}"))
    env = data_copy(tmp_path, {f"config: {lab.paths['ssh_config']}": f"config: {ssh_config}"})
    proc, result = deploy_cli(env=env)
    assert proc.returncode == 2
    assert result["unreachable"].keys() == {"hera", "afrodita"}
    assert "autenticación rechazada como root@192.0.2.10" in result["unreachable"]["hera"]


def test_second_concurrent_deploy_is_refused(converged, lab):
    with deploy_lock(lab.site.name):
        proc = subprocess.run([str(REPO / ".venv" / "bin" / "invoke"), "deploy"], cwd=REPO,
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"ya hay un despliegue en curso para el sitio lab (pid {os.getpid()})" in proc.stderr
