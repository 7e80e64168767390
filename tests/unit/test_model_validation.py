"""Bad site data: every case must give one Spanish message naming file, line and field."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runbook.data.load import REPO_ROOT, DataError, load_procedure, load_site

LAB = yaml.safe_load((REPO_ROOT / "site_data" / "lab.yaml").read_text(encoding="utf-8"))


def _set(path: str, value):
    def mutate(data: dict) -> None:
        *parents, last = _parts(path)
        target = data
        for part in parents:
            target = target[part]
        target[last] = value

    return mutate


def _delete(path: str):
    def mutate(data: dict) -> None:
        *parents, last = _parts(path)
        target = data
        for part in parents:
            target = target[part]
        del target[last]

    return mutate


def _parts(path: str) -> list:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


# (case id, mutation, the field path the message must name)
BAD_SITES = [
    ("vip-not-an-ip", _set("vip", "198.51.100.999"), "vip"),
    ("vip-outside-lan", _set("vip", "198.51.101.150"), "vip"),
    ("vip-is-a-node", _set("vip", "198.51.100.110"), "nodes[0].lan_address"),
    ("typo-top-level", _set("vipp", "198.51.100.150"), "vipp"),
    ("typo-in-node", _set("nodes.0.priorty", 5), "nodes[0].priorty"),
    ("typo-in-service", _set("services.0.balanse", "source"), "services[0].balanse"),
    ("duplicate-node-name", _set("nodes.1.name", "hera"), "nodes[1].name"),
    ("duplicate-lan-address", _set("nodes.1.lan_address", "198.51.100.110"), "nodes[1].lan_address"),
    ("duplicate-mgmt-address", _set("nodes.1.management_address", "192.0.2.10"), "nodes[1].management_address"),
    ("equal-priorities", _set("nodes.1.priority", 110), "nodes[1].priority"),
    ("priority-too-high", _set("nodes.0.priority", 255), "nodes[0].priority"),
    ("priority-not-int", _set("nodes.0.priority", "alta"), "nodes[0].priority"),
    ("router-id-zero", _set("vrrp.router_id", 0), "vrrp.router_id"),
    ("router-id-too-big", _set("vrrp.router_id", 256), "vrrp.router_id"),
    ("node-name-shell-unsafe", _set("nodes.0.name", "hera;rm -rf /"), "nodes[0].name"),
    ("node-name-uppercase", _set("nodes.0.name", "Hera"), "nodes[0].name"),
    ("node-outside-lan", _set("nodes.0.lan_address", "198.51.101.110"), "nodes[0].lan_address"),
    ("node-outside-mgmt", _set("nodes.0.management_address", "192.0.3.10"), "nodes[0].management_address"),
    ("one-node-only", _set("nodes", [LAB["nodes"][0]]), "nodes"),
    ("missing-vip", _delete("vip"), "vip"),
    ("missing-services", _delete("services"), "services"),
    ("bad-mode", _set("services.0.mode", "udp"), "services[0].mode"),
    ("bad-balance", _set("services.0.balance", "random-ish"), "services[0].balance"),
    ("port-zero", _set("services.0.port", 0), "services[0].port"),
    ("port-too-big", _set("services.1.port", 70000), "services[1].port"),
    ("duplicate-service-port", _set("services.1.port", 80), "services[1].port"),
    ("stats-port-clash", _set("stats.port", 80), "stats.port"),
    ("stats-sources-overlap", _set("stats.allow_from", ["192.0.2.0/24", "192.0.2.128/25"]), "stats.allow_from[1]"),
    ("stats-source-not-doc", _set("stats.allow_from", ["10.0.0.0/8"]), "stats.allow_from[0]"),
    ("stats-closed-to-the-client", _set("stats.allow_from", ["192.0.2.0/24"]), "lab.client.addresses[0]"),
    ("no-backends", _set("services.0.backends", []), "services[0].backends"),
    ("duplicate-backend", _set("services.0.backends.1.name", "zeus"), "services[0].backends[1].name"),
    ("tcp-with-http-check", _set("services.1.health_check", {"path": "/"}), "services[1].health_check"),
    ("health-path-unsafe", _set("services.0.health_check.path", "/x'; reboot"), "services[0].health_check.path"),
    ("health-host-header-injection", _set("services.0.health_check.host", "a\r\nX-Evil: 1"), "services[0].health_check.host"),
    ("health-host-with-space", _set("services.0.health_check.host", "horizon example.com"), "services[0].health_check.host"),
    ("expect-status-wildcard", _set("services.0.health_check.expect_status", "2xx"), "services[0].health_check.expect_status"),
    ("expect-status-reversed", _set("services.0.health_check.expect_status", "399-200"), "services[0].health_check.expect_status"),
    ("expect-status-out-of-range", _set("services.0.health_check.expect_status", 600), "services[0].health_check.expect_status"),
    ("expect-status-list-in-yaml", _set("services.0.health_check.expect_status", [200, 302]), "services[0].health_check.expect_status"),
    ("tcp-with-retry-on", _set("services.1.resilience", {"retry_on": ["conn-failure"]}), "services[1].resilience.retry_on"),
    ("retry-on-unknown", _set("services.0.resilience", {"retry_on": ["everything"]}), "services[0].resilience.retry_on[0]"),
    ("retry-on-twice", _set("services.0.resilience", {"retry_on": ["503", "503"]}), "services[0].resilience.retry_on[1]"),
    ("connect-timeout-too-short", _set("services.0.resilience", {"connect_timeout_ms": 10}), "services[0].resilience.connect_timeout_ms"),
    ("retries-negative", _set("services.1.resilience", {"retries": -1}), "services[1].resilience.retries"),
    ("resilience-typo", _set("services.0.resilience", {"connect_timeout": 300}), "services[0].resilience.connect_timeout"),
    ("service-maxconn-above-global", _set("services.1.maxconn", 4001), "services[1].maxconn"),
    ("global-maxconn-zero", _set("haproxy.maxconn", 0), "haproxy.maxconn"),
    ("gateway-outside-lan", _set("network.lan.gateway", "198.51.101.1"), "network.lan.gateway"),
    ("same-interfaces", _set("network.management.interface", "eth1"), "network.management.interface"),
    ("subnet-not-network", _set("network.lan.subnet", "198.51.100.0/33"), "network.lan.subnet"),
    ("lab-non-doc-address", _set("lab.client.addresses.0", "10.0.0.5"), "lab.client.addresses[0]"),
    ("lab-non-doc-backend", _set("services.0.backends.0.address", "198.51.100.300"), "services[0].backends[0].address"),
    ("unknown-secret", _set("secrets.vrrp_pass", {"env": "X"}), "secrets.vrrp_pass"),
    ("secret-without-source", _set("secrets.stats_password", {}), "secrets.stats_password"),
    ("missing-stats-secret", _set("secrets", {}), "secrets"),
    ("ssh-port-string", _set("ssh.port", "veintidós"), "ssh.port"),
    ("os-unknown", _set("os", "windows"), "os"),
    # The procedure is Debian's (ifupdown, its package names): nothing else is accepted.
    ("os-ubuntu", _set("os", "ubuntu2204"), "os"),
    ("name-mismatch", _set("name", "otro"), "name"),
]


def _write(tmp_path: Path, data: dict) -> Path:
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return tmp_path


def _field_line(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"^\s*(- )?{re.escape(key)}:", line):
            return number
    return None


def test_corpus_is_large_enough():
    assert len(BAD_SITES) >= 25


@pytest.mark.parametrize(("case", "mutate", "field"), BAD_SITES, ids=[c[0] for c in BAD_SITES])
def test_bad_site_names_file_line_and_field(tmp_path, case, mutate, field):
    data = copy.deepcopy(LAB)
    mutate(data)
    directory = _write(tmp_path, data)
    with pytest.raises(DataError) as info:
        load_site("lab", directory)
    message = str(info.value)
    assert "lab.yaml" in message
    assert re.search(r"línea \d+", message), message
    assert f"campo '{field}'" in message, message
    assert "Traceback" not in message and "pydantic" not in message.lower()


def test_line_points_at_the_offending_key(tmp_path):
    text = (REPO_ROOT / "site_data" / "lab.yaml").read_text(encoding="utf-8")
    text = text.replace("    priority: 100", "    priority: 110")
    (tmp_path / "lab.yaml").write_text(text)
    with pytest.raises(DataError) as info:
        load_site("lab", tmp_path)
    expected = [n for n, line in enumerate(text.splitlines(), 1) if "priority: 110" in line][-1]
    assert f"línea {expected}:" in str(info.value)


def test_typo_is_reported_at_its_own_line(tmp_path):
    text = (REPO_ROOT / "site_data" / "lab.yaml").read_text(encoding="utf-8")
    text = text.replace("  advert_int: 1", "  advert_intt: 1")
    (tmp_path / "lab.yaml").write_text(text)
    with pytest.raises(DataError) as info:
        load_site("lab", tmp_path)
    assert f"línea {_field_line(text, 'advert_intt')}:" in str(info.value)
    assert "campo 'vrrp.advert_intt': campo desconocido" in str(info.value)


def test_duplicate_yaml_key_is_an_error(tmp_path):
    text = (REPO_ROOT / "site_data" / "lab.yaml").read_text(encoding="utf-8")
    text = text.replace("vip: 198.51.100.150", "vip: 198.51.100.150\nvip: 198.51.100.151")
    (tmp_path / "lab.yaml").write_text(text)
    with pytest.raises(DataError, match="clave 'vip' repetida"):
        load_site("lab", tmp_path)


def test_broken_yaml_syntax(tmp_path):
    (tmp_path / "lab.yaml").write_text("name: lab\nnodes: [\n")
    with pytest.raises(DataError, match=r"lab.yaml, línea \d+: campo 'nodes': YAML no válido"):
        load_site("lab", tmp_path)


def test_unknown_site(tmp_path):
    with pytest.raises(DataError, match="no existe el sitio 'marte'"):
        load_site("marte")


def test_bad_procedure_step(tmp_path):
    text = (REPO_ROOT / "site_data" / "procedure.yaml").read_text(encoding="utf-8")
    (tmp_path / "procedure.yaml").write_text(text.replace("validate: haproxy", "validar: haproxy"))
    with pytest.raises(DataError, match=r"procedure.yaml, línea \d+: campo 'steps\[7\].actions\[0\].validar'"):
        load_procedure(tmp_path)


def test_a_check_matching_its_output_needs_one(tmp_path):
    text = (REPO_ROOT / "site_data" / "procedure.yaml").read_text(encoding="utf-8")
    (tmp_path / "procedure.yaml").write_text(text.replace('output: "1"\n        expect:\n          stdout_regex: "^1$"',
                                                          'expect:\n          stdout_matches_output: true'))
    with pytest.raises(DataError, match=r"campo 'steps\[3\].checks\[0\].expect.stdout_matches_output'.*"
                                        r"necesita 'output'"):
        load_procedure(tmp_path)


def test_service_maxconn_above_the_global_one_is_explained(tmp_path):
    data = copy.deepcopy(LAB)
    data["services"][1]["maxconn"] = 10000  # the original tutorial's value, under global maxconn 4000
    with pytest.raises(DataError) as info:
        load_site("lab", _write(tmp_path, data))
    assert "10000 supera el límite de todo HAProxy (haproxy.maxconn: 4000)" in str(info.value)


@pytest.mark.parametrize(
    ("given", "stored", "reading", "accepted", "refused"),
    [
        (302, "302", "302", [302], [200, 301]),
        ("200-399", "200-399", "2xx o 3xx", [200, 302, 399], [199, 400, 503]),
        ("200-204, 302", "200-204,302", "200-204 o 302", [204, 302], [205, 301]),
        ("200,401", "200,401", "200 o 401", [401], [302]),
    ],
)
def test_expect_status_forms(tmp_path, given, stored, reading, accepted, refused):
    data = copy.deepcopy(LAB)
    data["services"][0]["health_check"]["expect_status"] = given
    check = load_site("lab", _write(tmp_path, data)).services[0].health_check
    assert check.expect_status == stored
    assert check.expect_description == reading
    assert all(check.accepts(code) for code in accepted)
    assert not any(check.accepts(code) for code in refused)


def test_health_check_defaults_to_what_httpchk_accepts(tmp_path):
    # `option httpchk` without `http-check expect` takes 2xx and 3xx as healthy.
    data = copy.deepcopy(LAB)
    del data["services"][0]["health_check"]["expect_status"]
    check = load_site("lab", _write(tmp_path, data)).services[0].health_check
    assert check.expect_status == "200-399"


def test_shipped_data_is_valid():
    for name in ("lab", "olimpo"):
        assert load_site(name).name == name
    assert load_procedure().steps


def test_cli_bad_data_exits_2_without_traceback(tmp_path):
    for name in ("lab.yaml", "olimpo.yaml", "procedure.yaml"):
        (tmp_path / name).write_text((REPO_ROOT / "site_data" / name).read_text(encoding="utf-8"))
    bad = (tmp_path / "lab.yaml").read_text().replace("router_id: 50", "router_id: 300")
    (tmp_path / "lab.yaml").write_text(bad)
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "plan", "--site", "lab"],
        cwd=REPO_ROOT,
        env={"RUNBOOK_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "lab.yaml, línea" in lines[0] and "campo 'vrrp.router_id'" in lines[0]
    assert "menor o igual que 255" in lines[0]
