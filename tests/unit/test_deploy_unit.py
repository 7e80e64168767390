"""Deploy without a lab: facts, predictions, diffs, rolling order, safe activation.

The executor is written against invoke's Context, so these tests run it for
real on this machine ("local mode") against files in a temporary directory:
the same shell mechanics (upload, chown/chmod, validate, backup, mv, restore)
that run over SSH on the nodes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import invoke
import pytest

from runbook.data.load import load_site
from runbook.data.model import Node
from runbook.deploy import DeployOptions, LockBusyError, deploy
from runbook.deploy.diff import predict_action, predict_step
from runbook.deploy.executor import Shell, apply_file, apply_run, validator_verdict
from runbook.deploy.facts import FactError, Facts, FactsQuery, FileFact, gather
from runbook.deploy.lock import deploy_lock
from runbook.deploy.outcome import ActionError
from runbook.deploy.report import print_recap
from runbook.deploy.rolling import rolling_order
from runbook.deploy.transcript import Transcript
from runbook.output.terminal import Plain
from runbook.plan.masking import SecretMask
from runbook.plan.steps import FileAction, Plan, PlannedStep, RunAction
from runbook.remote import sshmux, transport
from runbook.vocabulary import Status

REPO = Path(__file__).resolve().parents[2]
SECRET = "S3cret-value.42"
SECRETS = {"stats_password": SECRET}
MARKER = "@@SECRETO_stats_password@@"


class RecordingContext(invoke.Context):
    """A local Context that remembers every command line it ran."""

    def __init__(self):
        super().__init__()
        self.commands: list[str] = []

    def run(self, command, **kwargs):
        self.commands.append(command)
        return super().run(command, **kwargs)


def file_action(path: Path, content: str = "good\n", node: str = "hera", step: str = "s", **kw) -> FileAction:
    fields = dict(node=node, step=step, path=str(path), content=content, mode="0640",
                  owner="root", group="root")
    fields.update(kw)
    return FileAction(**fields)


def shell(tmp_path: Path, ctx=None) -> Shell:
    return Shell(ctx or RecordingContext(), "hera", SECRETS, Transcript("unit", SECRETS, directory=tmp_path / "runs"))


def uid_name() -> str:
    return subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()


def gid_name() -> str:
    return subprocess.run(["id", "-gn"], capture_output=True, text=True, check=True).stdout.strip()


# ------------------------------------------------------------------ facts


def test_facts_one_round_trip_reports_files_guards_paths_and_vip(tmp_path):
    present = tmp_path / "present.conf"
    present.write_text("hola\n")
    present.chmod(0o640)
    query = FactsQuery.build(
        files=[str(present), str(tmp_path / "absent.conf"), str(tmp_path)],
        guards=["true", "false", "exit 3", "echo noise; ! grep -q x /dev/null"],
        exists=[str(present), str(tmp_path / "nope")],
        vip="198.51.100.150",
    )
    ctx = RecordingContext()
    facts = gather(ctx, query)
    assert len(ctx.commands) == 1
    fact = facts.files[str(present)]
    assert fact.exists and fact.mode == 0o640 and fact.owner == uid_name() and fact.group == gid_name()
    assert fact.sha256 == hashlib.sha256(b"hola\n").hexdigest()
    assert facts.files[str(tmp_path / "absent.conf")] == FileFact(exists=False)
    assert facts.files[str(tmp_path)].not_regular
    assert facts.guards == {"true": 0, "false": 1, "exit 3": 3, "echo noise; ! grep -q x /dev/null": 0}
    assert facts.exists == {str(present): True, str(tmp_path / "nope"): False}
    assert facts.holds_vip is False  # this machine never holds a lab address


def test_facts_script_quotes_every_value(tmp_path):
    weird = tmp_path / "it's $(touch pwned) a file"
    query = FactsQuery.build(files=[str(weird)], exists=[str(weird)])
    ctx = RecordingContext()
    facts = gather(ctx, query)
    assert "$(touch pwned)" in ctx.commands[0]  # present, but only inside quotes
    assert facts.files[str(weird)] == FileFact(exists=False) and facts.exists == {str(weird): False}
    assert not (Path.cwd() / "pwned").exists() and not (tmp_path / "pwned").exists()


def test_facts_a_fact_without_an_answer_is_named():
    """A report cut short (a killed session) answers some facts only: deploy names what is missing."""

    class CutShort(invoke.Context):
        def run(self, command, **kwargs):
            result = super().run(command, **kwargs)
            kept = result.stdout.split(" BEGIN 1\n")[0]  # answers 1.. lost
            return invoke.Result(stdout="Welcome!\n" + kept, exited=0)

    query = FactsQuery.build(files=["/a"], guards=["true"], vip="198.51.100.150")
    with pytest.raises(FactError, match="no se obtuvo el dato «orden:true» del nodo"):
        gather(CutShort(), query)


# ------------------------------------------------------------- predictions


def test_file_prediction_compares_materialized_bytes_mode_and_owner(tmp_path):
    action = file_action(tmp_path / "x", content=f"auth admin:{MARKER}\n")
    real = hashlib.sha256(f"auth admin:{SECRET}\n".encode()).hexdigest()
    same = Facts(files={action.path: FileFact(True, real, 0o640, "root", "root")})
    assert predict_action(action, same, SECRETS).status == Status.OK
    marker_only = hashlib.sha256(action.content.encode()).hexdigest()
    p = predict_action(action, Facts(files={action.path: FileFact(True, marker_only, 0o640, "root", "root")}), SECRETS)
    assert p.status == Status.CHANGED and p.content_changed
    p = predict_action(action, Facts(files={action.path: FileFact(True, real, 0o644, "root", "adm")}), SECRETS)
    assert p.status == Status.CHANGED and not p.content_changed and p.meta_changed
    assert "0644 → 0640" in p.reason and "root:adm → root:root" in p.reason
    p = predict_action(action, Facts(files={action.path: FileFact(False)}), SECRETS)
    assert p.status == Status.CHANGED and p.content_changed and p.reason == "el fichero no existe"


def test_run_prediction_uses_the_guard_as_shown():
    guarded = RunAction(node="hera", step="s", command="apt-get install -y x", unless="dpkg -s x")
    assert predict_action(guarded, Facts(guards={"dpkg -s x": 0}), {}).status == Status.OK
    assert predict_action(guarded, Facts(guards={"dpkg -s x": 1}), {}).status == Status.CHANGED
    bare = RunAction(node="hera", step="s", command="true")
    assert predict_action(bare, Facts(), {}).status == Status.CHANGED


def test_step_with_missing_condition_file_is_skipped():
    step = PlannedStep(id="s", title="t", explanation="", when_file_exists="/etc/init/failsafe.conf",
                       admonitions=(), actions={"hera": (RunAction("hera", "s", "sed -i x f"),)}, checks={})
    predictions = predict_step(step, "hera", Facts(exists={"/etc/init/failsafe.conf": False}), {})
    assert [p.status for p in predictions] == [Status.SKIPPED]


def test_diff_shows_markers_never_secret_values():
    current = f"stats auth admin:{SECRET}\nold line\n".encode()
    desired = f"stats auth admin:{MARKER}\nnew line\n"
    diff = SecretMask(SECRETS, [desired]).file_diff(current, desired, "a", "b")
    assert SECRET not in diff
    assert "-old line" in diff and "+new line" in diff
    assert "stats auth" not in "".join(line for line in diff.splitlines() if line[:1] in "+-" and "---" not in line
                                       and "+++" not in line)


def test_diff_hides_a_previous_password_too():
    old = "stats auth admin:Old-Password-1\n"
    desired = f"stats auth admin:{MARKER}\n"
    mask = SecretMask(SECRETS, [desired])
    masked = mask.file_text(old, desired)
    assert "Old-Password-1" not in masked
    assert masked == "stats auth admin:@@SECRETO_stats_password_anterior@@\n"
    diff = mask.file_diff(old.encode(), desired, "a", "b")
    assert "Old-Password-1" not in diff and "_anterior@@" in diff


# ------------------------------------------------------------------ rolling


def test_rolling_order_backup_first_vip_holder_last():
    site = load_site("lab")
    hera, afrodita = site.node("hera"), site.node("afrodita")
    assert rolling_order([hera, afrodita], {"hera": True, "afrodita": False}) == ["afrodita", "hera"]
    assert rolling_order([hera, afrodita], {"hera": False, "afrodita": True}) == ["hera", "afrodita"]
    # Nobody holds it yet (first deploy): lowest priority first.
    assert rolling_order([hera, afrodita], {"hera": False, "afrodita": False}) == ["afrodita", "hera"]
    # Unknown counts as "might be serving": last.
    assert rolling_order([hera, afrodita], {"hera": False, "afrodita": None}) == ["hera", "afrodita"]


def test_rolling_order_with_three_nodes():
    nodes = [Node(name=n, lan_address=f"198.51.100.{i + 120}", management_address=f"192.0.2.{i + 20}", priority=p)
             for i, (n, p) in enumerate([("atenea", 110), ("apolo", 105), ("artemisa", 100)])]
    nobody = dict.fromkeys(["atenea", "apolo", "artemisa"], False)
    assert rolling_order(nodes, nobody) == ["artemisa", "apolo", "atenea"]
    # The VIP moved to the middle one (the first stopped): it goes last, the others by priority.
    assert rolling_order(nodes, nobody | {"apolo": True}) == ["artemisa", "atenea", "apolo"]


# ------------------------------------------------------- validator output


@pytest.mark.parametrize(
    ("exit_code", "output", "passes"),
    [
        (0, "Configuration file is valid\n", True),
        (0, "", True),  # keepalived -t on a good file says nothing
        (0, "[WARNING]  (1) : parsing [f:3] : 'option httplog' not usable with proxy 'x'\n"
            "Configuration file is valid\n", False),
        (0, "Config files missing: /etc/keepalived/keepalived.conf\n", False),
        (1, "[ALERT]    (1) : config : parsing [f:2] : unknown keyword 'bogus'\n", False),
        (5, "", False),
    ],
)
def test_validator_verdict_reads_the_output(exit_code, output, passes):
    assert validator_verdict(exit_code, output)[0] is passes


# ---------------------------------------------------- safe activation (local)


def test_new_file_is_validated_installed_and_activated(tmp_path):
    target = tmp_path / "etc" / "app.conf"
    marker = tmp_path / "activated"
    action = file_action(target, content=f"good {MARKER}\n", validate="grep -q good %s",
                         on_change=f"touch {marker}", owner=uid_name(), group=gid_name())
    sh = shell(tmp_path)
    predicted = predict_action(action, gather(sh, FactsQuery.build(files=[str(target)])), SECRETS)
    apply_file(sh, action, predicted)
    assert target.read_text() == f"good {SECRET}\n"
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert marker.exists()
    assert not list(target.parent.glob(".app.conf.runbook-*"))  # no temp file, no backup (nothing was there)
    assert all(SECRET not in c for c in sh.ctx.commands), "the secret went on a command line"
    assert SECRET not in sh.transcript.path.read_text()


def test_failed_validation_keeps_old_file_and_does_not_activate(tmp_path):
    target = tmp_path / "app.conf"
    target.write_text("old and good\n")
    runs = tmp_path / "reloads"
    action = file_action(target, content="bad\n", validate="grep -q good %s || { echo 'line 1: bad stuff' >&2; exit 1; }",
                         on_change=f"echo x >> {runs}", owner=uid_name(), group=gid_name())
    sh = shell(tmp_path)
    with pytest.raises(ActionError) as err:
        apply_file(sh, action, predict_action(action, Facts(files={str(target): FileFact(False)}), SECRETS))
    assert "la validación falló" in str(err.value) and "line 1: bad stuff" in str(err.value)
    assert target.read_text() == "old and good\n"
    assert not runs.exists()
    assert not list(tmp_path.glob(".app.conf.runbook-*"))


def test_validator_warning_with_exit_zero_is_a_failure(tmp_path):
    target = tmp_path / "app.conf"
    action = file_action(target, validate="echo '[WARNING] something odd'; echo 'Configuration file is valid'; true # %s",
                         owner=uid_name(), group=gid_name())
    with pytest.raises(ActionError, match="something odd"):
        apply_file(shell(tmp_path), action, predict_action(action, Facts(files={str(target): FileFact(False)}), SECRETS))
    assert not target.exists()


def test_failed_activation_restores_old_file_and_reapplies_it(tmp_path):
    target = tmp_path / "app.conf"
    target.write_text("old\n")
    runs = tmp_path / "reloads"
    # The "service" refuses the new content but accepts the old one.
    reload = f"echo run >> {runs}; grep -q old {target} || {{ echo 'reload failed: new config rejected'; exit 1; }}"
    action = file_action(target, content="new\n", on_change=reload, owner=uid_name(), group=gid_name())
    with pytest.raises(ActionError) as err:
        apply_file(shell(tmp_path), action, predict_action(action, Facts(files={str(target): FileFact(False)}), SECRETS))
    message = str(err.value)
    assert "reload failed: new config rejected" in message and "se restauró el fichero anterior" in message
    assert target.read_text() == "old\n"
    assert runs.read_text() == "run\nrun\n"  # once with the new file, once more with the old one
    assert (tmp_path / ".app.conf.runbook-bak").read_text() == "old\n"


def test_failed_activation_without_old_file_removes_the_new_one(tmp_path):
    target = tmp_path / "app.conf"
    action = file_action(target, content="new\n", on_change="exit 4", owner=uid_name(), group=gid_name())
    with pytest.raises(ActionError, match="código 4"):
        apply_file(shell(tmp_path), action, predict_action(action, Facts(files={str(target): FileFact(False)}), SECRETS))
    assert not target.exists()


def test_mode_only_change_is_a_chmod(tmp_path):
    target = tmp_path / "app.conf"
    target.write_text("good\n")
    target.chmod(0o600)
    action = file_action(target, owner=uid_name(), group=gid_name(), on_change=f"touch {tmp_path / 'reloaded'}")
    sh = shell(tmp_path)
    p = predict_action(action, gather(sh, FactsQuery.build(files=[str(target)])), SECRETS)
    assert p.status == Status.CHANGED and not p.content_changed
    apply_file(sh, action, p)
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert not (tmp_path / "reloaded").exists()


def test_unchanged_file_not_in_effect_is_applied_again(tmp_path):
    # The sysctl case: the file is intact, the live value was flipped by hand.
    target = tmp_path / "60-x.conf"
    target.write_text("good\n")
    target.chmod(0o640)
    live = tmp_path / "live"
    live.write_text("0\n")
    action = file_action(target, owner=uid_name(), group=gid_name(), on_change=f"cp {target} {live}",
                         unless=f"grep -qx good {live}")
    sh = shell(tmp_path)
    p = predict_action(action, gather(sh, FactsQuery.build(files=[str(target)], guards=[action.unless])), SECRETS)
    assert p.status == Status.CHANGED and p.reapply and not p.content_changed and not p.meta_changed
    assert "no en vigor" in p.reason and "código 1" in p.reason
    assert apply_file(sh, action, p) == f"aplicado de nuevo (cp {target} {live})"
    assert live.read_text() == "good\n"
    again = predict_action(action, gather(sh, FactsQuery.build(files=[str(target)], guards=[action.unless])), SECRETS)
    assert again.status == Status.OK and not again.reapply


def test_changed_file_with_a_guard_is_written_and_applied_once(tmp_path):
    target = tmp_path / "60-x.conf"
    runs = tmp_path / "runs.log"
    action = file_action(target, owner=uid_name(), group=gid_name(), on_change=f"echo run >> {runs}",
                         unless="false")
    sh = shell(tmp_path)
    p = predict_action(action, gather(sh, FactsQuery.build(files=[str(target)], guards=["false"])), SECRETS)
    assert p.status == Status.CHANGED and p.content_changed and not p.reapply
    apply_file(sh, action, p)
    assert runs.read_text() == "run\n"


def test_failed_reapply_names_the_command(tmp_path):
    target = tmp_path / "60-x.conf"
    target.write_text("good\n")
    action = file_action(target, owner=uid_name(), group=gid_name(), on_change="echo 'permission denied' >&2; exit 255",
                         unless="false")
    sh = shell(tmp_path)
    p = predict_action(action, gather(sh, FactsQuery.build(files=[str(target)], guards=["false"])), SECRETS)
    with pytest.raises(ActionError, match="código 255.*permission denied"):
        apply_file(sh, action, p)
    assert target.read_text() == "good\n"


def test_failing_command_message_has_exit_code_and_output(tmp_path):
    action = RunAction("hera", "s", "echo 'E: Unable to locate package haproxy' >&2; exit 100")
    with pytest.raises(ActionError) as err:
        apply_run(shell(tmp_path), action)
    assert "código 100" in str(err.value) and "Unable to locate package" in str(err.value)


# ----------------------------------------------------- the runner (local)


def local_plan(tmp_path: Path, *, haproxy_validate: str = "grep -q good %s") -> Plan:
    """A plan with the lab's nodes whose files live under tmp_path/<node>/."""
    site = load_site("lab")

    def per_node(make):
        return {n.name: make(n.name) for n in site.nodes}

    root = tmp_path / "nodes"
    for n in site.nodes:
        (root / n.name).mkdir(parents=True, exist_ok=True)
    steps = (
        PlannedStep("files", "Ficheros", "", None, (), per_node(lambda n: (
            file_action(root / n / "base.conf", content=f"base {n}\n", node=n, step="files",
                        owner=uid_name(), group=gid_name()),
            RunAction(n, "files", f"touch {root / n / 'done'}", unless=f"test -e {root / n / 'done'}"),
        )), {}),
        PlannedStep("skip", "Solo si", "", str(root / "no-such-file"), (), per_node(lambda n: (
            RunAction(n, "skip", "false"),
        )), {}),
        PlannedStep("service", "Servicio", "", None, (), per_node(lambda n: (
            file_action(root / n / "svc.conf", content=f"good {MARKER}\n", node=n, step="service",
                        owner=uid_name(), group=gid_name(), validate=haproxy_validate,
                        on_change=f"echo {n} >> {root / 'reload-order'}", service="svc"),
        )), {}),
    )
    return Plan(site=site, steps=steps, node_names=tuple(n.name for n in site.nodes))


def local_connect(unreachable: set[str] = frozenset()):
    def connect(site, node):
        if node.name in unreachable:
            raise transport.NodeUnreachableError(node.name, f"no se puede conectar con {node.management_address}:22 (prueba)")
        return RecordingContext()

    return connect


@pytest.fixture(autouse=True)
def private_lock_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNBOOK_LOCK_DIR", str(tmp_path / "lock"))


def test_first_run_changes_then_rerun_changes_nothing(tmp_path):
    plan = local_plan(tmp_path)
    first = deploy(plan, SECRETS, health=None, connect=local_connect(), runs_directory=tmp_path / "runs")
    assert first.exit_code == 0, first.errors
    recap = first.recap()
    assert recap["hera"] == {Status.OK: 0, Status.CHANGED: 3, Status.FAILED: 0, Status.SKIPPED: 1}
    assert (tmp_path / "nodes" / "hera" / "svc.conf").read_text() == f"good {SECRET}\n"
    # Rolling step: nobody holds the VIP here, so lowest priority (afrodita) first.
    assert (tmp_path / "nodes" / "reload-order").read_text() == "afrodita\nhera\n"

    second = deploy(plan, SECRETS, health=None, connect=local_connect(), runs_directory=tmp_path / "runs")
    assert second.exit_code == 0
    assert all(r[Status.CHANGED] == 0 and r[Status.FAILED] == 0 for r in second.recap().values()), second.recap()
    assert {o.status for o in second.outcomes} == {Status.OK, Status.SKIPPED}
    transcript = second.transcript.read_text()
    assert SECRET not in transcript and SECRET not in json.dumps(second.to_json())


def test_check_shows_the_diff_and_changes_nothing(tmp_path):
    plan = local_plan(tmp_path)
    deploy(plan, SECRETS, health=None, connect=local_connect(), runs_directory=tmp_path / "runs")
    edited = tmp_path / "nodes" / "afrodita" / "svc.conf"
    edited.write_text(edited.read_text() + "# hand edit\n")
    before = {p: (p.read_bytes(), p.stat().st_mode) for p in (tmp_path / "nodes").rglob("*") if p.is_file()}
    result = deploy(plan, SECRETS, DeployOptions(check=True), health=None, connect=local_connect(),
                    runs_directory=tmp_path / "runs")
    after = {p: (p.read_bytes(), p.stat().st_mode) for p in (tmp_path / "nodes").rglob("*") if p.is_file()}
    assert before == after
    assert result.exit_code == 0
    changed = [o for o in result.outcomes if o.status == Status.CHANGED]
    assert [(o.node, o.target) for o in changed] == [("afrodita", str(edited))]
    assert "-# hand edit" in changed[0].diff
    assert SECRET not in changed[0].diff and MARKER in changed[0].diff
    assert SECRET not in result.transcript.read_text()


def test_unreachable_node_is_reported_and_the_other_completes(tmp_path):
    plan = local_plan(tmp_path)
    result = deploy(plan, SECRETS, health=None, connect=local_connect({"afrodita"}), runs_directory=tmp_path / "runs")
    assert result.exit_code == 2
    assert result.errors == ["afrodita · conexión: no se puede conectar con 192.0.2.11:22 (prueba)"]
    assert result.recap()["hera"][Status.CHANGED] == 3
    assert not (tmp_path / "nodes" / "afrodita" / "base.conf").exists()
    # The last line counts what changed and names the node deploy could not finish.
    console = Plain(io.StringIO())
    print_recap(console, result)
    last = console.file.getvalue().splitlines()[-1]
    assert last.startswith("3 cambio(s) aplicado(s); sin terminar en 1 nodo(s): afrodita · ")


def test_no_node_reached_is_never_summed_up_as_nothing_to_change(tmp_path):
    plan = local_plan(tmp_path)
    result = deploy(plan, SECRETS, health=None, connect=local_connect({"hera", "afrodita"}),
                    runs_directory=tmp_path / "runs")
    console = Plain(io.StringIO())
    print_recap(console, result)
    last = console.file.getvalue().splitlines()[-1]
    assert result.exit_code == 2
    assert last.startswith("sin cambios; sin terminar en 2 nodo(s): hera, afrodita · ")
    assert "según el plan" not in console.file.getvalue()


def test_failed_command_names_node_and_step_and_other_node_goes_on(tmp_path):
    plan = local_plan(tmp_path)
    broken = replace(plan.steps[0], actions={
        **plan.steps[0].actions,
        "hera": (RunAction("hera", "files", "echo 'disk full' >&2; exit 7"),),
    })
    plan = replace(plan, steps=(broken, *plan.steps[1:]))
    result = deploy(plan, SECRETS, health=None, connect=local_connect(), runs_directory=tmp_path / "runs")
    assert result.exit_code == 1
    assert result.errors[0].startswith("hera · paso files: la orden falló (código 7)")
    assert "disk full" in result.errors[0]
    assert result.recap()["afrodita"][Status.FAILED] == 0
    assert (tmp_path / "nodes" / "afrodita" / "svc.conf").exists()  # afrodita completed


def test_rolling_step_stops_after_a_validation_failure(tmp_path):
    plan = local_plan(tmp_path, haproxy_validate="grep -q nothing-is-good %s")
    result = deploy(plan, SECRETS, health=None, connect=local_connect(), runs_directory=tmp_path / "runs")
    assert result.exit_code == 1
    assert result.failed_nodes.keys() == {"afrodita"}  # first in the rollout
    assert "afrodita · paso service: la validación falló" in result.errors[0]
    assert result.stopped == {"hera": "despliegue escalonado detenido porque falló afrodita"}
    assert not (tmp_path / "nodes" / "hera" / "svc.conf").exists()
    assert not (tmp_path / "nodes" / "reload-order").exists()


def test_second_deploy_refuses_while_the_lock_is_held(tmp_path):
    plan = local_plan(tmp_path)
    with deploy_lock("lab"):
        with pytest.raises(LockBusyError, match=rf"ya hay un despliegue en curso para el sitio lab \(pid {os.getpid()}\)"):
            deploy(plan, SECRETS, health=None, connect=local_connect(), runs_directory=tmp_path / "runs")
    # --check changes nothing, so it does not need the lock.
    with deploy_lock("lab"):
        assert deploy(plan, SECRETS, DeployOptions(check=True), health=None, connect=local_connect(),
                      runs_directory=tmp_path / "runs").exit_code == 0


# ---------------------------------------------------------------- the CLI


def rb(*args, env=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / ".venv" / "bin" / "invoke"), *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def test_cli_unknown_step_or_node_exit_2_with_the_valid_ones():
    proc = rb("deploy", "--step", "nope")
    assert proc.returncode == 2
    assert "el plan no tiene el paso 'nope' (pasos: interfaz-lan, arranque-lento" in proc.stderr
    proc = rb("deploy", "--node", "zeus")
    assert proc.returncode == 2
    assert "nodos: hera, afrodita" in proc.stderr
    assert "Traceback" not in proc.stderr


def data_copy(tmp_path: Path, old: str = "", new: str = "") -> dict[str, str]:
    """Env for a copy of site_data whose lab secret lives in tmp_path (and one edit)."""
    data = tmp_path / "site_data"
    data.mkdir()
    for f in (REPO / "site_data").glob("*.yaml"):
        (data / f.name).write_text(f.read_text())
    secret = tmp_path / "stats_password"
    secret.write_text(SECRET + "\n")
    text = (data / "lab.yaml").read_text().replace("/var/lib/runbook/lab/secrets/stats_password", str(secret))
    assert old in text
    (data / "lab.yaml").write_text(text.replace(old, new))
    return {"RUNBOOK_DATA_DIR": str(data)}


def test_cli_bad_data_exit_2_with_file_and_line(tmp_path):
    proc = rb("deploy", env=data_copy(tmp_path, "priority: 100", "priority: 300"))
    assert proc.returncode == 2
    assert "lab.yaml, línea" in proc.stderr and "nodes[1].priority" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_missing_secret_exit_2_before_any_connection(tmp_path, monkeypatch):
    from runbook.cli import deploy_tasks

    def no_ssh(*_a, **_k):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(transport, "connect", no_ssh)
    monkeypatch.setattr(sshmux, "connect", no_ssh)
    monkeypatch.delenv("RUNBOOK_STATS_PASSWORD", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(invoke.exceptions.Exit) as err:
        deploy_tasks.deploy(invoke.Context(), site="olimpo")
    assert err.value.code == 2
    assert "falta el secreto stats_password" in str(err.value.message)


def test_cli_lock_busy_exit_2(tmp_path):
    env = {"RUNBOOK_LOCK_DIR": str(tmp_path / "lock"), **data_copy(tmp_path)}
    code = (
        "import os, sys, time\n"
        "os.environ['RUNBOOK_LOCK_DIR'] = sys.argv[1]\n"
        "from runbook.deploy.lock import deploy_lock\n"
        "with deploy_lock('lab'):\n"
        "    print('held', flush=True); time.sleep(30)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, env["RUNBOOK_LOCK_DIR"]], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = rb("deploy", env=env)
        assert proc.returncode == 2
        assert f"ya hay un despliegue en curso para el sitio lab (pid {holder.pid})" in proc.stderr
    finally:
        holder.kill()
        holder.wait()


def test_lab_node_without_proxycommand_is_never_dialled(tmp_path, monkeypatch):
    # Without the lab's ProxyCommand the host would send 192.0.2.x out of its
    # default route: refuse before opening anything.
    from runbook.data.model import Ssh

    config = tmp_path / "ssh_config"
    config.write_text("Host *\n    User root\n")
    site = load_site("lab")
    site = site.model_copy(update={"ssh": Ssh(config=str(config))})

    def no_open(self, *a, **k):
        raise AssertionError("a connection was opened")

    monkeypatch.setattr("fabric.Connection.open", no_open)
    with pytest.raises(transport.NodeUnreachableError, match="no tiene ProxyCommand"):
        transport.connect(site, site.node("hera"))
