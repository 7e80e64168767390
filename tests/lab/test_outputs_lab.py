"""The outputs the site shows after each command are what real nodes print.

A reader follows «Instalación y configuración» by hand on fresh servers.
This test does the same on the lab's fresh Debian nodes, in the page's own
order: for each step directive, `./rb deploy --step ID` (the same plan the
page shows by hand), then on every node the step's documented checks, the
validation of each file it wrote and the activation that prints something;
for each look-only command placed between steps, that command right there.
Every output is compared with the one the site documents, where only the
parts the data marks ⟨variable⟩ may differ (and column padding). Last, on
the converged cluster, every look-only command of every page.
"""

from __future__ import annotations

import re

import pytest
from support.lab_fixtures import recreate
from test_verify_lab import deploy

from runbook import lab as lab_api
from runbook.data.load import REPO_ROOT
from runbook.plan.build import load_plan
from runbook.plan.expected_output import mismatch
from runbook.plan.steps import FileAction, Observation

pytestmark = pytest.mark.lab
DIRECTIVE_RE = re.compile(r"<!--\s*runbook:(paso|orden)\s+(\S+)\s*-->")
PAGE = REPO_ROOT / "docs" / "instalacion.md"


def _on_node(site, node: str, command: str) -> str:
    """What a person at the node's terminal sees: output and errors together."""
    proc = lab_api.node_run(site, node, ["sh", "-c", f"exec 2>&1; {command}"], timeout=120)
    return proc.stdout


def _on_client(site, command: str) -> str:
    proc = lab_api.client_run(site, ["sh", "-c", f"exec 2>&1; {command}"], timeout=60)
    return proc.stdout


def _exists(site, node: str, path: str) -> bool:
    return lab_api.node_run(site, node, ["test", "-e", path], timeout=60).returncode == 0


def _check_step(site, plan, step_id: str, compared: set) -> list[str]:
    step = plan.step(step_id)
    problems = []
    for node in plan.node_names:
        if step.when_file_exists and not _exists(site, node, step.when_file_exists):
            compared.add(("omitido", step_id, node))
            continue  # the reader skips this step here, and so do its outputs
        for check in step.checks[node]:
            if check.output is not None:
                compared.add(("comprobación", check.id, node))
                why = mismatch(check.output, _on_node(site, node, check.command), check.output_partial)
                problems += [f"{node}, comprobación {check.id}: {why}"] if why else []
        for action in step.actions[node]:
            if not isinstance(action, FileAction):
                continue
            shown = [(action.validate_command(action.path), action.validate_output),
                     (action.on_change, action.apply_output)]
            for command, output in shown:
                if command and output is not None:
                    compared.add(("orden", command, node))
                    why = mismatch(output, _on_node(site, node, command))
                    problems += [f"{node}, {command}: {why}"] if why else []
    return problems


def _talk_to_the_vip(site) -> None:
    # The reader pings the VIP first; the lab's client namespace has curl, not ping.
    _on_client(site, f"curl -s -m 5 -o /dev/null http://{site.vip}/")


def _check_observation(site, item: Observation) -> list[str]:
    problems = []
    if item.where == "cliente":
        [(command, output)] = item.rendered.values()
        if command.startswith("ip neigh"):
            _talk_to_the_vip(site)
        got = _on_client(site, command)
        why = mismatch(output, got, item.output_partial)
        problems += [f"cliente, orden {item.id}: {why}"] if why else []
        if item.id == "vip-desde-un-cliente" and not why:
            problems += _same_mac_as_the_holder(site, got)
        return problems
    for node, (command, output) in item.rendered.items():
        why = mismatch(output, _on_node(site, node, command), item.output_partial)
        problems += [f"{node}, orden {item.id}: {why}"] if why else []
    return problems


def _same_mac_as_the_holder(site, neighbour_line: str) -> list[str]:
    """What the page says the MAC is: the one of the LAN interface of the VIP holder."""
    mac = re.search(r"lladdr (\S+)", neighbour_line).group(1)
    holder = site.nodes_by_priority[0].name
    link = _on_node(site, holder, f"ip link show dev {site.network.lan.interface}")
    return [] if f"link/ether {mac} " in link else [f"la MAC {mac} no es la de {holder}: {link}"]


@pytest.fixture(scope="module")
def walked(lab):
    """Fresh nodes taken through the installation page in its order; the problems found."""
    site = lab.site
    recreate(lab)  # whatever ran before, every node starts as a fresh server
    plan = load_plan(site.name)
    problems: list[str] = []
    compared: set = set()
    for kind, ident in DIRECTIVE_RE.findall(PAGE.read_text(encoding="utf-8")):
        if kind == "paso":
            deploy("--step", ident)
            problems += _check_step(site, plan, ident, compared)
        else:
            problems += _check_observation(site, plan.observation(ident))
    return site, plan, problems, compared


def test_each_step_prints_what_the_site_shows_on_fresh_nodes(walked):
    site, plan, problems, compared = walked
    assert problems == []
    # Every documented output was run, except in steps the nodes skip.
    skipped = {(s, n) for kind, s, n in compared if kind == "omitido"}
    for step in plan.steps:
        for node in plan.node_names:
            if (step.id, node) in skipped:
                continue
            for check in step.checks[node]:
                assert ("comprobación", check.id, node) in compared
            for action in step.actions[node]:
                if isinstance(action, FileAction) and action.validate_output is not None:
                    assert ("orden", action.validate_command(action.path), node) in compared
    # The walk went through every step of the plan (the page shows them all).
    shown = [i for k, i in DIRECTIVE_RE.findall(PAGE.read_text(encoding="utf-8")) if k == "paso"]
    assert shown == [s.id for s in plan.steps]


def test_look_only_commands_print_what_the_site_shows_on_the_converged_cluster(walked):
    site, plan, _, _ = walked
    problems = [p for item in plan.observations for p in _check_observation(site, item)]
    assert problems == []


def test_a_wrong_output_is_noticed(walked):
    # Guard against a comparison that always passes.
    site, plan, _, _ = walked
    check = next(c for c in plan.checks("hera") if c.id == "nonlocal-bind-activo")
    assert mismatch(check.output, _on_node(site, "hera", check.command)) is None
    assert mismatch("0", _on_node(site, "hera", check.command)) is not None
