"""`./rb rehearse SITE`: the lab site that rehearses your site (a pure mapping), and its refusals.

The mapping keeps the shape (names, NICs, priorities, VRRP, services, ports,
balance, health checks, cookies, backends) and replaces every address by the
lab's address plan; what the lab cannot hold is one Spanish line, exit 2,
nothing written. The rehearsal itself runs in tests/lab/test_rehearse_lab.py.
"""

from __future__ import annotations

import copy
import subprocess
from ipaddress import IPv4Address, IPv4Network

import pytest
import yaml
from support.hostile_cases import REPO, run_cli

from runbook.data.load import site_from_text
from runbook.data.records import LAB_RANGES
from runbook.lab import backend_config, backends
from runbook.lab.errors import LabError
from runbook.lab.layout import layout
from runbook.rehearse import files, mapping
from runbook.rehearse import run as stages_module
from runbook.rehearse.mapping import RehearsalError, derive
from runbook.rehearse.run import Stage
from runbook.rehearse.summary import document, summary

# The example, with what a real site carries that the lab's own does not: a gateway and
# DNS, a Host header, a sticky cookie, VRRP version 3, a TCP service on a port that is not memcached's.
YOURS = """\
name: tienda
title: Balanceadores de la tienda
network:
  lan: {interface: ens18, subnet: 10.20.0.0/24, gateway: 10.20.0.1, dns: [10.20.0.53, 10.20.0.1]}
  management: {interface: ens19, subnet: 10.30.0.0/24}
vip: 10.20.0.100
vrrp: {router_id: 77, version: 3, advert_int: 0.5}
ssh: {user: despliegue, port: 2222, identity: ~/.ssh/id_ed25519_lb}
secrets:
  stats_password: {env: TIENDA_STATS_PASSWORD}
stats: {port: 9000, uri: /estado, user: operador, allow_from: [10.99.0.0/24]}
nodes:
  - {name: lb-norte, lan_address: 10.20.0.11, management_address: 10.30.0.11, priority: 150}
  - {name: lb-sur, lan_address: 10.20.0.12, management_address: 10.30.0.12, priority: 140}
servers:
  - {name: web1, lan_address: 10.20.0.21, management_address: 10.30.0.21}
  - {name: web2, lan_address: 10.20.0.22}
  - {name: web3, lan_address: 10.20.0.23}
services:
  - name: web
    mode: http
    port: 80
    balance: roundrobin
    health_check: {path: /healthz, expect_status: 200, host: "10.20.0.100:80"}
    sticky_cookie: TIENDA
    backends:
      - {name: web1, address: 10.20.0.21, port: 8080}
      - {name: web2, address: 10.20.0.22, port: 8080}
      - {name: web3, address: 10.20.0.23, port: 8080}
  - name: cola
    mode: tcp
    port: 5672
    balance: leastconn
    backends:
      - {name: web1, address: 10.20.0.21, port: 5672}
      - {name: mq2, address: 10.20.0.31, port: 5672}
"""


def yours(text: str = YOURS):
    return site_from_text("tienda", text, "site_data/tienda.yaml")


def data(text: str = YOURS) -> dict:
    return yours(text).model_dump(mode="json")


def edited(change) -> dict:
    found = data()
    change(found)
    return found


def in_lab_ranges(address: str) -> bool:
    return any(IPv4Address(address) in r for r in LAB_RANGES)


def test_the_rehearsal_keeps_your_shape():
    rehearsal = files.prepare(yours(), "site_data/tienda.yaml")
    lab, mine = rehearsal.site, yours()
    assert lab.name == mine.name and lab.lab is not None
    assert (lab.network.lan.interface, lab.network.management.interface) == ("ens18", "ens19")
    assert [(n.name, n.priority) for n in lab.nodes] == [("lb-norte", 150), ("lb-sur", 140)]
    assert (lab.vrrp.router_id, lab.vrrp.version, lab.vrrp.advert_int) == (77, 3, 0.5)
    assert (lab.stats.port, lab.stats.uri, lab.stats.user) == (9000, "/estado", "operador")
    assert [s.name for s in lab.servers] == ["web1", "web2", "web3"]
    for theirs, ours in zip(mine.services, lab.services, strict=True):
        assert (ours.name, ours.mode, ours.port, ours.balance, ours.sticky_cookie, ours.maxconn) == (
            theirs.name, theirs.mode, theirs.port, theirs.balance, theirs.sticky_cookie, theirs.maxconn)
        assert [(b.name, b.port) for b in ours.backends] == [(b.name, b.port) for b in theirs.backends]
    check = lab.services[0].health_check
    assert (check.path, check.expect_status) == ("/healthz", "200")


def test_the_rehearsal_opens_the_stats_page_to_the_labs_management_network_and_client():
    lab = files.prepare(yours(), "site_data/tienda.yaml").site
    assert lab.stats.allow_from == [IPv4Network("192.0.2.0/24"), IPv4Network("198.51.100.200/29")]
    assert [str(a) for a in lab.lab.client.addresses] == [f"198.51.100.{h}" for h in range(200, 208)]


def test_every_address_is_mapped_into_the_documentation_ranges_and_none_of_yours_is_left():
    rehearsal = files.prepare(yours(), "site_data/tienda.yaml")
    lab = rehearsal.site
    assert lab.network.lan.subnet == IPv4Network("198.51.100.0/24")
    assert lab.network.management.subnet == IPv4Network("192.0.2.0/24")
    assert all(in_lab_ranges(str(a)) for _, a in lab.addresses())
    assert str(lab.vip) == "198.51.100.100"
    assert [str(n.lan_address) for n in lab.nodes] == ["198.51.100.101", "198.51.100.102"]
    assert [str(n.management_address) for n in lab.nodes] == ["192.0.2.10", "192.0.2.11"]
    assert str(lab.network.lan.gateway) == "198.51.100.1"
    # Your address of the VIP in the Host header becomes the lab's VIP, its port kept.
    assert lab.services[0].health_check.host == "198.51.100.100:80"
    # web1 serves both services: one lab address, as one server of yours.
    assert {str(b.address) for s in lab.services for b in s.backends if b.name == "web1"} == {"198.51.100.10"}
    # What the file holds (its comments name your addresses; the data does not).
    body = yaml.safe_load(rehearsal.text)
    text = yaml.safe_dump(body)
    for address in ("10.20.", "10.30."):
        assert address not in text
    assert rehearsal.addresses["10.20.0.100"] == "198.51.100.100"
    assert "#   10.20.0.100 → 198.51.100.100" in rehearsal.text.splitlines()


def test_ssh_and_the_secret_are_the_labs_own_in_the_rehearsals_state_dir():
    lab = files.prepare(yours(), "site_data/tienda.yaml").site
    state = mapping.state_dir("tienda")
    assert (lab.ssh.user, lab.ssh.port, lab.ssh.identity) == ("root", 22, None)
    assert lab.ssh.config == str(state / "ssh_config")
    assert lab.secrets["stats_password"].file == str(state / "secrets" / "stats_password")
    assert lab.secrets["stats_password"].env is None
    assert files.prepare(yours(), "x").path == state / "tienda.yaml"
    assert not str(state).startswith(str(REPO))


def test_the_mapping_is_pure():
    before = data()
    kept = copy.deepcopy(before)
    assert derive(before) == derive(before)
    assert before == kept


def test_the_backends_answer_your_health_path_with_your_status_and_tcp_gets_a_stand_in():
    lay = layout(files.prepare(yours(), "x").site)
    by_name = {b.name: b for b in lay.backends}
    assert set(by_name) == {"web1", "web2", "web3", "mq2"}
    assert by_name["web1"].http == ((8080, "/healthz", 200),) and by_name["web1"].tcp == (5672,)
    assert by_name["mq2"].http == () and by_name["mq2"].tcp == (5672,)
    daemons = {d.label: d for d in backend_config.daemons(by_name["web1"])}
    assert daemons["memcached-5672"].ports == (5672,)  # what verify's client speaks to a tcp service
    conf = backend_config.nginx_conf(by_name["web1"])
    assert 'location = /healthz { default_type text/plain; return 200 "200 web1\\n"; }' in conf
    assert "return 302" not in conf
    request = backends.ready_request(lay)["backends"][0]
    assert request["http"] == [{"port": 8080, "entry": "/healthz", "status": 200, "redirect": None}]


@pytest.mark.parametrize(("expect", "status"), [
    ("200", 200), ("200-399", 302), ("204", 204), ("401", 401), ("300-399,503", 503), ("300", None), ("200-299", 200),
])
def test_the_status_a_backend_answers_is_one_your_check_accepts(expect, status):
    text = YOURS.replace("expect_status: 200,", f"expect_status: '{expect}',")
    if status is None:
        with pytest.raises(LabError, match=r"responde con un código entre 200 y 599 que no sea una "):
            files.prepare(yours(text), "x")
        return
    lay = layout(files.prepare(yours(text), "x").site)
    assert lay.backends[0].http[0][2] == status


def test_a_check_that_accepts_only_redirects_cannot_be_rehearsed():
    text = YOURS.replace("expect_status: 200,", "expect_status: 301,")
    with pytest.raises(LabError) as caught:
        files.prepare(yours(text), "x")
    assert caught.value.code == 2
    assert str(caught.value) == (
        "el backend web1 (198.51.100.10:8080/healthz) no puede dar una respuesta que acepte la "
        "comprobación (301): el laboratorio responde con un código entre 200 y 599 que no sea una redirección "
        "(3xx)")


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["nodes"].extend(
        {"name": f"lb{i}", "lan_address": f"10.20.0.{40 + i}", "management_address": f"10.30.0.{40 + i}",
         "priority": 10 + i} for i in range(15)),
     "tiene 17 balanceadores y el plan de direcciones del laboratorio admite 16 (198.51.100.101-116)"),
    (lambda d: d["services"][0]["backends"].extend(
        {"name": f"w{i}", "address": f"10.20.1.{i}", "port": 8080} for i in range(1, 91)),
     "tiene 94 direcciones de servidores y backends y el plan de direcciones del laboratorio admite 90 "
     "(198.51.100.10-99)"),
    (lambda d: d["network"]["lan"].update(interface="enp0s31f6-muy-largo"),
     "la interfaz 'enp0s31f6-muy-largo' (network.lan.interface) tiene más de 15 bytes, lo que Linux "
     "admite en el nombre de una interfaz"),
    (lambda d: d.update(services=[d["services"][1]]),
     "el simulacro del ensayo mide peticiones HTTP a través de la IP virtual y el sitio no tiene ningún "
     "servicio http"),
    (lambda d: d["services"][1].update(port=22),
     "services[1].port es 22, el puerto de SSH de los nodos del laboratorio"),
    (lambda d: d.update(lab={"namespace": "rb-x"}),
     "ya es un sitio de laboratorio (tiene bloque lab:); usa ./rb lab.up --site tienda"),
])
def test_what_the_lab_cannot_hold_is_one_spanish_line(change, message):
    with pytest.raises(RehearsalError) as caught:
        derive(edited(change))
    assert caught.value.code == 2
    assert str(caught.value) == f"no se puede ensayar el sitio 'tienda' en el laboratorio: {message}"


def test_the_labs_client_takes_a_name_none_of_yours_has():
    renamed = edited(lambda d: d["nodes"][0].update(name="cliente"))
    assert derive(renamed)["lab"]["client"]["name"] == "cliente-1"


def test_each_rehearsal_has_its_own_namespace_none_the_start_of_another():
    names = ["tienda", "tienda-x", "lab", "a"]
    spaces = [mapping.namespace(n) for n in names]
    assert len(set(spaces)) == len(names) and len({len(s) for s in spaces}) == 1
    assert all(s.startswith("rb-rh") and s != "rb-lab" for s in spaces)
    assert not any(a != b and b.startswith(a + "-") for a in spaces for b in spaces)


def test_a_site_the_lab_cannot_hold_is_refused_by_the_cli_with_nothing_written(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "procedure.yaml").write_bytes((REPO / "site_data" / "procedure.yaml").read_bytes())
    name = "ensayo-imposible"
    text = YOURS.replace("name: tienda", f"name: {name}").replace("expect_status: 200,", "expect_status: 302,")
    (folder / f"{name}.yaml").write_text(text)
    result = run_cli(["rehearse", name], folder)
    assert result.code == 2
    assert result.stderr.startswith("error: el backend web1 (198.51.100.10:8080/healthz) no puede dar")
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""
    assert not mapping.state_dir(name).exists()


def test_the_summary_names_each_stage_its_result_and_time_and_the_failed_requests():
    stages = [Stage("laboratorio (lab.up)", True, 3.0, "balanceadores lb1 (ens18)"),
              Stage("despliegue (deploy)", False, 20.4, "lb1 · paso haproxy: falló"),
              Stage("simulacro: planned", None)]
    text = summary("tienda", stages, mapping.site_file("tienda"), 83.2)
    lines = text.splitlines()
    assert lines[0] == "Ensayo del sitio tienda en el laboratorio"
    assert lines[4].split() == ["laboratorio", "(lab.up)", "ok", "3.0", "s", "balanceadores", "lb1", "(ens18)"]
    assert "FALLA" in lines[5] and "20.4 s" in lines[5]
    assert lines[6].split() == ["simulacro:", "planned", "no", "ejecutada", "-"]
    assert "El ensayo falla en 1 min 23 s (despliegue (deploy))." in text
    assert "./rb lab.down --site tienda" in text
    doc = document("tienda", stages, mapping.site_file("tienda"), 83.24)
    assert (doc["ok"], doc["seconds"], doc["site_file"]) == (False, 83.2, str(mapping.site_file("tienda")))
    assert [(s["title"], s["result"]) for s in doc["stages"]] == [
        ("laboratorio (lab.up)", "ok"), ("despliegue (deploy)", "failed"), ("simulacro: planned", "not run")]
    drilled = [Stage("simulacro: node-crash", True, 12.9, "x", requests=1200, failed_requests=327)]
    assert "Peticiones fallidas a través de la IP virtual: 327 de 1200 (node-crash)." in summary(
        "tienda", drilled, mapping.site_file("tienda"), 12.9)


def nginx_accepts(backend) -> subprocess.CompletedProcess:
    from test_lab_backends import _nginx_test

    return _nginx_test(backend)


@pytest.mark.validators("nginx", reason="nginx y root necesarios")
@pytest.mark.root("ip", reason="nginx y root necesarios")
def test_real_nginx_accepts_a_rehearsal_backend(tmp_path, monkeypatch):
    monkeypatch.setattr(mapping, "STATE_ROOT", tmp_path)
    lay = layout(files.prepare(yours(), "x").site)
    web = [b for b in lay.backends if b.http]
    assert len(web) == 3
    for backend in web:
        result = nginx_accepts(backend)
        assert result.returncode == 0, result.stderr
        assert "warn" not in result.stderr


def test_down_never_takes_down_a_lab_that_is_not_a_rehearsal(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("procedure.yaml", "lab.yaml"):
        (folder / name).write_bytes((REPO / "site_data" / name).read_bytes())
    result = run_cli(["rehearse", "lab", "--down"], folder)
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == "error: el sitio 'lab' es un laboratorio, no un ensayo: usa ./rb lab.down --site lab\n"
    refused = run_cli(["rehearse", "lab"], folder)
    assert refused.code == 2 and refused.stderr == (
        "error: no se puede ensayar el sitio 'lab' en el laboratorio: ya es un sitio de laboratorio (tiene "
        "bloque lab:); usa ./rb lab.up --site lab\n")


def test_lab_commands_of_a_site_never_rehearsed_say_how_to_rehearse_it(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "procedure.yaml").write_bytes((REPO / "site_data" / "procedure.yaml").read_bytes())
    name = "nunca-ensayado"
    (folder / f"{name}.yaml").write_text(YOURS.replace("name: tienda", f"name: {name}"))
    assert not mapping.site_file(name).exists()
    for args in (["lab.down", "--site", name], ["lab.ssh", "--site", name, "lb-norte", "--", "true"],
                 ["rehearse", name, "--down"]):
        result = run_cli(args, folder)
        assert (result.code, result.stdout) == (2, ""), args
        assert result.stderr == (f"error: el sitio '{name}' no es un laboratorio y no tiene ningún ensayo en "
                                 f"{mapping.site_file(name)}: ensáyalo con ./rb rehearse {name}\n")


@pytest.fixture
def staged(monkeypatch):
    """The stages' order and rules with each stage's work stood in for (its result scripted)."""
    import runbook.plan.secrets

    script: dict = {}
    calls: list[str] = []

    def stand_in(key):
        def work(*args, **kwargs):
            calls.append(key)
            return script.get(key, (True, f"{key} bien"))
        return work

    monkeypatch.setattr(stages_module, "_up", stand_in("up"))
    monkeypatch.setattr(stages_module, "_verify", stand_in("verify"))
    monkeypatch.setattr(stages_module, "_deploy", lambda plan, secrets, first: stand_in(
        "deploy" if first else "deploy2")())
    monkeypatch.setattr(stages_module, "_drill", lambda plan, name, *a: stand_in(name)())
    monkeypatch.setattr(runbook.plan.secrets, "read_secrets", lambda site: {"stats_password": "x" * 12})
    plan = files.prepare(yours(), "x").plan

    def rehearse(**results):
        script.update(results)
        return stages_module.rehearse(plan, 100, 12, log=lambda m: None), calls

    return rehearse


def test_every_stage_runs_in_order_when_each_passes(staged):
    result, calls = staged()
    assert calls == ["up", "deploy", "verify", "deploy2", "planned", "node-crash"]
    assert [s.ok for s in result] == [True] * 6 and all(s.seconds is not None for s in result)


def test_a_failed_deploy_or_verify_leaves_the_stages_after_it_not_run(staged):
    result, calls = staged(verify=(False, "fallan: vip@clúster"))
    assert calls == ["up", "deploy", "verify"]
    assert [s.ok for s in result] == [True, True, False, None, None, None]
    assert result[2].detail == "fallan: vip@clúster" and result[3].seconds is None


def test_a_second_deploy_that_changes_something_fails_but_the_drills_still_run(staged):
    result, calls = staged(deploy2=(False, "volvió a cambiar 1 acciones: lb-sur · haproxy"))
    assert calls == ["up", "deploy", "verify", "deploy2", "planned", "node-crash"]
    assert [s.ok for s in result] == [True, True, True, False, True, True]
