"""Expected outputs are whole: what the configuration fixes is shown as fixed.

An expected output marks ⟨in italics⟩ what changes from one machine to another, and the
lab test (tests/lab/test_outputs_lab.py) accepts anything there. A value the site's own
configuration decides (a maxconn, a port, a priority) must not hide in such a part: it
would be unchecked, and it could be wrong (the `ss` backlog once read 4000 where the
memcached block's maxconn makes it 2000). Quoted log lines cite the real line of the file.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from runbook.data.load import LAB_SITE, PUBLISHED_SITE
from runbook.plan.build import load_plan
from runbook.plan.expected_output import parts
from runbook.plan.steps import FileAction


def _numbers(value) -> set[str]:
    """Every number of two or more digits in the site's data (ports, limits, priorities, ids)."""
    if isinstance(value, dict):
        return set().union(*(_numbers(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(_numbers(v) for v in value)) if value else set()
    if isinstance(value, int) and not isinstance(value, bool) and value >= 10:
        return {str(value)}
    return set()


def _outputs(plan):
    for node in plan.node_names:
        for check in plan.checks(node):
            yield f"{node}: {check.id}", check.output or ""
    for item in plan.observations:
        for node, (_, output) in item.rendered.items():
            yield f"{node}: {item.id}", output


@pytest.mark.parametrize("site", [PUBLISHED_SITE, LAB_SITE])
def test_no_configured_number_is_shown_as_variable(site):
    import yaml

    from runbook.data.load import data_dir

    plan = load_plan(site)
    fixed = _numbers(yaml.safe_load((data_dir() / f"{site}.yaml").read_text()))
    assert "4000" in fixed and "2000" in fixed
    hidden = {
        where: [piece for piece, variable in parts(output) if variable and piece.strip() in fixed]
        for where, output in _outputs(plan)
    }
    assert not {w: p for w, p in hidden.items() if p}, hidden


def test_the_listen_backlog_is_each_blocks_maxconn():
    plan = load_plan(PUBLISHED_SITE)
    site = plan.site
    for node in plan.node_names:
        output = next(c.output for c in plan.checks(node) if c.id == "escucha-servicios")
        assert not any(variable for _, variable in parts(output)), output
        for svc in site.services:
            backlog = svc.maxconn or site.haproxy.maxconn
            assert re.search(rf"^LISTEN 0\s+{backlog}\s+{re.escape(str(site.vip))}:{svc.port}\s", output, re.M)


def test_the_bind_alert_cites_the_line_of_the_bind(built_site):
    plan = load_plan(PUBLISHED_SITE)
    first = plan.site.services[0]
    text = BeautifulSoup(built_site.html("problemas.html"), "html.parser").get_text()
    cited = re.search(r"Binding \[/etc/haproxy/haproxy\.cfg:(\d+)\] for proxy (\S+):", text)
    assert cited and cited.group(2) == first.name
    backup = plan.site.nodes_by_priority[1].name
    cfg = next(a.content for a in plan.actions(backup)
               if isinstance(a, FileAction) and a.path == "/etc/haproxy/haproxy.cfg")
    line = cfg.splitlines()[int(cited.group(1)) - 1]
    assert line.split() == ["bind", f"{plan.site.vip}:{first.port}"], line


def _names_and_addresses(site) -> set[str]:
    """What the site's data names on a balancer: its interfaces, the VIP, each node's name and addresses."""
    out = {site.network.lan.interface, site.network.management.interface, str(site.vip)}
    for node in site.nodes_by_priority:
        out |= {node.name, str(node.lan_address), str(node.management_address)}
    return out


@pytest.mark.parametrize("site", [PUBLISHED_SITE, LAB_SITE])
def test_no_configured_name_or_address_is_shown_as_variable(site):
    # On a balancer, its interface's name is the site's (`eth1`): a variable part that holds
    # it would let any other name pass. (A client's own interface is not the site's.)
    plan = load_plan(site)
    fixed = _names_and_addresses(plan.site)
    on_nodes = [(f"{node}: {check.id}", check.output or "") for node in plan.node_names
                for check in plan.checks(node)]
    on_nodes += [(f"{node}: {item.id}", output) for item in plan.observations if item.where == "nodo"
                 for node, (_, output) in item.rendered.items()]
    hidden = {
        where: sorted(f for f in fixed for piece, variable in parts(output)
                      if variable and re.search(rf"(?<![\w.:-]){re.escape(f)}(?![\w-]|\.\d)", piece))
        for where, output in on_nodes
    }
    assert not {w: p for w, p in hidden.items() if p}, hidden
