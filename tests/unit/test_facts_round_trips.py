"""Gathering costs one round trip per node: verify, and a deploy that changes nothing.

Each node's connection is a recording Context, so the test counts the
commands really sent, the way a slow WAN would feel them.
"""

from __future__ import annotations

import re

import invoke
import pytest
from test_deploy_unit import SECRETS, RecordingContext, local_plan
from test_verify_unit import good_client

from runbook.deploy import DeployOptions, deploy
from runbook.deploy.health import Health
from runbook.plan.build import load_plan
from runbook.verify.run import run_verify
from runbook.vocabulary import Status


class SilentNode:
    """A node that answers every fact of the script it is sent with empty output and status 0."""

    def __init__(self):
        self.commands: list[str] = []

    def run(self, command, **kwargs):
        self.commands.append(command)
        token = re.search(r"@@RB-[0-9a-f]{16}", command).group(0)
        count = len(re.findall(r"BEGIN \d+'", command))
        out = "".join(f"{token} BEGIN {i}\n\n{token} END {i} 0\n" for i in range(count))
        return invoke.Result(stdout=out, stderr="", exited=0)

    def close(self) -> None:
        pass


def test_verify_gathers_each_node_in_one_round_trip(monkeypatch):
    plan = load_plan("lab")
    nodes: dict[str, SilentNode] = {}

    def connect(site, node):
        return nodes.setdefault(node.name, SilentNode())

    monkeypatch.setattr("runbook.verify.gather.connect", connect)
    monkeypatch.setattr("runbook.verify.run.gather_client", lambda site: good_client(site))
    monkeypatch.setattr("runbook.verify.run.read_secrets", lambda site: SECRETS)
    report = run_verify(plan)
    assert not report.unreachable
    assert {name: len(node.commands) for name, node in nodes.items()} == {"hera": 1, "afrodita": 1}


class AddressesOnlyHealth(Health):
    """Deploy's health look reduced to the VIP fact (the local plan has no keepalived or HAProxy)."""

    def __init__(self, plan, secrets):
        self.node_checks, self.cluster_checks, self.node_names = [], [], plan.node_names


@pytest.fixture(autouse=True)
def private_lock_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNBOOK_LOCK_DIR", str(tmp_path / "lock"))


def test_a_deploy_that_changes_nothing_asks_each_node_once(tmp_path):
    plan = local_plan(tmp_path)
    first = deploy(plan, SECRETS, health=None, connect=lambda site, node: RecordingContext(),
                   runs_directory=tmp_path / "runs")
    assert first.exit_code == 0, first.errors
    contexts: dict[str, RecordingContext] = {}

    def connect(site, node):
        return contexts.setdefault(node.name, RecordingContext())

    again = deploy(plan, SECRETS, health=AddressesOnlyHealth, connect=connect, runs_directory=tmp_path / "runs")
    assert again.exit_code == 0, again.errors
    assert again.outcomes and not any(o.status == Status.CHANGED for o in again.outcomes)
    assert {name: len(ctx.commands) for name, ctx in contexts.items()} == {"hera": 1, "afrodita": 1}


def test_check_fetches_contents_in_one_more_round_trip_and_keeps_them_out_of_the_transcript(tmp_path):
    plan = local_plan(tmp_path)
    deploy(plan, SECRETS, health=None, connect=lambda site, node: RecordingContext(), runs_directory=tmp_path / "runs")
    edited = tmp_path / "nodes" / "afrodita" / "svc.conf"
    edited.write_text(edited.read_text() + "# nota privada 7Q\n")
    contexts: dict[str, RecordingContext] = {}

    def connect(site, node):
        return contexts.setdefault(node.name, RecordingContext())

    result = deploy(plan, SECRETS, DeployOptions(check=True), health=None, connect=connect,
                    runs_directory=tmp_path / "runs")
    changed = [o for o in result.outcomes if o.status == Status.CHANGED]
    assert [o.node for o in changed] == ["afrodita"] and "-# nota privada 7Q" in changed[0].diff
    assert {name: len(ctx.commands) for name, ctx in contexts.items()} == {"hera": 1, "afrodita": 2}
    transcript = result.transcript.read_text()
    assert "nota privada" not in transcript and "<contenido omitido>" in transcript
