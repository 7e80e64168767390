"""Each check owns its documentation, built from the data; one vocabulary for deploy and verify."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runbook.checks import Kind, Scope, Status, build_registry, catalog
from runbook.checks.managed import sysctl_check_id
from runbook.data.load import LAB_SITE, PUBLISHED_SITE, REPO_ROOT, load_procedure, load_site
from runbook.facts.units import UnitState
from runbook.plan.build import build_plan, load_plan
from runbook.site.tables import verify_checks
from runbook.vocabulary import ACTION_STATUSES, CHECK_STATUSES

PROCEDURE = REPO_ROOT / "site_data" / "procedure.yaml"


@pytest.mark.parametrize("site", [LAB_SITE, PUBLISHED_SITE])
def test_every_check_documents_itself(site):
    plan = load_plan(site)
    steps = {s.id for s in plan.steps}
    registry = build_registry(plan)
    assert registry.documented and registry.node and registry.cluster
    for check in registry.checks:
        assert check.id and check.title.strip() and check.description.strip(), check
        assert check.step in steps, (check.id, check.step)
        assert isinstance(check.kind, Kind) and check.scope is check.kind.scope
    # Documented checks carry the plan's own words: the page and verify say the same.
    first = plan.node_names[0]
    for check in registry.documented:
        planned = next(c for c in plan.checks(first) if c.id == check.id)
        assert (check.title, check.description, check.step) == (planned.title, planned.description, planned.step)


def test_the_catalog_is_the_registrys_own_checks():
    plan = load_plan(PUBLISHED_SITE)
    registry = build_registry(plan)
    own = catalog(plan)
    assert [c.id for c in own] == [c.id for c in registry.checks if c.kind is not Kind.DOCUMENTED]
    assert {c.kind for c in own} == {Kind.STATE, Kind.CLUSTER}


def test_the_verification_page_lists_exactly_the_registrys_checks():
    plan = load_plan(PUBLISHED_SITE)
    pages = {s.id: ("instalacion.md", s.title) for s in plan.steps}
    markdown = verify_checks(catalog(plan), pages.get, "verificacion.md")
    own = build_registry(plan).own
    assert markdown.count('class="rb-verify-check"') == len(own)
    for check in own:
        assert f'data-check-id="{check.id}" data-scope="{check.scope.value}"' in markdown
        assert check.title in markdown and check.description in markdown
        assert f"instalacion.md#{check.step}" in markdown


def _plan_with(tmp_path: Path, *edits: tuple[str, str]):
    """The lab's plan from a copy of procedure.yaml with some text replaced."""
    text = PROCEDURE.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    shutil.copy(REPO_ROOT / "site_data" / f"{LAB_SITE}.yaml", tmp_path)
    (tmp_path / "procedure.yaml").write_text(text)
    return build_plan(load_site(LAB_SITE, tmp_path), load_procedure(tmp_path))


def test_a_config_path_comes_from_the_data(tmp_path):
    plan = _plan_with(tmp_path, ("file: /etc/haproxy/haproxy.cfg", "file: /etc/haproxy/otro.cfg"))
    registry = build_registry(plan)
    ids = {c.id for c in registry.node}
    assert "fichero-otro" in ids and "fichero-haproxy" not in ids
    check = next(c for c in registry.node if c.id == "fichero-otro")
    assert check.path == "/etc/haproxy/otro.cfg" and "/etc/haproxy/otro.cfg" in check.description
    assert "[ -f /etc/haproxy/otro.cfg ] && cat -- /etc/haproxy/otro.cfg" in {f.command() for f in registry.facts("hera")}
    # The backends are still read from the socket that file declares, in its step.
    backends = next(c for c in registry.node if c.id == "servicio-horizon-backends")
    assert backends.step == "haproxy" and backends.socket == "/run/haproxy/admin.sock"


def test_a_unit_name_comes_from_the_data(tmp_path):
    plan = _plan_with(
        tmp_path,
        ("service: {name: keepalived, action: reload}", "service: {name: vrrpd, action: reload}"),
        ("run: systemctl enable --now haproxy keepalived", "run: systemctl enable --now haproxy vrrpd"),
    )
    registry = build_registry(plan)
    units = [c for c in registry.node if c.id.startswith("unidad-")]
    assert [(c.id, c.unit, c.step) for c in units] == [
        ("unidad-haproxy", "haproxy", "servicios"), ("unidad-nftables", "nftables", "cortafuegos"),
        ("unidad-vrrpd", "vrrpd", "servicios")]
    assert "`vrrpd`" in units[2].description
    asked = [f.command() for f in registry.facts("hera") if isinstance(f, UnitState)]
    assert [c.split()[-1] for c in asked] == ["haproxy.service", "nftables.service", "vrrpd.service"]
    # keepalived's config is found by what it declares, not by its unit's name.
    assert any(c.id == "keepalived-seguimiento" and c.step == "keepalived" for c in registry.node)


def test_the_published_plan_gives_the_units_and_sysctl_it_declares():
    registry = build_registry(load_plan(PUBLISHED_SITE))
    units = {c.unit for c in registry.node if c.id.startswith("unidad-")}
    assert units == {"haproxy", "keepalived", "nftables"}
    sysctl = next(c for c in registry.node if c.id == "nonlocal-bind-persistente")
    assert (sysctl.key, sysctl.value, sysctl.step) == ("net.ipv4.ip_nonlocal_bind", "1", "ip-no-local")
    # The ARP settings name an interface: `all` and the LAN's each get a check of their own.
    arp = {c.id: (c.key, c.value, c.title) for c in registry.node if c.id.startswith("arp-")}
    assert arp == {
        f"arp-{name}-{dev}-persistente": (f"net.ipv4.conf.{dev}.arp_{name}", value,
                                          f"arp_{name} ({dev}) persiste tras un reinicio")
        for dev in ("all", "eth1") for name, value in (("ignore", "1"), ("announce", "2"))
    }
    assert {c.step for c in registry.node if c.id in arp} == {"ip-virtual-aceptada"}


@pytest.mark.parametrize(("key", "check_id"), [
    ("net.ipv4.ip_nonlocal_bind", "nonlocal-bind-persistente"),
    ("net.ipv4.conf.all.arp_ignore", "arp-ignore-all-persistente"),
    ("net.ipv4.conf.br-lan.arp_announce", "arp-announce-br-lan-persistente"),
    ("net.ipv4.conf.eth1/100.arp_ignore", "arp-ignore-eth1-100-persistente"),  # VLAN eth1.100
])
def test_a_persisted_sysctl_check_id_keeps_the_interface_it_names(key, check_id):
    assert sysctl_check_id(key) == check_id


def test_one_status_vocabulary_with_the_words_people_see():
    # JSON keeps the values it always had; Spanish words come from one table.
    assert [s.value for s in ACTION_STATUSES] == ["ok", "changed", "failed", "skipped"]
    assert [s.value for s in CHECK_STATUSES] == ["passed", "failed", "error", "skipped"]
    assert [s.action_word() for s in ACTION_STATUSES] == ["ok", "cambiado", "fallido", "omitido"]
    assert Status.CHANGED.action_word(dry_run=True) == "cambiaría"
    assert [s.check_word() for s in CHECK_STATUSES] == ["correcta", "FALLA", "error", "omitida"]
    assert [k.spanish for k in Kind] == ["documentada", "estado", "clúster"]
    assert [s.spanish for s in Scope] == ["nodo", "clúster"]
