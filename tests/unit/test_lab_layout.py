"""The lab's layout and recipe, without root: everything follows the data."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from runbook.data.load import load_site
from runbook.lab import base, lifecycle
from runbook.lab.errors import LabError, PrerequisiteError
from runbook.lab.layout import layout

DOC_RANGES = (IPv4Network("192.0.2.0/24"), IPv4Network("198.51.100.0/24"))


@pytest.fixture(scope="module")
def site():
    return load_site("lab")


def test_names_and_addresses_come_from_the_data(site):
    lay = layout(site)
    ns = site.lab.namespace
    assert lay.netns == ns
    assert [n.name for n in lay.nodes] == [n.name for n in site.nodes]
    for node, data in zip(lay.nodes, site.nodes, strict=True):
        assert node.netns == f"{ns}-{data.name}"
        assert node.management.ip == data.management_address
        assert node.management.network == site.network.management.subnet
        assert node.lan_if == site.network.lan.interface
        assert node.mgmt_if == site.network.management.interface
    assert lay.client.name == site.lab.client.name
    assert [a.ip for a in lay.client.addresses] == site.lab.client.addresses
    assert lay.ssh_config.as_posix() == site.ssh.config
    assert lay.secrets["stats_password"].as_posix() == site.secrets["stats_password"].file


def test_one_backend_namespace_per_distinct_address(site):
    lay = layout(site)
    addresses = {b.address for s in site.services for b in s.backends}
    assert {b.address.ip for b in lay.backends} == addresses
    for backend in lay.backends:
        ports = {b.port for s in site.services for b in s.backends if b.address == backend.address.ip}
        assert {p for p, _, _ in backend.http} | set(backend.tcp) == ports


def test_every_lab_address_is_a_documentation_address(site):
    lay = layout(site)
    addresses = [lay.mgmt_gateway.ip, *(n.management.ip for n in lay.nodes),
                 *(b.address.ip for b in lay.backends), *(a.ip for a in lay.client.addresses)]
    if lay.lan_gateway:
        addresses.append(lay.lan_gateway.ip)
    assert all(any(a in r for r in DOC_RANGES) for a in addresses)


def test_interface_names_fit_the_kernel_limit(site):
    renamed = site.model_copy(update={"nodes": [
        n.model_copy(update={"name": f"nodo-con-nombre-muy-largo-{i}"})
        for i, n in enumerate(site.nodes)]})
    lay = layout(renamed)
    names = [x for n in lay.nodes for x in (n.mgmt_peer, n.lan_peer)]
    assert all(len(x) <= 15 for x in names)
    assert len(set(names)) == len(names)
    assert [n.netns for n in lay.nodes] == [
        f"{site.lab.namespace}-nodo-con-nombre-muy-largo-{i}" for i in range(len(site.nodes))]


def test_clashing_names_are_bad_input(site):
    clash = site.model_copy(update={"nodes": [
        site.nodes[0].model_copy(update={"name": site.services[0].backends[0].name}),
        *site.nodes[1:]]})
    with pytest.raises(LabError) as err:
        layout(clash)
    assert err.value.code == 2


def test_site_without_lab_block_is_refused():
    published = load_site()
    if published.lab is not None:
        pytest.skip("the published site has a lab block")
    with pytest.raises(LabError) as err:
        layout(published)
    assert err.value.code == 2 and "lab" in str(err.value)


def test_recipe_hash_follows_packages_and_setup_script(monkeypatch, tmp_path):
    original = base.recipe_hash()
    monkeypatch.setattr(base, "BASE_PACKAGES", (*base.BASE_PACKAGES, "vim-tiny"))
    assert base.recipe_hash() != original
    monkeypatch.undo()
    monkeypatch.setattr(base, "REPO_PACKAGES", (*base.REPO_PACKAGES, "ipvsadm"))
    assert base.recipe_hash() != original
    monkeypatch.undo()
    script = tmp_path / "setup-base.sh"
    script.write_text(base.SETUP_SCRIPT.read_text() + "\n# changed\n")
    monkeypatch.setattr(base, "SETUP_SCRIPT", script)
    assert base.recipe_hash() != original
    monkeypatch.undo()
    assert base.recipe_hash() == original
    assert base.base_dir().name == f"base-{original}"


def test_prerequisites_are_spanish_errors_with_code_2(monkeypatch):
    monkeypatch.setattr(lifecycle.os, "geteuid", lambda: 1000)
    with pytest.raises(PrerequisiteError) as err:
        lifecycle.check_prerequisites()
    assert err.value.code == 2 and "root" in str(err.value)
    monkeypatch.setattr(lifecycle.os, "geteuid", lambda: 0)
    monkeypatch.setattr(lifecycle.shutil, "which",
                        lambda tool: None if tool == "systemd-nspawn" else "/usr/bin/" + tool)
    with pytest.raises(PrerequisiteError) as err:
        lifecycle.check_prerequisites()
    assert "falta systemd-nspawn" in str(err.value) and "systemd-container" in str(err.value)


def test_missing_debootstrap_is_a_prerequisite_error(monkeypatch, tmp_path):
    monkeypatch.setattr(base.shutil, "which", lambda tool: None)
    with pytest.raises(PrerequisiteError) as err:
        base._build(tmp_path / "base-x", log=lambda m: None)
    assert "debootstrap" in str(err.value)


def test_each_release_has_its_own_base_and_apt_sources():
    assert base.suite_of("debian12") == "bookworm" and base.suite_of("debian13") == "trixie"
    bookworm, trixie = base.recipe("bookworm"), base.recipe("trixie")
    # The host's release is served by the host's apt; another release by sources of its own.
    assert "repo_sources" not in bookworm
    assert any(" trixie-security main" in line for line in trixie["repo_sources"])
    assert base.base_dir("bookworm") != base.base_dir("trixie")
    assert base.base_dir() == base.base_dir("bookworm")


def test_pruning_keeps_the_base_of_the_other_release(monkeypatch, tmp_path):
    monkeypatch.setattr(base, "CACHE_DIR", tmp_path)
    made = {}
    for name, suite in (("old12", "bookworm"), ("new12", "bookworm"), ("new13", "trixie")):
        (tmp_path / f"base-{name}" / "rootfs").mkdir(parents=True)
        (tmp_path / f"base-{name}" / "recipe.json").write_text(f'{{"suite": "{suite}"}}')
        made[name] = tmp_path / f"base-{name}"
    base._prune_old(made["new12"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base-new12", "base-new13"]


def test_a_lab_site_says_its_release_and_whether_its_lan_carries_multicast():
    main, trixie = layout(load_site("lab")), layout(load_site("trixie"))
    assert (main.os, main.multicast) == ("debian12", True)
    assert (trixie.os, trixie.multicast) == ("debian13", False)
    assert base.suite_of(trixie.os) == "trixie"
    assert trixie.netns != main.netns and trixie.state_dir != main.state_dir  # they run side by side


def _by_hand_site(tmp_path, text: str | None = None):
    from runbook.data.load import REPO_ROOT

    (tmp_path / "procedure.yaml").write_bytes((REPO_ROOT / "site_data" / "procedure.yaml").read_bytes())
    source = (REPO_ROOT / "tests" / "lab" / "data" / "a-mano.yaml").read_text()
    (tmp_path / "a-mano.yaml").write_text(text(source) if text else source)
    return load_site("a-mano", tmp_path)


def test_backends_as_machines_boot_like_nodes_on_the_lan(tmp_path):
    lay = layout(_by_hand_site(tmp_path))
    assert lay.backend_machines and not layout(load_site("lab")).backend_machines
    assert [m.name for m in lay.machines] == [b.name for b in lay.backends]
    for machine, backend in zip(lay.machines, lay.backends, strict=True):
        assert machine.netns == backend.netns and machine.management == backend.address
        assert machine.root.parent.parent == lay.state_dir / "nodes"  # lab.down removes them with the nodes
    assert [h.name for h in lay.ssh_hosts] == ["norte", "sur", "web-a", "web-b"]
    assert lay.host("web-b").lan_address == lay.backends[1].address.ip


def test_backends_as_machines_need_a_lan_gateway(tmp_path):
    from runbook.data.load import DataError

    with pytest.raises(DataError, match="lab.backends.*gateway"):
        _by_hand_site(tmp_path, lambda s: s.replace("    gateway: 198.51.100.1\n", ""))
