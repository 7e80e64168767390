"""The numbers the prose quotes come from the rendered configuration files."""

from __future__ import annotations

import dataclasses

import pytest

from runbook.data.load import PUBLISHED_SITE
from runbook.plan.build import load_plan
from runbook.plan.steps import FileAction
from runbook.site.config_values import ConfigValueError, config_facts


def test_facts_are_read_from_the_rendered_files():
    plan = load_plan(PUBLISHED_SITE)
    facts = config_facts(plan)
    files = {a.path: a.content for a in plan.actions("hera") if isinstance(a, FileAction)}
    keepalived, haproxy = files["/etc/keepalived/keepalived.conf"], files["/etc/haproxy/haproxy.cfg"]
    assert f"vrrp_script {facts.track.name} {{" in keepalived
    assert f"    interval {facts.track.interval}\n    fall {facts.track.fall}\n" in keepalived
    assert f"default-server inter {facts.checks.inter:g}s rise {facts.checks.rise} fall {facts.checks.fall}" in haproxy
    assert f"\n    maxconn {facts.global_maxconn}\n" in haproxy.split("defaults")[0]


def _without(plan, path_end: str, old: str, new: str):
    steps = []
    for step in plan.steps:
        actions = {
            node: tuple(
                dataclasses.replace(a, content=a.content.replace(old, new))
                if isinstance(a, FileAction) and a.path.endswith(path_end) else a
                for a in acts
            )
            for node, acts in step.actions.items()
        }
        steps.append(dataclasses.replace(step, actions=actions))
    return dataclasses.replace(plan, steps=tuple(steps))


@pytest.mark.parametrize(("path_end", "old", "message"), [
    ("keepalived.conf", "    fall ", "fall del vrrp_script"),
    ("haproxy.cfg", "default-server", "default-server"),
    ("haproxy.cfg", "    maxconn 4000\n", "maxconn en la sección global"),
])
def test_a_template_without_the_value_is_an_error(path_end, old, message):
    plan = _without(load_plan(PUBLISHED_SITE), path_end, old, "    # quitado ")
    with pytest.raises(ConfigValueError, match=message):
        config_facts(plan)
