"""Rendered configs: golden files, and the real haproxy/keepalived accept them.

The binaries are Debian's (installed by ./rb); their output is read, not only
their exit code: a warning is a failure.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from runbook.data.load import load_procedure, load_site, site_names
from runbook.data.model import HealthCheck
from runbook.plan.build import build_plan, load_plan
from runbook.plan.secrets import materialize
from runbook.plan.steps import FileAction

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("RUNBOOK_UPDATE_GOLDEN") == "1"
FAKE_SECRETS = {"stats_password": "s3creto-de-prueba"}

SITES = site_names()
PLANS = {name: load_plan(name) for name in SITES}
FILES = [
    (site, action)
    for site, plan in PLANS.items()
    for action in plan.actions()
    if isinstance(action, FileAction)
]


def _id(item) -> str:
    site, action = item
    return f"{site}-{action.node}-{Path(action.path).name}"


@pytest.mark.parametrize("item", FILES, ids=[_id(i) for i in FILES])
def test_golden(item):
    site, action = item
    golden = GOLDEN / site / action.node / action.path.lstrip("/")
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(action.content, encoding="utf-8")
    assert golden.is_file(), f"falta {golden}; genere con RUNBOOK_UPDATE_GOLDEN=1"
    assert action.content == golden.read_text(encoding="utf-8")


def _haproxy_check(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "haproxy.cfg"
    path.write_text(text, encoding="utf-8")
    return subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True)


HAPROXY = [i for i in FILES if i[1].path == "/etc/haproxy/haproxy.cfg"]
KEEPALIVED = [i for i in FILES if i[1].path == "/etc/keepalived/keepalived.conf"]
needs_haproxy = pytest.mark.validators("haproxy", reason="haproxy no instalado")


def needs_keepalived(test):
    """`keepalived -t` runs in a scratch network namespace (ScratchNetns): the program, and root."""
    return pytest.mark.validators("keepalived", reason="keepalived y root necesarios")(
        pytest.mark.root("ip", reason="keepalived y root necesarios")(test))


@needs_haproxy
@pytest.mark.parametrize("item", HAPROXY, ids=[_id(i) for i in HAPROXY])
def test_haproxy_accepts_rendered_config(tmp_path, item):
    _, action = item
    for text in (action.content, materialize(action.content, FAKE_SECRETS)):
        result = _haproxy_check(tmp_path, text)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == "Configuration file is valid"
        assert result.stderr.strip() == "", result.stderr  # warnings land here


@needs_haproxy
def test_haproxy_check_catches_the_original_2014_syntax(tmp_path):
    # Proves the check above can fail: the original's removed keywords.
    _, action = HAPROXY[0]
    broken = action.content.replace("timeout connect 5s", "contimeout 5000")
    result = _haproxy_check(tmp_path, broken)
    assert result.returncode != 0
    assert "contimeout" in result.stdout + result.stderr


def _haproxy_cfg_with_check(check: HealthCheck) -> str:
    site = load_site("lab")
    horizon, *rest = site.services
    site = site.model_copy(update={"services": [horizon.model_copy(update={"health_check": check}), *rest]})
    plan = build_plan(site, load_procedure())
    return next(a.content for a in plan.actions("hera") if getattr(a, "path", None) == "/etc/haproxy/haproxy.cfg")


def _haproxy_cfg_with_expect(codes) -> str:
    return _haproxy_cfg_with_check(HealthCheck(path="/horizon", expect_status=codes))


@needs_haproxy
@pytest.mark.parametrize("codes", ["302", "200-399", "200-204, 302,401"])
def test_haproxy_reads_every_status_form_the_model_writes(tmp_path, codes):
    text = _haproxy_cfg_with_expect(codes)
    assert f"    http-check expect status {codes.replace(' ', '')}\n" in text
    result = _haproxy_check(tmp_path, materialize(text, FAKE_SECRETS))
    assert result.returncode == 0 and result.stderr.strip() == "", result.stdout + result.stderr


@needs_haproxy
@pytest.mark.parametrize("host, header", [(None, "198.51.100.150"), ("horizon.example.com", "horizon.example.com"),
                                          ("horizon.example.com:8443", "horizon.example.com:8443")])
def test_health_check_names_the_host_the_backends_answer_to(tmp_path, host, header):
    # HTTP/1.1 with a Host: a bare HTTP/1.0 check has none, and Horizon answers 400 to it (ALLOWED_HOSTS).
    text = _haproxy_cfg_with_check(HealthCheck(path="/horizon", host=host))
    assert f"    http-check send meth GET uri /horizon ver HTTP/1.1 hdr Host {header}\n" in text
    result = _haproxy_check(tmp_path, materialize(text, FAKE_SECRETS))
    assert result.returncode == 0 and result.stderr.strip() == "", result.stdout + result.stderr


@needs_haproxy
def test_haproxy_refuses_the_status_wildcard_the_model_refuses(tmp_path):
    # "2xx" reads naturally but is not HAProxy syntax: the model stops it before deploy would.
    text = _haproxy_cfg_with_expect("200-399").replace("expect status 200-399", "expect status 2xx")
    result = _haproxy_check(tmp_path, materialize(text, FAKE_SECRETS))
    assert result.returncode != 0
    assert "invalid character 'x' in the list of status codes" in result.stdout + result.stderr


def _haproxy_cfg_with_resilience(**tuned) -> str:
    site = load_site("lab")
    services = [s.model_copy(update={"resilience": s.resilience.model_copy(update=tuned)}) for s in site.services]
    plan = build_plan(site.model_copy(update={"services": services}), load_procedure())
    return next(a.content for a in plan.actions("hera") if getattr(a, "path", None) == "/etc/haproxy/haproxy.cfg")


def _listen(text: str, name: str) -> str:
    return text.split(f"listen {name}\n", 1)[1].split("\nlisten ", 1)[0]


@needs_haproxy
def test_every_service_hides_a_dead_backend_with_the_defaults(tmp_path):
    text = PLANS["lab"].actions("hera")
    text = next(a.content for a in text if getattr(a, "path", None) == "/etc/haproxy/haproxy.cfg")
    http, tcp = _listen(text, "horizon"), _listen(text, "memcached")
    for block, layer in ((http, "layer7"), (tcp, "layer4")):
        for line in ("hash-type consistent", "timeout connect 500ms", "retries 3", "option redispatch 1",
                     "timeout check 1000ms",
                     "default-server inter 2000ms fastinter 500ms downinter 1000ms rise 2 fall 3 "
                     f"observe {layer} error-limit 10 on-error mark-down"):
            assert f"\n    {line}\n" in block, (line, block)
    assert "\n    retry-on conn-failure empty-response\n" in http
    assert "retry-on" not in tcp  # HAProxy ignores it in tcp mode: never written there


@needs_haproxy
def test_haproxy_accepts_every_tuning_the_model_allows(tmp_path):
    every = ["conn-failure", "empty-response", "junk-response", "response-timeout", "0rtt-rejected",
             "401", "403", "404", "408", "425", "500", "501", "502", "503", "504"]
    text = _haproxy_cfg_with_resilience(connect_timeout_ms=50, retries=0, retry_on=every, error_limit=1,
                                        check_interval_ms=100, check_fast_interval_ms=60000,
                                        check_down_interval_ms=100, check_timeout_ms=50)
    assert "\n    timeout connect 50ms\n" in text and "\n    retries 0\n" in text
    assert f"\n    retry-on {' '.join(every)}\n" in text
    result = _haproxy_check(tmp_path, materialize(text, FAKE_SECRETS))
    assert result.returncode == 0 and result.stderr.strip() == "", result.stdout + result.stderr


@needs_haproxy
def test_haproxy_refuses_a_retry_on_the_model_refuses(tmp_path):
    # Proves the check above can fail: "timeout" is not one of retry-on's keywords.
    text = _haproxy_cfg_with_resilience().replace("retry-on conn-failure", "retry-on timeout conn-failure")
    result = _haproxy_check(tmp_path, materialize(text, FAKE_SECRETS))
    assert result.returncode != 0 and "timeout" in result.stdout + result.stderr


def test_global_maxconn_caps_every_service():
    for name, plan in PLANS.items():
        text = next(a.content for a in plan.actions() if isinstance(a, FileAction) and a.path.endswith("haproxy.cfg"))
        limits = [int(line.split()[1]) for line in text.splitlines() if line.strip().startswith("maxconn ")]
        assert limits[0] == plan.site.haproxy.maxconn, name  # the global section comes first
        assert all(limit <= limits[0] for limit in limits[1:]), (name, limits)


class ScratchNetns:
    """A network namespace holding the interfaces a keepalived.conf names.

    `keepalived -t` refuses a file naming an interface the machine lacks; a
    veth (the dummy module is not available here) stands in for eth1.
    """

    def __init__(self, interfaces: list[str]) -> None:
        self.name = f"rb-kt-{uuid.uuid4().hex[:8]}"
        self.interfaces = interfaces

    def __enter__(self) -> ScratchNetns:
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        for i, ifname in enumerate(self.interfaces):
            self.run(["ip", "link", "add", ifname, "type", "veth", "peer", "name", f"peer{i}"], check=True)
        return self

    def run(self, argv: list[str], **kw) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], capture_output=True, text=True, **kw)

    def __exit__(self, *exc) -> None:
        subprocess.run(["ip", "netns", "del", self.name], check=False)


def _keepalived_check(tmp_path: Path, text: str, interface: str) -> subprocess.CompletedProcess:
    path = tmp_path / "keepalived.conf"
    path.write_text(text, encoding="utf-8")
    with ScratchNetns([interface]) as ns:
        return ns.run(["keepalived", "-t", "-f", str(path)])


@needs_keepalived
@pytest.mark.parametrize("item", KEEPALIVED, ids=[_id(i) for i in KEEPALIVED])
def test_keepalived_accepts_rendered_config(tmp_path, item):
    site, action = item
    interface = PLANS[site].site.network.lan.interface
    result = _keepalived_check(tmp_path, action.content, interface)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip() == "", "keepalived -t printed warnings"


@needs_keepalived
def test_keepalived_check_catches_a_typo(tmp_path):
    site, action = KEEPALIVED[0]
    broken = action.content.replace("priority ", "priorty ", 1)
    result = _keepalived_check(tmp_path, broken, PLANS[site].site.network.lan.interface)
    assert result.returncode != 0
    assert "Unknown keyword 'priorty'" in result.stdout + result.stderr


def test_original_bug_is_fixed_one_master_distinct_priorities():
    for plan in PLANS.values():
        contents = [a.content for a in plan.step("keepalived").actions.values() for a in a
                    if a.path == "/etc/keepalived/keepalived.conf"]
        assert sum("state MASTER" in c for c in contents) == 1
        priorities = {line.split()[1] for c in contents for line in c.splitlines() if "priority" in line}
        assert len(priorities) == len(contents)


NFTABLES = [i for i in FILES if i[1].path == "/etc/nftables.conf"]


def needs_nft(test):
    """`nft -c` asks the kernel: root, in a scratch network namespace (nothing of this machine's rules)."""
    return pytest.mark.validators("nft", reason="nft y root necesarios")(
        pytest.mark.root("ip", reason="nft y root necesarios")(test))


def _nft_check(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "nftables.conf"
    path.write_text(text, encoding="utf-8")
    with ScratchNetns([]) as ns:
        return ns.run(["nft", "-c", "-f", str(path)])


@needs_nft
@pytest.mark.parametrize("item", NFTABLES, ids=[_id(i) for i in NFTABLES])
def test_nft_accepts_rendered_firewall(tmp_path, item):
    _, action = item
    result = _nft_check(tmp_path, action.content)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip() == "", "nft -c printed something"


@needs_nft
def test_nft_check_catches_a_typo(tmp_path):
    _, action = NFTABLES[0]
    broken = action.content.replace("ip protocol vrrp", "ip protocl vrrp", 1)
    result = _nft_check(tmp_path, broken)
    assert result.returncode != 0
    assert "protocl" in result.stdout + result.stderr


def test_firewall_opens_what_the_site_needs_and_drops_the_rest():
    for name, plan in PLANS.items():
        site = plan.site
        for action in (a for s, a in NFTABLES if s == name):
            text = action.content
            assert "policy drop;" in text and "flush ruleset" in text, name
            peers = sorted(str(n.lan_address) for n in site.nodes if n.name != action.node)
            vrrp = f'ip saddr {{ {", ".join(peers)} }}'
            assert vrrp in text and ("ip daddr 224.0.0.18" in text) != site.vrrp.unicast, name
            ports = ", ".join(str(p) for p in sorted(s.port for s in site.services))
            assert f"ip daddr {site.vip} tcp dport {{ {ports} }} accept" in text, name
            assert f"ip saddr {site.network.management.subnet} tcp dport {site.ssh.port} accept" in text
            node = site.node(action.node)
            sources = ", ".join(str(n) for n in sorted(site.stats_sources))
            assert f"ip saddr {{ {sources} }} ip daddr {node.lan_address} tcp dport {site.stats.port}" in text
