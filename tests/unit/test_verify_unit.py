"""verify without a lab: registry, fact framing, parsers, checks, reports.

The parsers are fed real output captured from the lab nodes (tests/data/verify):
HAProxy 2.6 `show stat` and keepalived 2.2.7's data dump.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runbook.checks import (
    ClientFacts,
    ClusterFacts,
    Kind,
    NodeFacts,
    Probe,
    Status,
    build_registry,
    catalog,
)
from runbook.checks.managed import managed_files
from runbook.data.load import LAB_SITE, PUBLISHED_SITE, REPO_ROOT
from runbook.facts import haproxy, keepalived, sysctl
from runbook.facts.files import FileContent, FileState, PathExists
from runbook.facts.haproxy import HaproxyStat
from runbook.facts.keepalived import KeepalivedState
from runbook.facts.net import Ipv4Addresses
from runbook.facts.sysctl import PersistedSysctl
from runbook.facts.units import UnitState
from runbook.plan.build import load_plan
from runbook.plan.secrets import materialize
from runbook.verify import render
from runbook.verify.gather import gather_client
from runbook.verify.run import Report, Result, run_verify

DATA = Path(__file__).parent / "data" / "verify"
SHOW_STAT = (DATA / "show-stat.csv").read_text()
KEEPALIVED_BACKUP = (DATA / "keepalived-backup.data").read_text()
SECRET = "NoDebeSalirNunca42"
SECRETS = {"stats_password": SECRET}


@pytest.fixture(scope="module")
def plan():
    return load_plan(LAB_SITE)


@pytest.fixture(scope="module")
def registry(plan):
    return build_registry(plan, SECRETS)


def test_documented_checks_are_the_plans(plan, registry):
    for node in plan.node_names:
        assert [c.id for c in registry.documented] == [c.id for c in plan.checks(node)]
        for check in registry.documented:
            planned = next(c for c in plan.checks(node) if c.id == check.id)
            assert check.checks[node] is planned
            commands = {f.key: f.command() for f in registry.facts(node)}
            assert commands[check_key(check.id)] == planned.command


def test_catalog_ids_do_not_clash_with_documented_ids(plan):
    own = {d.id for d in catalog(plan)}
    assert not own & {c.id for c in plan.checks()}
    assert {"servicio-horizon-responde", "servicio-memcached-reparto", "vip-unica"} <= own
    steps = {s.id for s in plan.steps}
    assert all(d.step in steps for d in catalog(plan))


def test_probes_never_carry_a_secret(plan, registry):
    for node in plan.node_names:
        assert SECRET not in json.dumps([f.command() for f in registry.facts(node)])


# ----------------------------------------------------------------- parsers on real output


def test_show_stat_parses_servers():
    rows = haproxy.show_stat(SHOW_STAT)
    assert {(r.proxy, r.server, r.status) for r in rows} >= {("horizon", "zeus", "UP"), ("horizon", "hades", "UP")}
    assert all(r.server not in ("FRONTEND", "BACKEND") for r in rows)
    with pytest.raises(ValueError, match="cabecera"):
        haproxy.show_stat("Unknown command\n")


def test_keepalived_dump_parses_instance_and_script():
    data = keepalived.keepalived_data(KEEPALIVED_BACKUP)
    assert data.instances["VI_50"].state == "BACKUP"
    assert data.instances["VI_50"].tracked_scripts == ["chk_haproxy"]
    assert data.instances["VI_50"].priority == 100
    assert data.scripts["chk_haproxy"].status == "GOOD"


def test_effective_sysctl_follows_systemd_order():
    key = "net.ipv4.ip_nonlocal_bind"
    grep = (
        "/usr/lib/sysctl.d/50-x.conf:3:net.ipv4.ip_nonlocal_bind = 0\n"
        "/etc/sysctl.d/60-haproxy-nonlocal-bind.conf:4:net.ipv4.ip_nonlocal_bind = 1\n"
    )
    assert sysctl.effective_sysctl(grep, key) == sysctl.SysctlSetting(
        "1", "/etc/sysctl.d/60-haproxy-nonlocal-bind.conf", 4
    )
    later = grep + "/etc/sysctl.d/99-zz.conf:1:net/ipv4/ip_nonlocal_bind=0\n"
    assert sysctl.effective_sysctl(later, key).value == "0"
    # A file in /etc hides the same name in /usr/lib.
    hidden = "/usr/lib/sysctl.d/60-a.conf:1:net.ipv4.ip_nonlocal_bind = 0\n/etc/sysctl.d/60-a.conf:1:net.ipv4.ip_nonlocal_bind = 1\n"
    assert sysctl.effective_sysctl(hidden, key).value == "1"
    assert sysctl.effective_sysctl("", key) is None


# ----------------------------------------------------------------- checks on facts


IPV4 = Ipv4Addresses().key
KEEPALIVED = KeepalivedState().key
HAPROXY_STAT = HaproxyStat("/run/haproxy/admin.sock").key
SYSCTL = PersistedSysctl("net.ipv4.ip_nonlocal_bind").key


def check_key(check_id: str) -> str:
    return f"comprobación:{check_id}"


def unit_key(unit: str) -> str:
    return UnitState(unit).key


def file_state(path: str, content: str, perms: str, copies: str = "") -> Probe:
    """A FileState answer as the node prints it: `SHA  -`, `MODE OWNER GROUP PATH`, then the copies' lines."""
    sha = hashlib.sha256(content.encode()).hexdigest()
    return Probe(0, f"{sha}  -\n{perms} {path}\n{copies}")


def healthy_facts(plan, node: str) -> NodeFacts:
    """What a converged node reports (built from the plan and the real captured outputs)."""
    site = plan.site
    me = site.node(node)
    holder = site.vip_owner.name == node
    probes: dict[str, Probe] = {}
    for check in plan.checks(node):
        probes[check_key(check.id)] = Probe(0, _passing_output(check.id, site, me))
    probes[PathExists("/etc/init/failsafe.conf").key] = Probe(1, "")
    for action in plan.actions(node):
        if getattr(action, "path", None):
            content = materialize(action.content, SECRETS)
            probes[FileContent(action.path).key] = Probe(0, content)
            perms = f"{int(action.mode, 8):o} {action.owner} {action.group}"
            probes[FileState(action.path).key] = file_state(action.path, content, perms)
    for unit in ("haproxy", "keepalived", "nftables"):
        probes[unit_key(unit)] = Probe(0, _unit(unit, "active", "enabled"))
    for action in managed_files(plan):  # each persisted sysctl as `grep -Hn` finds it in its file
        if action.path.startswith("/etc/sysctl.d/"):
            for number, line in enumerate(action.content.splitlines(), 1):
                if "=" in line and not line.startswith("#"):
                    key = line.split("=")[0].strip()
                    probes[PersistedSysctl(key).key] = Probe(0, f"{action.path}:{number}:{line}\n")
    state = "MASTER" if holder else "BACKUP"
    probes[KEEPALIVED] = Probe(0, KEEPALIVED_BACKUP.replace("State = BACKUP", f"State = {state}"))
    probes[HAPROXY_STAT] = Probe(0, SHOW_STAT)
    vip = f"3: eth1    inet {site.vip}/32 scope global eth1\n" if holder else ""
    probes[IPV4] = Probe(0, f"3: eth1    inet {me.lan_address}/24 brd x scope global eth1\n" + vip)
    return NodeFacts(node, probes)


def _passing_output(check_id: str, site, me) -> str:
    return {
        "lan-direccion": f"3: eth1    inet {me.lan_address}/24 brd 198.51.100.255 scope global eth1\n",
        "nonlocal-bind-activo": "1\n",
        "vip-aceptada": f"local {site.vip} scope host metric 1 \n",
        "arp-solo-quien-la-tiene": "".join(f"net.ipv4.conf.{dev}.{key} = {value}\n" for dev in ("all", "eth1")
                                           for key, value in (("arp_ignore", 1), ("arp_announce", 2))),
        "haproxy-instalado": "HAProxy version 2.6.12-1+deb12u4 2025/01/01\n",
        "killall-instalado": "/usr/bin/killall\n",
        "nft-instalado": "/usr/sbin/nft\n",
        "cortafuegos-cargado": nft_ruleset(site, me),
        "cortafuegos-habilitado": "enabled\n",
        "keepalived-config-valida": "",
        "haproxy-config-valida": "Configuration file is valid\n",
        "servicios-activos": "active\nactive\n",
        "servicios-habilitados": "enabled\nenabled\n",
        "escucha-servicios": "".join(f"LISTEN 0 4096 {site.vip}:{s.port} 0.0.0.0:*\n" for s in site.services),
        "servidores-contestan": "".join(
            f"{b.address}:{b.port} " + ("HTTP/1.1 302 Found\n" if s.mode == "http" else "abierto\n")
            for s in site.services for b in s.backends
        ),
    }.get(check_id, "")


def nft_ruleset(site, me) -> str:
    """`nft -t list ruleset` on a lab node once its /etc/nftables.conf is loaded (as captured on the lab)."""
    peer = next(n for n in site.nodes if n.name != me.name)
    return (
        "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n"
        "\t\tct state established,related accept\n\t\tct state invalid drop\n\t\tiif \"lo\" accept\n"
        "\t\tmeta l4proto { icmp, ipv6-icmp } accept\n"
        f"\t\tiifname \"eth1\" ip saddr {peer.lan_address} ip daddr 224.0.0.18 ip protocol vrrp accept\n"
        f"\t\tip daddr {site.vip} tcp dport {{ 80, 11211 }} accept\n"
        "\t\tip saddr 192.0.2.0/24 tcp dport 22 accept\n"
        f"\t\tip saddr {{ 192.0.2.0/24, 198.51.100.200/29 }} ip daddr {me.lan_address} tcp dport 8404 accept\n"
        "\t}\n}\n"
        "table ip traspaso {\n\tset ip_virtual {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t}\n\n"
        "\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n"
        f"\t\tip daddr @ip_virtual ip ttl > 1 tcp flags ! syn ct state {{ invalid, new }} ip ttl set 1 dup to {peer.lan_address} drop\n"
        "\t}\n}\n"
    )


def _unit(unit, active, enabled) -> str:
    return f"Id={unit}.service\nLoadState=loaded\nActiveState={active}\nSubState=running\nUnitFileState={enabled}\n"


def good_client(site) -> ClientFacts:
    services = {}
    for svc in site.services:
        answers = []
        for i, address in enumerate(site.lab.client.addresses):
            backend = svc.backends[i % len(svc.backends)].name
            answers += [{"source": str(address), "ok": True, "backend": backend, "answer": "ok"}] * 2
        services[svc.name] = answers
    return ClientFacts(available=True, services=services, stats={n.name: {"status": 401} for n in site.nodes})


def evaluate(plan, registry, nodes: dict[str, NodeFacts], client: ClientFacts) -> dict[tuple[str, str], tuple]:
    out = {}
    for name, facts in nodes.items():
        for check in registry.node_checks():
            outcome = check.evaluate(name, facts)
            out[(check.id, name)] = (outcome.status, outcome.detail, outcome.diff)
    for check in registry.cluster:
        outcome = check.evaluate(ClusterFacts(nodes, client))
        out[(check.id, "clúster")] = (outcome.status, outcome.detail, outcome.diff)
    return out


def failing(results: dict) -> dict:
    return {key: value for key, value in results.items() if value[0] not in (Status.PASSED, Status.SKIPPED)}


@pytest.fixture
def cluster(plan):
    return {n: healthy_facts(plan, n) for n in plan.node_names}


def test_healthy_cluster_passes_everything(plan, registry, cluster):
    results = evaluate(plan, registry, cluster, good_client(plan.site))
    assert failing(results) == {}
    assert results[("failsafe-comentado", "hera")][0] == Status.SKIPPED
    assert "solo está en hera" in results[("vip-unica", "clúster")][1]


def test_edited_file_shows_a_diff_node_versus_site_without_the_secret(plan, registry, cluster):
    path = "/etc/haproxy/haproxy.cfg"
    original = cluster["afrodita"].probes[FileContent(path).key].output
    edited = original.replace("maxconn 4000", "maxconn 99")
    cluster["afrodita"].probes[FileContent(path).key] = Probe(0, edited)
    cluster["afrodita"].probes[FileState(path).key] = file_state(path, edited, "640 root haproxy")
    results = failing(evaluate(plan, registry, cluster, good_client(plan.site)))
    assert set(results) == {("fichero-haproxy", "afrodita")}
    status, detail, diff = results[("fichero-haproxy", "afrodita")]
    assert status == Status.FAILED and "el contenido difiere" in detail
    assert "--- afrodita:/etc/haproxy/haproxy.cfg" in diff and "+++ sitio:/etc/haproxy/haproxy.cfg" in diff
    assert "-    maxconn 99\n" in diff and "+    maxconn 4000\n" in diff
    assert SECRET not in diff


def test_file_read_back_with_a_character_cut_in_transit_is_still_identical(plan, registry, cluster):
    # The text came back with a multibyte character split between two reads of the
    # channel (invoke decodes each chunk alone: two U+FFFD); the node's hash is right.
    path = "/etc/haproxy/haproxy.cfg"
    original = cluster["hera"].probes[FileContent(path).key].output
    assert "estadísticas" in original
    garbled = original.replace("estadísticas", "estad\ufffd\ufffdsticas", 1)
    cluster["hera"].probes[FileContent(path).key] = Probe(0, garbled)
    assert failing(evaluate(plan, registry, cluster, good_client(plan.site))) == {}


def test_missing_sysctl_file_is_flagged_by_file_and_persistence_checks(plan, registry, cluster):
    facts = cluster["hera"]
    path = "/etc/sysctl.d/60-haproxy-nonlocal-bind.conf"
    facts.probes[FileContent(path).key] = Probe(1, "")
    facts.probes[FileState(path).key] = Probe(0, "absent\n")
    facts.probes[SYSCTL] = Probe(0, "")
    results = failing(evaluate(plan, registry, cluster, good_client(plan.site)))
    assert set(results) == {("fichero-60-haproxy-nonlocal-bind", "hera"), ("nonlocal-bind-persistente", "hera")}
    assert "no existe en el nodo" in results[("fichero-60-haproxy-nonlocal-bind", "hera")][1]
    assert "tras un reinicio volvería a 0" in results[("nonlocal-bind-persistente", "hera")][1]


def test_stopped_keepalived_on_holder_moves_the_expected_vip(plan, registry, cluster):
    hera, afrodita = cluster["hera"], cluster["afrodita"]
    hera.probes[unit_key("keepalived")] = Probe(0, _unit("keepalived", "inactive", "enabled"))
    hera.probes[KEEPALIVED] = Probe(3, "keepalived no está en marcha\n")
    hera.probes[check_key("servicios-activos")] = Probe(3, "active\ninactive\n")
    hera.probes[IPV4] = Probe(0, "3: eth1    inet 198.51.100.110/24 scope global eth1\n")
    afrodita.probes[IPV4] = Probe(0, afrodita.probes[IPV4].output + "3: eth1 inet 198.51.100.150/32\n")
    results = evaluate(plan, registry, cluster, good_client(plan.site))
    assert set(failing(results)) == {
        ("unidad-keepalived", "hera"),
        ("servicios-activos", "hera"),
        ("keepalived-seguimiento", "hera"),
    }
    assert "keepalived no está en marcha: inactive" in results[("unidad-keepalived", "hera")][1]
    assert results[("vip-unica", "clúster")][0] == Status.PASSED
    assert "está en afrodita, como se esperaba" in results[("vip-nodo-previsto", "clúster")][1]
    assert "hera sin keepalived" in results[("vip-nodo-previsto", "clúster")][1]


def test_vip_on_the_wrong_node_or_on_both(plan, registry, cluster):
    cluster["afrodita"].probes[IPV4] = cluster["hera"].probes[IPV4]
    results = evaluate(plan, registry, cluster, good_client(plan.site))
    assert "a la vez en hera y afrodita" in results[("vip-unica", "clúster")][1]
    cluster["hera"].probes[IPV4] = Probe(0, "")
    results = evaluate(plan, registry, cluster, good_client(plan.site))
    assert results[("vip-unica", "clúster")][0] == Status.PASSED
    assert "debería estar en hera" in results[("vip-nodo-previsto", "clúster")][1]


def test_vip_on_three_nodes_names_them_all():
    from runbook.checks.cluster import VipUnique

    vip = "198.51.100.150"
    held = Probe(0, f"3: eth1    inet {vip}/32 scope global eth1\n")
    facts = ClusterFacts({n: NodeFacts(n, probes={IPV4: held}) for n in ("atenea", "apolo", "artemisa")},
                         ClientFacts(available=False, skipped=True))
    outcome = VipUnique("vip-unica", "t", None, vip, description="d").evaluate(facts)
    assert outcome.status == Status.FAILED
    assert outcome.detail.startswith(f"{vip} está a la vez en atenea, apolo y artemisa:")


def test_disabled_track_script_is_flagged_but_the_vip_stays(plan, registry, cluster):
    # keepalived ignores a script it disabled: the master keeps the VIP, unprotected.
    disabled = cluster["hera"].probes[KEEPALIVED].output
    disabled = disabled.replace("   Tracked scripts :\n     chk_haproxy weight 0\n", "")
    disabled = disabled.split("------< VRRP Scripts >------")[0] + "------< Interfaces >------\n"
    cluster["hera"].probes[KEEPALIVED] = Probe(0, disabled)
    results = evaluate(plan, registry, cluster, good_client(plan.site))
    assert set(failing(results)) == {("keepalived-seguimiento", "hera")}
    assert "keepalived ha desactivado la comprobación chk_haproxy" in results[("keepalived-seguimiento", "hera")][1]
    assert "está en hera, como se esperaba" in results[("vip-nodo-previsto", "clúster")][1]


def test_failing_track_script_puts_the_node_in_fault_and_the_vip_must_move(plan, registry, cluster):
    bad = cluster["hera"].probes[KEEPALIVED].output
    bad = bad.replace("Status = GOOD", "Status = BAD").replace("State = MASTER", "State = FAULT", 1)
    cluster["hera"].probes[KEEPALIVED] = Probe(0, bad)
    results = evaluate(plan, registry, cluster, good_client(plan.site))
    hera = results[("keepalived-seguimiento", "hera")][1]
    assert "chk_haproxy falla (estado BAD)" in hera and "VI_50 está en FAULT" in hera
    expected = results[("vip-nodo-previsto", "clúster")][1]
    assert "está en hera; debería estar en afrodita" in expected and "hera VI_50 en FAULT" in expected


def _stat_with(server: str, status: str, check: str) -> str:
    lines = SHOW_STAT.splitlines()
    header = lines[0][2:].split(",")
    out = [lines[0]]
    for row in csv.reader(lines[1:]):
        if row[:2] == ["horizon", server]:
            row[header.index("status")] = status
            row[header.index("check_status")] = check
            row[header.index("check_desc")] = "Connection refused"
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(row)
        out.append(buffer.getvalue())
    return "\n".join(out) + "\n"


def test_backend_down_and_spread_lost(plan, registry, cluster):
    for facts in cluster.values():
        facts.probes[HAPROXY_STAT] = Probe(0, _stat_with("zeus", "DOWN", "L4CON"))
    client = good_client(plan.site)
    for answer in client.services["horizon"]:
        answer["backend"] = "hades"
    results = failing(evaluate(plan, registry, cluster, client))
    assert set(results) == {
        ("servicio-horizon-backends", "hera"),
        ("servicio-horizon-backends", "afrodita"),
        ("servicio-horizon-reparto", "clúster"),
    }
    assert "zeus DOWN (L4CON: Connection refused)" in results[("servicio-horizon-backends", "hera")][1]
    assert "acaban todas en hades" in results[("servicio-horizon-reparto", "clúster")][1]


def test_failed_requests_and_open_stats_page(plan, registry, cluster):
    client = good_client(plan.site)
    client.services["memcached"][0] = {"source": "198.51.100.200", "ok": False, "error": "conexión rechazada"}
    client.stats["afrodita"] = {"status": 200}
    results = failing(evaluate(plan, registry, cluster, client))
    assert "1 de 16 peticiones a 198.51.100.150:11211 fallaron" in results[("servicio-memcached-responde", "clúster")][1]
    assert "afrodita: respondió 200 sin pedir contraseña" in results[("estadisticas-protegidas", "clúster")][1]


def test_same_source_on_two_backends_breaks_the_source_promise(plan, registry, cluster):
    client = good_client(plan.site)
    client.services["memcached"][1] = dict(client.services["memcached"][1], backend="hades")
    client.services["memcached"][0] = dict(client.services["memcached"][0], backend="zeus")
    results = failing(evaluate(plan, registry, cluster, client))
    assert "una misma dirección acabó en servidores distintos" in results[("servicio-memcached-reparto", "clúster")][1]


def test_documented_check_failure_says_what_was_expected(plan, registry, cluster):
    cluster["hera"].probes[check_key("nonlocal-bind-activo")] = Probe(0, "0\n")
    results = failing(evaluate(plan, registry, cluster, good_client(plan.site)))
    assert results == {
        ("nonlocal-bind-activo", "hera"): (Status.FAILED, "se esperaba: `1`. Se obtuvo (código 0): 0", "")
    }


SSH_RULE = "ip saddr 192.0.2.0/24 tcp dport 22 accept"


@pytest.mark.parametrize("change, difference", [
    (lambda text: text.replace(f"\t\t{SSH_RULE}\n", ""),
     f"se esperaban 24 líneas y salieron 23: falta «{SSH_RULE}»"),
    (lambda text: text.replace("\t}\n}", "\t\ttcp dport 9999 accept\n\t}\n}", 1),
     "se esperaban 24 líneas y salieron 25: sobra «tcp dport 9999 accept»"),
    (lambda text: text.replace("tcp dport 22 accept", "tcp dport 2222 accept"),
     f"línea 10: se esperaba «{SSH_RULE}» y salió «ip saddr 192.0.2.0/24 tcp dport 2222 accept»"),
    (lambda text: text + "table inet extra {\n}\n",
     "se esperaban 24 líneas y salieron 26: sobra «table inet extra {»"),
], ids=["regla-borrada", "regla-extra", "regla-cambiada", "tabla-extra"])
def test_firewall_rules_in_use_other_than_the_files_say_what_differs(plan, registry, cluster, change, difference):
    me = plan.site.node("hera")
    cluster["hera"].probes[check_key("cortafuegos-cargado")] = Probe(0, change(nft_ruleset(plan.site, me)))
    results = failing(evaluate(plan, registry, cluster, good_client(plan.site)))
    assert list(results) == [("cortafuegos-cargado", "hera")]
    status, detail, _ = results[("cortafuegos-cargado", "hera")]
    assert status == Status.FAILED
    assert detail.startswith("se esperaba: Exactamente las reglas del fichero:")
    assert "las reglas en uso no son las del fichero" in detail
    assert detail.endswith(f" Diferencia: {difference}")


def test_firewall_not_loaded_says_so_and_a_nodes_rules_are_its_own(plan, registry, cluster):
    cluster["hera"].probes[check_key("cortafuegos-cargado")] = Probe(0, "")
    status, detail, _ = failing(evaluate(plan, registry, cluster, good_client(plan.site)))[("cortafuegos-cargado", "hera")]
    assert status == Status.FAILED
    assert detail.endswith("el cortafuegos no está cargado y entra todo. Se obtuvo (código 0): (sin salida)")
    check = next(c for c in plan.checks("hera") if c.id == "cortafuegos-cargado")
    assert not check.passes(0, nft_ruleset(plan.site, plan.site.node("afrodita")))  # the other node's rules


# ----------------------------------------------------------------- sites that are not the lab


def test_non_lab_site_never_makes_client_requests(monkeypatch):
    from runbook.verify import gather

    def refuse(*args, **kwargs):
        raise AssertionError("verify intentó una petición de cliente para un sitio que no es el laboratorio")

    # Both ways a request could start: entering a namespace, or the probe itself.
    monkeypatch.setattr(gather, "run_in_netns", refuse)
    monkeypatch.setattr(gather.client_probe, "probe", refuse)
    client = gather_client(load_plan(PUBLISHED_SITE).site)
    assert not client.available and client.skipped
    assert "no es un laboratorio" in client.reason


def test_a_lab_site_with_an_address_outside_the_lab_ranges_makes_no_client_request(monkeypatch):
    from ipaddress import IPv4Address

    from runbook.verify import gather

    def refuse(*args, **kwargs):
        raise AssertionError("verify intentó una petición de cliente hacia una dirección fuera del laboratorio")

    monkeypatch.setattr(gather, "run_in_netns", refuse)
    monkeypatch.setattr(gather.client_probe, "probe", refuse)
    site = load_plan(LAB_SITE).site
    client = gather_client(dataclasses.replace(site, vip=IPv4Address("192.168.1.150")))
    assert not client.available and not client.skipped
    assert client.reason == "hay direcciones fuera de los rangos del laboratorio"


def test_unreachable_node_is_exit_2_and_the_other_node_is_still_checked(monkeypatch, plan):
    def fake_gather(site, node, facts):
        if node == "hera":
            return NodeFacts(node, unreachable="hera: no se puede conectar con 192.0.2.10:22 (No route to host)")
        return healthy_facts(plan, node)

    monkeypatch.setattr("runbook.verify.run.gather_node", fake_gather)
    monkeypatch.setattr("runbook.verify.run.gather_client", lambda site: good_client(site))
    monkeypatch.setattr("runbook.verify.run.read_secrets", lambda site: SECRETS)
    report = run_verify(plan)
    assert report.exit_code == 2
    assert report.unreachable == {"hera": "hera: no se puede conectar con 192.0.2.10:22 (No route to host)"}
    afrodita = [r for r in report.results if r.node == "afrodita"]
    assert afrodita and all(r.status in (Status.PASSED, Status.SKIPPED) for r in afrodita)
    assert all(r.status == Status.ERROR for r in report.results if r.node == "hera")
    text = render(report, "table")
    assert "hera: no se puede conectar con 192.0.2.10:22" in text


# ----------------------------------------------------------------- reports


def sample_report() -> Report:
    fail = Result(
        check="fichero-haproxy",
        title="/etc/haproxy/haproxy.cfg es el del sitio",
        node="hera",
        kind=Kind.STATE,
        status=Status.FAILED,
        detail="/etc/haproxy/haproxy.cfg: el contenido difiere del generado por el sitio",
        step="haproxy",
        step_title="Configurar HAProxy",
        link="site/instalacion.html#haproxy",
        diff="--- hera:/etc/haproxy/haproxy.cfg\n+++ sitio:/etc/haproxy/haproxy.cfg\n@@ -1 +1 @@\n-a <b> & c\n+b\n",
    )
    ok = Result("vip-unica", "La IP virtual está en un solo nodo", None, Kind.CLUSTER, Status.PASSED,
                "198.51.100.150 solo está en hera", "keepalived", "Configurar Keepalived (VRRP)",
                "site/instalacion.html#keepalived")
    skip = Result("failsafe-comentado", "Las esperas están comentadas", "hera", Kind.DOCUMENTED, Status.SKIPPED,
                  "no existe /etc/init/failsafe.conf", "arranque-lento", "Arranque lento", "x#arranque-lento")
    return Report(site="lab", results=[fail, ok, skip], seconds=0.4)


def test_table_names_the_step_and_links_to_it_for_each_failure():
    text = render(sample_report(), "table")
    assert "Verificación del sitio lab" in text
    assert "FALLA" in text and "correcta" in text and "omitida" in text
    assert "paso «Configurar HAProxy»: site/instalacion.html#haproxy" in text
    assert "-a <b> & c" in text
    assert "1 correctas, 1 fallan, 0 con error, 1 omitidas" in text
    # Only failures get a step link line.
    assert "#keepalived" not in text


def test_json_report_is_valid_and_complete():
    data = json.loads(render(sample_report(), "json"))
    assert data["exit_code"] == 1
    assert data["summary"] == {"passed": 1, "failed": 1, "error": 0, "skipped": 1}
    first = data["results"][0]
    assert first["status"] == "failed" and first["result"] == "FALLA"
    assert first["link"] == "site/instalacion.html#haproxy" and first["step_title"] == "Configurar HAProxy"
    assert data["results"][1]["node"] is None


def test_junit_report_is_what_ci_reads():
    root = ET.fromstring(render(sample_report(), "junit").encode())
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("3", "1", "0", "1")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"lab.hera", "lab.clúster"}
    failure = suites["lab.hera"].find("testcase[@name='fichero-haproxy']/failure")
    assert failure.get("message").startswith("/etc/haproxy/haproxy.cfg: el contenido difiere")
    assert "site/instalacion.html#haproxy" in failure.text and "-a <b> & c" in failure.text
    assert suites["lab.hera"].find("testcase[@name='failsafe-comentado']/skipped") is not None


def test_exit_codes():
    report = sample_report()
    assert report.exit_code == 1
    report.results = [r for r in report.results if r.status != Status.FAILED]
    assert report.exit_code == 0
    report.unreachable = {"hera": "hera: no se puede conectar"}
    assert report.exit_code == 2


# ----------------------------------------------------------------- CLI: bad input, no connection


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "noexiste"], "no existe el sitio 'noexiste'"),
        (["--node", "zeus"], "no tiene el nodo 'zeus'"),
        (["--format", "xml"], "formato desconocido 'xml'"),
    ],
)
def test_cli_bad_input_exits_2_without_traceback(args, message):
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "verify", *args], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_failure_links_land_on_the_step_section_of_the_built_site(built_site, plan, registry):
    """A failure's link is `instalacion.html#<step>`: that anchor must exist in the real build."""
    from bs4 import BeautifulSoup

    from runbook.verify.run import DEFAULT_SITE_URL, step_link

    page, _, _ = DEFAULT_SITE_URL.rpartition("/")[2].partition("#")
    soup = BeautifulSoup(built_site.html(page), "html.parser")
    steps = {c.step for c in registry.node_checks() + registry.cluster}
    assert steps == {s.id for s in plan.steps}  # every step has at least one check
    for step in steps:
        anchor = step_link(DEFAULT_SITE_URL, step).split("#", 1)[1]
        heading = soup.find(id=anchor)
        assert heading is not None, f"{page} no tiene el ancla #{anchor}"
        assert heading.get_text(strip=True).startswith(plan.step(step).title)


def test_a_fact_read_by_several_checks_is_parsed_once_per_probe(monkeypatch):
    from runbook.facts.base import FactError

    parsed = []
    real_parse = KeepalivedState.parse

    def counting(self, probe):
        parsed.append(probe)
        return real_parse(self, probe)

    monkeypatch.setattr(KeepalivedState, "parse", counting)
    facts = NodeFacts("hera", {KEEPALIVED: Probe(0, KEEPALIVED_BACKUP)})
    first = facts.value(KeepalivedState())
    assert facts.value(KeepalivedState()) is first and len(parsed) == 1
    # A probe replaced (a test, a second gathering) is read again, never the old value.
    facts.probes[KEEPALIVED] = Probe(0, KEEPALIVED_BACKUP.replace("State = BACKUP", "State = MASTER"))
    assert facts.value(KeepalivedState()) is not first and len(parsed) == 2
    # An unreadable or missing answer raises every time (nothing is kept).
    del facts.probes[KEEPALIVED]
    for _ in range(2):
        with pytest.raises(FactError):
            facts.value(KeepalivedState())
    assert facts == NodeFacts("hera", {})  # the kept values are no part of the facts' equality


# --------------------------------------------------------------------- unicast VRRP

UNICAST_DUMPS = {  # real dumps of the lab with vrrp.unicast: true, each release's keepalived
    "2.2.7": (DATA / "keepalived-unicast-backup-2.2.7.data").read_text(),  # Debian 12, afrodita
    "2.3.3": (DATA / "keepalived-unicast-master-2.3.3.data").read_text(),  # Debian 13, hera
}


def test_keepalived_data_tells_unicast_peers_of_both_releases():
    backup = keepalived.keepalived_data(UNICAST_DUMPS["2.2.7"]).instances["VI_50"]
    assert (backup.state, backup.unicast, backup.unicast_peers, backup.source) == (
        "BACKUP", True, ["198.51.100.110"], "198.51.100.111")
    master = keepalived.keepalived_data(UNICAST_DUMPS["2.3.3"]).instances["VI_50"]
    assert (master.state, master.unicast, master.unicast_peers, master.source) == (
        "MASTER", True, ["198.51.100.111"], "198.51.100.110")
    assert master.tracked_scripts == ["chk_haproxy"]
    multicast = keepalived.keepalived_data(KEEPALIVED_BACKUP).instances["VI_50"]
    assert (multicast.unicast, multicast.unicast_peers) == (False, [])


def _unicast_plan(tmp_path, monkeypatch, unicast: bool):
    text = (REPO_ROOT / "site_data" / "lab.yaml").read_text()
    if unicast:
        text = text.replace("  advert_int: 1\n", "  advert_int: 1\n  unicast: true\n")
    (tmp_path / "lab.yaml").write_text(text)
    (tmp_path / "procedure.yaml").write_text((REPO_ROOT / "site_data" / "procedure.yaml").read_text())
    monkeypatch.setenv("RUNBOOK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RUNBOOK_PLAN_CACHE", "0")
    return load_plan("lab")


def _unicast_check(plan):
    checks = [c for c in build_registry(plan, SECRETS).checks if c.id == "vrrp-unicast"]
    return checks[0] if checks else None


def test_vrrp_unicast_check_only_on_a_unicast_site(tmp_path, monkeypatch):
    assert _unicast_check(_unicast_plan(tmp_path, monkeypatch, unicast=False)) is None
    check = _unicast_check(_unicast_plan(tmp_path, monkeypatch, unicast=True))
    assert check is not None and check.step == "keepalived"


@pytest.mark.parametrize("dump, outcome", [
    (UNICAST_DUMPS["2.2.7"], "ok"),
    # keepalived silently back in multicast: the file may look right, its own data does not
    (UNICAST_DUMPS["2.2.7"].replace("     Using unicast\n", ""), "multicast"),
    (UNICAST_DUMPS["2.2.7"].replace("     198.51.100.110 min_ttl", "     198.51.100.99 min_ttl"), "peer"),
])
def test_vrrp_unicast_check_reads_keepalived_own_data(tmp_path, monkeypatch, dump, outcome):
    check = _unicast_check(_unicast_plan(tmp_path, monkeypatch, unicast=True))
    result = check.evaluate("afrodita", NodeFacts("afrodita", {KEEPALIVED: Probe(0, dump)}))
    if outcome == "ok":
        assert result.status == Status.PASSED
        assert result.detail == "según keepalived: VI_50 envía sus anuncios por unicast a 198.51.100.110"
    elif outcome == "multicast":
        assert result.status == Status.FAILED
        assert result.detail.startswith("según keepalived: VI_50 envía sus anuncios por multicast (224.0.0.18), "
                                        "no por unicast a 198.51.100.110: keepalived no está usando unicast_peer")
    else:
        assert result.status == Status.FAILED
        assert result.detail == ("según keepalived: VI_50 envía sus anuncios por unicast a 198.51.100.99, "
                                 "no a 198.51.100.110")
def test_a_check_of_a_step_that_changes_nothing_is_outside_deploys_reach():
    plan = load_plan(LAB_SITE)
    documented = {c.id: c for c in build_registry(plan, SECRETS).documented}
    assert documented["servidores-contestan"].outside()  # servers are not nodes of the site
    assert documented["haproxy-config-valida"].outside() is None
