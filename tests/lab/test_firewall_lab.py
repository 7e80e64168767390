"""The balancers' firewall on the lab: what it lets in, what it drops, and a file nft refuses.

The converged lab's firewall (step cortafuegos) must let the lab's client reach the services on
the VIP and the stats page, and drop the stats page and SSH for any other LAN address (a
backend's). A new file that `nft -c -f` refuses leaves the old file and the rules in use as they
were; once the cause is gone, one deploy repairs it and the next changes nothing.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from support.lab_fixtures import deploy_lab, vip_holders

from runbook import lab as lab_api
from runbook.lab.layout import layout
from runbook.plan.steps import MAINTENANCE_FILE
from runbook.vocabulary import Status

pytestmark = pytest.mark.lab
NFTABLES = "/etc/nftables.conf"


def reaches(netns: str, address, port: int) -> bool:
    """A TCP connection from `netns` to address:port opens within 2 s (a dropped SYN never does)."""
    proc = subprocess.run(["ip", "netns", "exec", netns, "nc", "-z", "-w", "2", str(address), str(port)],
                          capture_output=True, text=True, timeout=15)
    return proc.returncode == 0


def on(lab, node: str, script: str) -> str:
    proc = lab_api.node_run(lab.site, node, ["sh", "-c", script], timeout=60)
    assert proc.returncode == 0, f"{node}$ {script}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def test_the_client_gets_in_and_another_lan_address_does_not(lab_converged):
    site = lab_converged.site
    where = layout(site)
    zeus = next(b for b in where.backends if b.name == "zeus")
    assert not any(zeus.address.ip in net for net in site.stats_sources)  # a LAN address not allowed
    for node in site.nodes:
        # The services on the VIP, from anyone on the LAN.
        for svc in site.services:
            assert reaches(where.client.netns, site.vip, svc.port), (node.name, svc.name)
            assert reaches(zeus.netns, site.vip, svc.port), (node.name, svc.name)
        # The stats page: the client (allowed) yes, a backend no.
        assert reaches(where.client.netns, node.lan_address, site.stats.port), node.name
        assert not reaches(zeus.netns, node.lan_address, site.stats.port), node.name
        # SSH: only from the management network (this machine, through the lab's namespace).
        assert not reaches(where.client.netns, node.lan_address, site.ssh.port), node.name
        assert reaches(where.netns, node.management_address, site.ssh.port), node.name


def test_a_file_nft_refuses_leaves_the_old_file_and_rules(lab_converged):
    plan = lab_converged.plan
    # Without /etc/protocols, nft cannot read «vrrp» or «icmp»: the new file fails its check.
    on(lab_converged, "hera", f"mv /etc/protocols /etc/protocols.aparte && echo '# editado a mano' >> {NFTABLES}")
    try:
        rules = on(lab_converged, "hera", "nft list ruleset")
        result = deploy_lab(plan)
        assert result.exit_code != 0
        failed = [o for o in result.outcomes if o.status == Status.FAILED]
        assert [(o.node, o.step) for o in failed] == [("hera", "cortafuegos")]
        assert "la validación falló (nft -c -f %s)" in failed[0].message
        assert "Could not resolve protocol name" in failed[0].message
        assert on(lab_converged, "hera", f"tail -n 1 {NFTABLES}") == "# editado a mano\n"  # the old file
        assert on(lab_converged, "hera", "nft list ruleset") == rules  # the rules in use, untouched
        assert on(lab_converged, "hera", "ls -a /etc | grep -c '^.nftables.conf.runbook-tmp$' || true") == "0\n"
    finally:
        on(lab_converged, "hera", "mv /etc/protocols.aparte /etc/protocols")
    healed = deploy_lab(plan)
    assert healed.exit_code == 0, healed.errors
    assert {(o.node, o.step) for o in healed.outcomes if o.status == Status.CHANGED} == {("hera", "cortafuegos")}
    again = deploy_lab(plan)
    assert again.exit_code == 0 and not [o for o in again.outcomes if o.status == Status.CHANGED]


# A connection the client opens with the VIP's holder, then uses once the VIP has moved: a
# request sent on it comes back with the first line of the answer, or the error it met.
OPEN_THEN_ASK = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print("abierta", flush=True)
sys.stdin.readline()
s.sendall(b"GET / HTTP/1.0\\r\\nHost: " + sys.argv[1].encode() + b"\\r\\n\\r\\n")
try:
    print(s.recv(200).split(b"\\r\\n")[0].decode() or "cerrada sin respuesta")
except OSError as exc:
    print(type(exc).__name__)
"""


def wait_until(condition, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"sin {what} en {seconds} s"
        time.sleep(0.2)


def handover_element(lab, node: str) -> str:
    """The VIP in `node`'s handover set: "permanent", "expiring" or "none"."""
    listed = on(lab, node, "nft list set ip traspaso ip_virtual")
    if f"elements = {{ {lab.site.vip}" not in listed:
        return "none"
    return "expiring" if "expires" in listed else "permanent"


def ask_across_a_handover(lab, wait_for_the_window: bool) -> str:
    """Open a connection with hera, move the VIP to afrodita (planned), then use the connection.

    On the way, the handover set of the node taking the VIP: it holds the VIP while waiting
    (from the file or notify_backup), so nothing is cut before notify_master runs, and for
    5 s once it has taken it (notify_master swaps the element for one that expires).
    """
    site = lab.site
    assert handover_element(lab, "afrodita") == "permanent"
    port = next(s.port for s in site.services if s.mode == "http")
    client = subprocess.Popen(
        ["ip", "netns", "exec", layout(site).client.netns, "python3", "-I", "-c", OPEN_THEN_ASK,
         str(site.vip), str(port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout.readline() == "abierta\n"
        on(lab, "hera", f"echo 1 > {MAINTENANCE_FILE}")
        wait_until(lambda: vip_holders(lab) == ["afrodita"], "traspaso a afrodita")
        assert handover_element(lab, "afrodita") == "expiring"
        if wait_for_the_window:
            wait_until(lambda: handover_element(lab, "afrodita") == "none", "el fin de los 5 s de traspaso", 10)
        answer, _ = client.communicate("\n", timeout=15)
        return answer.strip()
    finally:
        client.kill()
        on(lab, "hera", f"rm -f {MAINTENANCE_FILE}")
        wait_until(lambda: vip_holders(lab) == ["hera"], "la IP de vuelta en hera")


def waits_with_the_vip_in_its_set(lab) -> None:
    # Back to waiting, afrodita holds the VIP again, from notify_backup (notify_master emptied it).
    wait_until(lambda: handover_element(lab, "afrodita") == "permanent", "la IP en espera en afrodita", 5)


def test_a_connection_open_across_a_planned_handover_is_finished_by_the_old_holder(lab_converged):
    # Within 5 s of the takeover, afrodita hands the connection's packets back to hera, which
    # accepts the VIP and still knows the connection: the request gets its answer.
    assert ask_across_a_handover(lab_converged, wait_for_the_window=False).startswith("HTTP/1.")
    waits_with_the_vip_in_its_set(lab_converged)
    # Once the window is over, afrodita no longer hands anything back: the same move costs the
    # connection a RST, which is what the window saves.
    assert ask_across_a_handover(lab_converged, wait_for_the_window=True) == "ConnectionResetError"
    waits_with_the_vip_in_its_set(lab_converged)
