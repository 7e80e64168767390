"""What deploy looks at after its work, without a lab: settling, and drift it cannot fix.

The health checks are verify's own (same registry, same probes); here they
judge captured node outputs, and the runner is driven with a stand-in
health whose answers are scripted, so the waiting and the reporting rules
are tested without a cluster.
"""

from __future__ import annotations

import json

import pytest
from test_deploy_unit import SECRETS, local_connect, local_plan
from test_verify_unit import HAPROXY_STAT, IPV4, KEEPALIVED, KEEPALIVED_BACKUP, _stat_with, healthy_facts

from runbook.checks import Kind, NodeFacts, Probe, Status
from runbook.deploy import DeployOptions, deploy
from runbook.deploy.health import Health, Problem
from runbook.plan.build import load_plan
from runbook.verify import Report, Result, render


@pytest.fixture(scope="module")
def plan():
    return load_plan("lab")


@pytest.fixture
def cluster(plan):
    return {n: healthy_facts(plan, n) for n in plan.node_names}


@pytest.fixture(autouse=True)
def private_lock_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNBOOK_LOCK_DIR", str(tmp_path / "lock"))


# ------------------------------------------------------------ the checks


def test_health_probes_are_verifys_and_a_converged_cluster_has_no_problem(plan, cluster):
    health = Health(plan, SECRETS)
    assert {c.id for c in health.node_checks} == {
        "unidad-haproxy", "unidad-keepalived", "unidad-nftables", "keepalived-seguimiento",
        "servicio-horizon-backends", "servicio-memcached-backends",
    }
    assert [c.id for c in health.cluster_checks] == ["vip-unica", "vip-nodo-previsto"]
    assert {f.key for f in health.facts("hera")} <= set(cluster["hera"].probes)
    assert health.problems(cluster) == []


def test_a_backend_down_is_drift_deploy_cannot_fix(plan, cluster):
    for facts in cluster.values():
        facts.probes[HAPROXY_STAT] = Probe(0, _stat_with("zeus", "DOWN", "L4CON"))
    problems = Health(plan, SECRETS).problems(cluster)
    assert [(p.node, p.check, p.deploy_can_fix) for p in problems] == [
        ("hera", "servicio-horizon-backends", False),
        ("afrodita", "servicio-horizon-backends", False),
    ]
    message = problems[0].message()
    assert message.startswith("hera · servicio-horizon-backends (Servidores de horizon disponibles): horizon: zeus DOWN")
    assert "Deploy no puede arreglarlo: los servidores de horizon no son nodos de este sitio" in message
    assert problems[0].to_json()["deploy_can_fix"] is False


def test_keepalived_in_fault_is_a_problem_deploy_owns(plan, cluster):
    fault = KEEPALIVED_BACKUP.replace("State = BACKUP", "State = FAULT")
    cluster["afrodita"].probes[KEEPALIVED] = Probe(0, fault)
    problems = Health(plan, SECRETS).problems(cluster)
    assert [(p.node, p.check) for p in problems] == [("afrodita", "keepalived-seguimiento")]
    assert problems[0].deploy_can_fix and problems[0].message().endswith("(sigue fallando tras el despliegue)")


def test_cluster_checks_need_every_node(plan, cluster):
    del cluster["hera"].probes[IPV4]  # the VIP holder is unknown...
    assert [p.check for p in Health(plan, SECRETS).problems(cluster)] == ["vip-unica", "vip-nodo-previsto"]
    # ...but a run on one node (--node afrodita) does not judge the cluster.
    assert Health(plan, SECRETS).problems({"afrodita": cluster["afrodita"]}) == []


# ------------------------------------------------------------ the runner


class ScriptedHealth:
    """Stands in for Health: each look returns the next list of problems (the last one repeats)."""

    def __init__(self, *answers: list[Problem]):
        self.answers = list(answers)
        self.looks = 0
        self.gathered: list[str] = []

    def __call__(self, plan, secrets):
        return self

    def facts(self, node: str) -> list:
        return []  # nothing rides along in the opening round trip

    def gather(self, shell, node: str) -> NodeFacts:
        self.gathered.append(node)
        return NodeFacts(node)

    def problems(self, facts: dict[str, NodeFacts]) -> list[Problem]:
        assert set(facts) == {"hera", "afrodita"}
        self.looks += 1
        return self.answers[min(self.looks, len(self.answers)) - 1]


FAULT = Problem("afrodita", "keepalived-seguimiento", "La comprobación de HAProxy de Keepalived funciona",
                "la instancia VI_50 está en FAULT", "keepalived")
BACKEND = Problem("hera", "servicio-horizon-backends", "Servidores de horizon disponibles",
                  "horizon: zeus DOWN (L4CON: Connection refused)", "haproxy",
                  outside="los servidores de horizon no son nodos de este sitio; revísalos")


def run(tmp_path, health, options=None):
    return deploy(local_plan(tmp_path), SECRETS, options, health=health, connect=local_connect(),
                  runs_directory=tmp_path / "runs")


@pytest.fixture
def short_window(monkeypatch):
    """A stable window of 0.3 s polled every 0.05 s (the real one is a VRRP timeout, 3 s or more)."""
    monkeypatch.setattr("runbook.deploy.runner.stable_window", lambda advert_int: 0.3)
    monkeypatch.setattr("runbook.deploy.health.POLL_S", 0.05)


def test_a_deploy_that_changed_something_waits_until_the_cluster_settles(tmp_path, short_window):
    health = ScriptedHealth([FAULT], [FAULT], [])
    result = run(tmp_path, health)
    assert result.exit_code == 0, result.errors
    # Two looks with the fault, then calm looks until the window has passed.
    assert health.looks >= 4 and result.remaining == [] and result.errors == []
    assert '"event": "health", "problems": []' in result.transcript.read_text()


def test_a_calm_moment_then_a_fault_is_not_settled(tmp_path, short_window, monkeypatch):
    # The case seen after a chain of tamperings: every check passed for a
    # moment, then keepalived noticed and the VIP left; verify found it on
    # no node. Deploy must not have said "healthy" at that moment.
    monkeypatch.setattr("runbook.deploy.health.SETTLE_S", 1)
    result = run(tmp_path, ScriptedHealth([], [FAULT]))
    assert result.exit_code == 1
    assert result.errors == [FAULT.message()]


def test_a_fault_inside_the_window_starts_it_again(tmp_path, short_window):
    health = ScriptedHealth([], [], [FAULT], [])
    result = run(tmp_path, health)
    assert result.exit_code == 0, result.errors
    # The window restarted after the third look: it takes two more calm looks
    # (one opens the window, a later one closes it), however fast the machine.
    assert health.looks >= 5


def test_what_deploy_cannot_fix_is_said_and_ends_with_exit_1(tmp_path):
    run(tmp_path, None)  # converge the local nodes first: the next run changes nothing
    health = ScriptedHealth([BACKEND])
    result = run(tmp_path, health)
    assert health.looks == 1  # nothing changed, nothing to wait for: one look, at once
    assert result.exit_code == 1
    assert result.errors == [
        "hera · servicio-horizon-backends (Servidores de horizon disponibles): horizon: zeus DOWN (L4CON: "
        "Connection refused). Deploy no puede arreglarlo: los servidores de horizon no son nodos de este sitio; "
        "revísalos"
    ]
    data = json.loads(json.dumps(result.to_json()))
    assert data["remaining"][0]["deploy_can_fix"] is False and data["remaining"][0]["check"] == "servicio-horizon-backends"
    assert all(o["status"] == "ok" or o["status"] == "skipped" for o in data["outcomes"])


def test_a_deploy_that_changed_nothing_waits_for_a_cluster_still_moving_by_itself(tmp_path, short_window):
    # Soak seed 303, rounds 4, 6, 14, 15: keepalived killed on the VIP holder, systemd restarted it
    # before the sysadmin's deploy, which had nothing to change; its one look found the VIP still on
    # the peer (hera about to take it back) and deploy failed, while verify passed 3 s later.
    run(tmp_path, None)  # converged: the next run changes nothing
    health = ScriptedHealth([FAULT], [FAULT], [])
    result = run(tmp_path, health)
    assert result.exit_code == 0, result.errors
    assert health.looks >= 4 and result.remaining == []
    assert all(o.status != Status.CHANGED for o in result.outcomes)


def test_a_problem_deploy_owns_that_does_not_settle_fails_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr("runbook.deploy.health.SETTLE_S", 1)
    monkeypatch.setattr("runbook.deploy.health.POLL_S", 0.1)
    result = run(tmp_path, ScriptedHealth([FAULT]))
    assert result.exit_code == 1
    assert result.errors == [f"{FAULT.message()}"] and FAULT.message().endswith("(sigue fallando tras el despliegue)")


def test_a_single_step_or_a_dry_run_does_not_judge_the_cluster(tmp_path):
    health = ScriptedHealth([BACKEND])
    assert run(tmp_path, health, DeployOptions(step="files")).exit_code == 0
    assert run(tmp_path, health, DeployOptions(check=True)).exit_code == 0
    assert health.looks == 0


# ------------------------------------------------------------ verify says so too


def test_verify_report_says_deploy_cannot_fix_a_backend():
    down = Result("servicio-horizon-backends", "Servidores de horizon disponibles", "hera", Kind.STATE, Status.FAILED,
                  "horizon: zeus DOWN", "haproxy", "Configurar HAProxy", "x#haproxy",
                  outside="los servidores de horizon no son nodos de este sitio; revísalos")
    report = Report(site="lab", results=[down])
    assert "deploy no puede arreglarlo: los servidores de horizon no son nodos de este sitio" in render(report, "table")
    data = json.loads(render(report, "json"))["results"][0]
    assert data["deploy_can_fix"] is False and data["outside"].startswith("los servidores de horizon")
    assert "deploy no puede arreglarlo" in render(report, "junit")


# ------------------------------------------------------------ the catalogue covers every guard


def test_every_guard_and_managed_file_has_a_tampering_case_on_the_lab(plan):
    from test_tampering_lab import CASES

    from runbook.plan.steps import FileAction

    healed = {step for case in CASES for _node, step in case.heals}
    # arranque-lento only applies where /etc/init/failsafe.conf exists (Ubuntu 14.04): no lab node has it.
    guarded = {a.step for a in plan.actions() if a.unless} - {"arranque-lento"}
    managed = {a.step for a in plan.actions() if isinstance(a, FileAction)}
    assert guarded == {"interfaz-lan", "ip-no-local", "ip-virtual-aceptada", "keepalived", "paquetes", "servicios", "cortafuegos"}
    assert guarded | managed <= healed
