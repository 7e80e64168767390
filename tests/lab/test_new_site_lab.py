"""`./rb new --from-nodes` against the lab's real nodes: read-only, strict host keys, right proposals.

The lab's ssh_config gives access as it would to production servers. The
nodes are only read (the test keeps them as `up` made them), the known_hosts
file is never written, and a node whose key is not known is refused with
nothing written.
"""

from __future__ import annotations

import hashlib
import shutil

import pytest
from support.hostile_cases import REPO, run_cli

from runbook.data.load import load_site

pytestmark = pytest.mark.lab


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(REPO / "site_data" / "procedure.yaml", folder)
    return folder


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_from_nodes_proposes_the_labs_own_names_nics_addresses_and_os(lab_up_not_deployed, data):
    """Fresh nodes, as `up` made them: the LAN interface has no address yet (the runbook's first
    step gives it one), so it is proposed by name and the LAN addresses are given, node by node."""
    lab = lab_up_not_deployed
    known_hosts = lab.paths["known_hosts"]
    before = digest(known_hosts)
    names = [n.name for n in lab.site.nodes]
    lan_addresses = [arg for n in lab.site.nodes for arg in ("--node", f"lan={n.lan_address}")]
    result = run_cli(["new", "ensayo", "--batch", "--from-nodes", ",".join(f"root@{n}" for n in names),
                      "--ssh-config", str(lab.paths["ssh_config"]), "--vip", str(lab.site.vip),
                      "--lan-subnet", str(lab.site.network.lan.subnet), *lan_addresses,
                      "--server", "name=web1,lan=198.51.100.12", "--service", "name=web,port=80"], data, timeout=120)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Leído de los nodos (solo lectura):"
    lan = lab.site.network.lan.interface
    for node in lab.site.nodes:
        assert any(line.startswith(f"  root@{node.name}: {node.name}, debian12; ") for line in lines), lines
        assert (f"  aviso: root@{node.name}: {lan} no tiene dirección IPv4: se propone como interfaz de la LAN; "
                "di tú su subred y la dirección de cada nodo") in lines
    site = load_site("ensayo", data)
    lan, management = lab.site.network.lan, lab.site.network.management
    assert (site.network.lan.interface, site.network.lan.subnet) == (lan.interface, lan.subnet)
    assert (site.network.management.interface, site.network.management.subnet) == \
        (management.interface, management.subnet)
    assert [(n.name, n.lan_address, n.management_address) for n in site.nodes] == \
        [(n.name, n.lan_address, n.management_address) for n in lab.site.nodes]
    assert site.os == "debian12" and site.ssh.user == "root" and site.ssh.config == str(lab.paths["ssh_config"])
    assert digest(known_hosts) == before  # strict checking: nothing learnt, nothing written


def test_a_node_whose_key_is_unknown_is_refused_and_nothing_is_written(lab_up_not_deployed, data, tmp_path):
    lab = lab_up_not_deployed
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    config = tmp_path / "ssh_config"
    config.write_text(lab.paths["ssh_config"].read_text().replace(str(lab.paths["known_hosts"]), str(empty)))
    node = lab.site.nodes[0]
    result = run_cli(["new", "ensayo", "--batch", "--from-nodes", f"root@{node.name}", "--ssh-config", str(config),
                      "--vip", str(lab.site.vip)], data, timeout=120)
    assert result.code == 2
    assert result.stderr == f"error: {node.name}: {node.name} no está en known_hosts; no se acepta una clave desconocida\n"
    assert result.stdout == ""
    assert sorted(p.name for p in data.iterdir()) == ["procedure.yaml"]
    assert empty.read_text() == ""
