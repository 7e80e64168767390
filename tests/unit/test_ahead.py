"""Round trips asked ahead (runbook/ahead.py, sshmux.run_ahead): sent once, taken once, never wrong.

A stand-in `ssh` (tests/support/fake_ssh.py) records what would travel;
nothing is dialled. The published site stands in for real nodes: in
"silent" mode its nodes answer nothing and nothing runs here.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from support.fake_ssh import real_site

from runbook import ahead, sshmux
from runbook.checks import build_registry
from runbook.deploy.facts import opening_facts, query_for
from runbook.deploy.health import Health
from runbook.facts import runner
from runbook.load import load_procedure, load_site
from runbook.planning import build_plan
from runbook.ssh_target import NodeUnreachable, target

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def nothing_left_ahead():
    yield
    ahead.forget()


def sent(calls: list[dict], command: str) -> int:
    """How many times `command` travelled to a node (masters and `-G` carry no command)."""
    return sum(1 for c in calls if c["stdin"] == command)


def wait_ahead(t):
    """The answer asked ahead for this target (for a test to wait on; the command never waits so)."""
    (entry,) = [f for (control, _), f in sshmux._ahead_runs.items() if control == str(sshmux.control_path(t))]
    return entry.result(timeout=20)


# ------------------------------------------------------------------ sshmux


def test_a_round_trip_asked_ahead_travels_once_and_answers_the_same_command_once(fake_ssh, tmp_path):
    site = real_site(tmp_path)
    node = site.nodes[0]
    command = "echo respuesta; echo aviso >&2; exit 3"
    sshmux.run_ahead(target(site, node), None, command, timeout=10)
    wait_ahead(target(site, node))
    conn = sshmux.connect(site, node)
    first = conn.run(command, timeout=10)
    assert (first.stdout, first.stderr, first.exited) == ("respuesta\n", "aviso\n", 3)
    assert sent(fake_ssh(), command) == 1  # the answer asked ahead, not a second trip
    again = conn.run(command, timeout=10)  # taken once: the next identical command runs for real
    assert (again.stdout, again.exited) == ("respuesta\n", 3)
    assert sent(fake_ssh(), command) == 2


def test_an_answer_asked_ahead_keeps_invokes_warn_rule(fake_ssh, tmp_path):
    from invoke.exceptions import UnexpectedExit

    site = real_site(tmp_path)
    t = target(site, site.nodes[0])
    sshmux.run_ahead(t, None, "exit 1", timeout=10)
    wait_ahead(t)
    with pytest.raises(UnexpectedExit):
        sshmux.connect(site, site.nodes[0]).run("exit 1", warn=False, timeout=10)
    assert sent(fake_ssh(), "exit 1") == 1  # the failure asked ahead, not a second trip


def test_another_command_or_another_node_is_never_answered_by_a_guess(fake_ssh, tmp_path):
    site = real_site(tmp_path)
    hera, afrodita = site.node("hera"), site.node("afrodita")
    sshmux.run_ahead(target(site, hera), None, "echo adivinado", timeout=10)
    wait_ahead(target(site, hera))
    assert sshmux.connect(site, hera).run("echo otra", timeout=10).stdout == "otra\n"
    assert sshmux.connect(site, afrodita).run("echo adivinado", timeout=10).stdout == "adivinado\n"
    calls = fake_ssh()
    assert sent(calls, "echo otra") == 1
    assert sent(calls, "echo adivinado") == 2  # once ahead on hera, once for real on afrodita
    assert sshmux.ahead_pending(target(site, hera)) == ["echo adivinado"]  # the guess was not used
    ahead.forget()
    assert sshmux.ahead_pending(target(site, hera)) == []


def test_a_node_refused_ahead_is_the_same_refusal_without_a_second_try(fake_ssh, tmp_path, monkeypatch):
    site = real_site(tmp_path)
    (tmp_path / "stderr").write_text("Host key for 192.168.100.10 has changed and you have requested strict "
                                     "checking.\nHost key verification failed.\n")
    monkeypatch.setenv("FAKE_SSH_MODE", "changed-key")
    monkeypatch.setenv("FAKE_SSH_STDERR", str(tmp_path / "stderr"))
    t = target(site, site.node("hera"))
    sshmux.run_ahead(t, None, "true", timeout=10)
    with pytest.raises(NodeUnreachable):
        wait_ahead(t)
    with pytest.raises(NodeUnreachable, match=r"^hera: la clave de host de \S+ NO coincide con known_hosts"):
        sshmux.connect(site, site.node("hera"))
    assert len(fake_ssh()) == 1  # the master was refused once: not asked again


# ------------------------------------------------------------------ record


def test_the_record_asks_exactly_what_verify_and_deploy_will_ask():
    plan = build_plan(load_site("lab"), load_procedure())
    found = json.loads(json.dumps(ahead.record(plan)))  # as stored: plain JSON
    registry, health = build_registry(plan), Health(plan, {})
    assert found["site"] == "lab" and found["lab_namespace"] == plan.site.lab.namespace
    for node in plan.site.nodes:
        entry = found["nodes"][node.name]
        assert ahead._target(entry["target"]) == target(plan.site, node)
        for kind, facts in (("verify", registry.facts(node.name)),
                            ("deploy", opening_facts(query_for(plan, node.name), health.facts(node.name)))):
            reserved = runner.reserve(entry[kind]["commands"], entry[kind]["quick"])
            # The command the gathering sends later is byte for byte the one already sent.
            assert runner.framed(runner.unique(facts))[0] == reserved
    assert found["client"]["request"]["vip"] == str(plan.site.vip)
    assert found["deploy_ready"] and [s["name"] for s in found["secrets"]] == list(plan.site.secrets)


def test_a_site_whose_files_need_an_undefined_secret_is_never_deployed_ahead():
    site = load_site("lab")
    site = site.model_copy(update={"secrets": {}})
    plan = build_plan(site, load_procedure())
    assert ahead.record(plan)["deploy_ready"] is False


# ------------------------------------------------------------------ the commands


def rb(*args, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "rb"), *args], cwd=REPO, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def silent_nodes(fake_ssh, tmp_path, monkeypatch):
    """The published site's nodes behind the stand-in ssh, answering nothing; a private plan cache."""
    monkeypatch.setenv("FAKE_SSH_MODE", "silent")
    env = {"PATH": os.environ["PATH"], "FAKE_SSH_LOG": os.environ["FAKE_SSH_LOG"], "FAKE_SSH_MODE": "silent",
           "RUNBOOK_SSH_DIR": os.environ["RUNBOOK_SSH_DIR"], "RUNBOOK_CACHE_DIR": str(tmp_path / "cache"),
           "RUNBOOK_LOCK_DIR": str(tmp_path / "lock"), "HOME": str(tmp_path)}
    return env


def fact_trips(calls: list[dict]) -> dict[str, int]:
    """How many fact round trips each node got (by its address)."""
    found: dict[str, int] = {}
    for call in calls:
        if call["stdin"].startswith("bash -c "):
            host = call["argv"][-2]
            found[host] = found.get(host, 0) + 1
    return found


def test_verify_asks_each_node_once_whether_its_plan_is_cached_or_not(silent_nodes, fake_ssh):
    cold = rb("verify", "--site", "olimpo", env=silent_nodes)  # builds and caches the plan: no guess
    trips = fact_trips(fake_ssh())
    assert cold.returncode == 2 and "el nodo no devolvió datos" in cold.stdout + cold.stderr
    assert trips == {"192.168.100.10": 1, "192.168.100.11": 1}, trips
    warm = rb("verify", "--site", "olimpo", env=silent_nodes)  # asked ahead from the cache
    assert fact_trips(fake_ssh()) == {"192.168.100.10": 2, "192.168.100.11": 2}
    assert warm.returncode == cold.returncode
    assert warm.stdout.splitlines()[:-1] == cold.stdout.splitlines()[:-1]  # the last line: its time


def test_bad_arguments_send_nothing_even_with_a_cached_plan(silent_nodes, fake_ssh):
    assert rb("plan", "--site", "olimpo", env=silent_nodes).returncode == 0  # the plan is cached
    for args in (["verify", "--site", "olimpo", "--format", "xml"],
                 ["verify", "--site", "olimpo", "--node", "zeus"],
                 ["verify", "--site", "olimpo", "--output", "/no/such/folder/informe.json"],
                 ["deploy", "--site", "olimpo", "--node", "zeus"],
                 ["deploy", "--site", "olimpo", "--step", "no-such-step"]):
        proc = rb(*args, env=silent_nodes)
        assert proc.returncode == 2, (args, proc.stderr)
    assert fake_ssh() == []


def test_deploy_without_its_secret_sends_nothing_even_with_a_cached_plan(silent_nodes, fake_ssh):
    assert rb("plan", "--site", "olimpo", env=silent_nodes).returncode == 0
    env = {**silent_nodes, "RUNBOOK_STATS_PASSWORD": ""}
    proc = rb("deploy", "--site", "olimpo", env=env)
    assert proc.returncode == 2
    assert "falta el secreto stats_password" in proc.stderr
    assert fake_ssh() == []


def test_deploy_refused_by_the_lock_sends_nothing_even_with_a_cached_plan(silent_nodes, fake_ssh, tmp_path):
    from runbook.deploy_lock import deploy_lock

    secret = tmp_path / "stats_password"
    secret.write_text("s3cr3t-de-prueba\n")
    assert rb("plan", "--site", "olimpo", env=silent_nodes).returncode == 0
    env = {**silent_nodes, "RUNBOOK_STATS_PASSWORD": "s3cr3t-de-prueba"}
    os.environ["RUNBOOK_LOCK_DIR"] = silent_nodes["RUNBOOK_LOCK_DIR"]
    try:
        with deploy_lock("olimpo"):
            proc = rb("deploy", "--site", "olimpo", env=env)
    finally:
        del os.environ["RUNBOOK_LOCK_DIR"]
    assert proc.returncode == 2
    assert f"ya hay un despliegue en curso para el sitio olimpo (pid {os.getpid()})" in proc.stderr
    assert fake_ssh() == []


def test_runbook_ahead_0_starts_nothing_even_with_a_cached_plan(silent_nodes, fake_ssh, monkeypatch):
    from runbook.cli.common import plan_or_exit

    monkeypatch.setenv("RUNBOOK_CACHE_DIR", silent_nodes["RUNBOOK_CACHE_DIR"])
    plan_or_exit("olimpo")  # the plan and its record, cached
    assert ahead.start_verify("olimpo", None) is not None  # on: the record is there and used
    for answer in list(sshmux._ahead_runs.values()):
        answer.result(timeout=20)  # both nodes asked (and answered nothing)
    assert len(fact_trips(fake_ssh())) == 2
    ahead.forget()
    monkeypatch.setenv("RUNBOOK_AHEAD", "0")
    assert ahead.start_verify("olimpo", None) is None
    assert sshmux._ahead_runs == {}
    assert sum(fact_trips(fake_ssh()).values()) == 2  # nothing more was sent
