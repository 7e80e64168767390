"""The balancers' firewall on the lab: what it lets in, what it drops, and a file nft refuses.

The converged lab's firewall (step cortafuegos) must let the lab's client reach the services on
the VIP and the stats page, and drop the stats page and SSH for any other LAN address (a
backend's). A new file that `nft -c -f` refuses leaves the old file and the rules in use as they
were; once the cause is gone, one deploy repairs it and the next changes nothing.
"""

from __future__ import annotations

import subprocess

import pytest
from support.lab_fixtures import deploy_lab

from runbook import lab as lab_api
from runbook.lab.layout import layout
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
