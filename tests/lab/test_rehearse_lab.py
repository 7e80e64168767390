"""`./rb rehearse SITE` on a site no other test has seen: green, reachable, then taken down.

The site is a user's own (no `lab:` block), written nowhere else in the
repository: unusual names, its LAN on ens18, three web servers on port 8080
answering 200 on /healthz, round robin, a VIP on 10.20.0.100, and a TCP
service on a privileged port (LDAP's 389: its stand-in is a memcached
there, what verify asks a tcp service). Its addresses
are rendered, never contacted: the rehearsal maps them into the
documentation ranges. It runs in a lab of its own (namespace rb-rh…, state
in /var/lib/runbook/rh-faro-del-norte), beside the main lab.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from support.hostile_cases import REPO, run_cli

from runbook.rehearse import mapping

pytestmark = pytest.mark.lab

NAME = "faro-del-norte"
SITE = f"""\
name: {NAME}
title: Faro del norte
network:
  lan: {{interface: ens18, subnet: 10.20.0.0/24, gateway: 10.20.0.1}}
  management: {{interface: enp7s0, subnet: 10.30.0.0/24}}
vip: 10.20.0.100
vrrp: {{router_id: 33}}
ssh: {{user: root, identity: ~/.ssh/id_ed25519_faro}}
secrets:
  stats_password: {{env: FARO_STATS_PASSWORD}}
stats: {{port: 9100}}
nodes:
  - {{name: babor, lan_address: 10.20.0.11, management_address: 10.30.0.11, priority: 120}}
  - {{name: estribor, lan_address: 10.20.0.12, management_address: 10.30.0.12, priority: 90}}
servers:
  - {{name: vela-a, lan_address: 10.20.0.21}}
  - {{name: vela-b, lan_address: 10.20.0.22}}
  - {{name: vela-c, lan_address: 10.20.0.23}}
services:
  - name: portal
    mode: http
    port: 80
    balance: roundrobin
    health_check: {{path: /healthz, expect_status: 200}}
    backends:
      - {{name: vela-a, address: 10.20.0.21, port: 8080}}
      - {{name: vela-b, address: 10.20.0.22, port: 8080}}
      - {{name: vela-c, address: 10.20.0.23, port: 8080}}
  - name: directorio
    mode: tcp
    port: 389
    backends:
      - {{name: vela-a, address: 10.20.0.21, port: 389}}
      - {{name: vela-b, address: 10.20.0.22, port: 389}}
"""
STAGES = ["laboratorio (lab.up)", "despliegue (deploy)", "verificación (verify)",
          "segundo despliegue (nada que cambiar)", "simulacro: planned", "simulacro: node-crash"]


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "procedure.yaml").write_bytes((REPO / "site_data" / "procedure.yaml").read_bytes())
    (folder / f"{NAME}.yaml").write_text(SITE)
    return folder


def namespaces() -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in listed.splitlines() if line.startswith(mapping.namespace(NAME))]


def test_a_site_no_test_has_seen_is_rehearsed_green_reached_and_taken_down(data, tmp_path):
    env = {"RUNBOOK_LOCK_DIR": str(tmp_path / "locks"), "RUNBOOK_RUNS_DIR": str(tmp_path / "runs")}
    shutil.rmtree(mapping.state_dir(NAME) / "runs", ignore_errors=True)  # an earlier rehearsal's
    try:
        result = run_cli(["rehearse", NAME], data, env=env, timeout=900)
        assert result.code == 0, result.stdout + result.stderr[-3000:]
        lines = result.stdout.splitlines()
        assert lines[0] == f"Ensayo del sitio {NAME} en el laboratorio"
        rows = lines[4:10]
        for title, row in zip(STAGES, rows, strict=True):
            assert row.startswith(title) and row[len(title):].split()[0] == "ok", row
        assert ("balanceadores babor (ens18), estribor (ens18); backends vela-a :8080,389, vela-b :8080,389, "
                "vela-c :8080") in rows[0]
        assert rows[3].endswith("nada que cambiar")
        assert any(line.startswith("Todo en verde en ") for line in lines)
        assert f"  ./rb lab.down --site {NAME}" in result.stdout
        # The derived site lives in the rehearsal's state dir, never beside yours.
        assert sorted(p.name for p in data.iterdir()) == [f"{NAME}.yaml", "procedure.yaml"]
        assert mapping.site_file(NAME).exists()
        # Its two deploys' transcripts beside it, none among your production deploys' (runs/).
        assert not (tmp_path / "runs").exists()
        assert len(list((mapping.state_dir(NAME) / "runs").glob(f"*-{NAME}.jsonl"))) == 2

        # Your shape, on the lab's addresses: the node is babor, the VIP on its ens18, your check.
        command = ("hostname; ip -br -4 addr show ens18; sed -n '/^listen portal/,/^$/p' /etc/haproxy/haproxy.cfg "
                   "| grep -E '^ +(balance|http-check|server) '; grep -rlF 10.20.0. /etc/haproxy /etc/keepalived /etc/network "
                   "|| echo ninguna")
        ssh = run_cli(["lab.ssh", "--site", NAME, "babor", "--", command], data, env=env)
        assert ssh.code == 0, ssh.stderr
        out = ssh.stdout.splitlines()
        assert out[0] == "babor"
        assert out[1].split()[0].split("@")[0] == "ens18" and "198.51.100.100/32" in out[1].split()
        assert out[2:] == [
            "    balance roundrobin",
            "    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 198.51.100.100",
            "    http-check expect status 200",
            "    server vela-a 198.51.100.10:8080 check",
            "    server vela-b 198.51.100.11:8080 check",
            "    server vela-c 198.51.100.12:8080 check",
            "ninguna",  # none of your addresses in any file deploy wrote
        ]
    finally:
        down = run_cli(["lab.down", "--site", NAME], data, env=env, timeout=300)
    assert down.code == 0, down.stderr
    assert namespaces() == []
    again = run_cli(["rehearse", NAME, "--down"], data, env=env, timeout=300)
    assert (again.code, again.stdout) == (0, f"ensayo de {NAME} detenido: sin espacios de red, montajes ni "
                                             "procesos\n")
