"""VRRP timers in the data: VRRPv2 whole seconds, VRRPv3 hundredths; the real keepalived accepts them."""

from __future__ import annotations

import pytest
from test_rendered_configs import _keepalived_check, needs_keepalived

from runbook.data.load import REPO_ROOT, DataError, load_procedure, load_site
from runbook.plan.build import build_plan
from runbook.plan.steps import FileAction

LAB_TEXT = (REPO_ROOT / "site_data" / "lab.yaml").read_text(encoding="utf-8")


def site_with(tmp_path, vrrp_lines: str):
    text = LAB_TEXT.replace("  advert_int: 1\n", vrrp_lines)
    assert text != LAB_TEXT
    (tmp_path / "lab.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "procedure.yaml").write_text((REPO_ROOT / "site_data" / "procedure.yaml").read_text())
    return text


def keepalived_conf(site) -> str:
    plan = build_plan(site, load_procedure())
    files = [a for a in plan.step("keepalived").actions["hera"] if isinstance(a, FileAction)]
    return files[0].content


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_default_is_vrrp2_with_whole_seconds_and_no_version_line():
    site = load_site("lab")
    assert (site.vrrp.version, site.vrrp.advert_int) == (2, 1)
    conf = keepalived_conf(site)
    assert "    advert_int 1\n" in conf and "version 3" not in conf


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("  advert_int: 0.5\n", "advert_int 0.5 no es un número entero de segundos, como exige VRRP versión 2"),
        ("  version: 3\n  advert_int: 0.005\n", "advert_int 0.005 no vale para VRRP versión 3"),
        ("  version: 3\n  advert_int: 50\n", "advert_int 50 no vale para VRRP versión 3"),
        ("  version: 4\n  advert_int: 1\n", "vrrp.version"),
        ("  advert_int: true\n", "no un booleano"),
        ("  advert_int: 0\n", "vrrp.advert_int"),
    ],
)
def test_bad_timers_name_file_line_and_field(tmp_path, lines, message):
    text = site_with(tmp_path, lines)
    with pytest.raises(DataError) as info:
        load_site("lab", tmp_path)
    error = str(info.value)
    assert message in error and "lab.yaml" in error
    key = "version" if "version: 4" in lines else "advert_int"
    assert f"línea {line_of(text, f'  {key}:')}:" in error


def test_whole_seconds_written_as_decimals_render_as_integers(tmp_path):
    site_with(tmp_path, "  advert_int: 2.0\n")
    site = load_site("lab", tmp_path)
    assert site.vrrp.advert_int == 2 and "    advert_int 2\n" in keepalived_conf(site)


@needs_keepalived
@pytest.mark.parametrize("advert", ["0.2", "0.05", "1"])
def test_vrrp3_sub_second_config_passes_keepalived_t(tmp_path, advert):
    site_with(tmp_path, f"  version: 3\n  advert_int: {advert}\n")
    site = load_site("lab", tmp_path)
    conf = keepalived_conf(site)
    assert "    version 3\n" in conf and f"    advert_int {advert}\n" in conf
    result = _keepalived_check(tmp_path, conf, site.network.lan.interface)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip() == "", "keepalived -t printed warnings"


def test_maintenance_file_lowers_any_node_below_every_other(tmp_path):
    """The track_file weight exceeds the priority spread: a node in maintenance is always outranked."""
    text = LAB_TEXT.replace("priority: 110", "priority: 200").replace("priority: 100", "priority: 50")
    (tmp_path / "lab.yaml").write_text(text, encoding="utf-8")
    site = load_site("lab", tmp_path)
    conf = keepalived_conf(site)
    assert 'track_file mantenimiento {\n    file "/etc/keepalived/mantenimiento"\n    weight -151\n}' in conf
    assert "    track_file {\n        mantenimiento\n    }\n" in conf
    highest, lowest = max(n.priority for n in site.nodes), min(n.priority for n in site.nodes)
    assert highest - 151 < lowest
    assert "weight -11\n" in keepalived_conf(load_site("lab"))  # 110 and 100: 110 - 11 = 99 < 100
