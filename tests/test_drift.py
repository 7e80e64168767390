"""The drift test: what the built site shows is exactly what deploy runs.

The site is built once with the real `mkdocs build --strict`; its HTML is
parsed and, per node and in document order, every command, guard, file
(path, content, mode, owner), validation and on-change command shown is
read back from the page and compared, both ways, with the plan (the same
list `./rb plan --json` prints). Same for each step's checks and for the
catalog of verify's extra checks. The Ansible export (`./rb export ansible`)
is read back the same way (export_reader.py): per node, every action of the
plan with its guard, validator and activation, and nothing else.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import markdown
import pytest
from bs4 import BeautifulSoup
from export_reader import FIELDS, load, plan_view, read_export

from runbook.load import LAB_SITE, PUBLISHED_SITE, REPO_ROOT
from runbook.plan import load_plan
from runbook.verify_catalog import catalog

ACTION_FIELDS = {
    "run": ("command", "unless", "note"),
    "file": ("path", "content", "mode", "owner", "group", "validate", "on_change", "service", "note"),
}
# A field the site leaves out is the plan's "nothing there" value.
EMPTY = {"note": ""}


def _field(block, name: str) -> str | None:
    found = block.select(f'[data-field="{name}"]')
    assert len(found) <= 1, f"{name} aparece {len(found)} veces en un bloque"
    return found[0].get_text() if found else EMPTY.get(name)


def _soups(site) -> list[tuple[str, BeautifulSoup]]:
    return [(page, BeautifulSoup(site.html(page), "html.parser")) for page in site.pages]


def site_actions(site, node: str) -> list[dict]:
    """Every action block the site shows for `node`, in reading order, as plan JSON."""
    out = []
    for page, soup in _soups(site):
        for block in soup.select("div.rb-action"):
            if node not in block["data-nodes"].split():
                continue
            kind = block["data-kind"]
            item = {"node": node, "step": block["data-step"], "kind": kind}
            item |= {name: _field(block, name) for name in ACTION_FIELDS[kind]}
            item["when_file_exists"] = block.get("data-when")
            if kind == "file":
                # The path is shown twice (title and metadata): both must be the plan's.
                assert block.select_one("span.filename").get_text() == item["path"], page
                assert block["data-path"] == item["path"], page
            out.append(item)
    return out


def _rendered_text(markdown_text: str) -> str:
    return BeautifulSoup(markdown.markdown(markdown_text), "html.parser").get_text()


def site_checks(site, node: str) -> list[dict]:
    out = []
    for _page, soup in _soups(site):
        for block in soup.select("div.rb-check"):
            if node not in block["data-nodes"].split():
                continue
            assert _field(block, "id") == block["data-check-id"]
            out.append(
                {
                    "node": node,
                    "step": block["data-step"],
                    "id": block["data-check-id"],
                    "title": _field(block, "title"),
                    "command": _field(block, "command"),
                    "exit_code": int(_field(block, "exit_code")),
                    "stdout_contains": _field(block, "stdout_contains"),
                    "stdout_regex": _field(block, "stdout_regex"),
                    "description": _field(block, "description"),
                    "explanation": _field(block, "explanation") or "",
                }
            )
    return out


def plan_checks(plan, node: str) -> list[dict]:
    """The plan's checks as a reader sees them: Markdown descriptions rendered to text."""
    out = []
    for check in plan.checks(node):
        item = check.to_json()
        item["description"] = _rendered_text(item["description"])
        item["explanation"] = _rendered_text(item["explanation"]) if item["explanation"] else ""
        out.append(item)
    return out


def _key(item: dict) -> tuple:
    return (item["step"], item["kind"], item.get("path") or item.get("command"))


def assert_same(shown: list[dict], planned: list[dict], what: str) -> None:
    shown_keys, planned_keys = [_key(i) for i in shown], [_key(i) for i in planned]
    assert not set(shown_keys) - set(planned_keys), f"{what}: la web muestra lo que el plan no hace"
    assert not set(planned_keys) - set(shown_keys), f"{what}: el plan hace lo que la web no muestra"
    assert shown_keys == planned_keys, f"{what}: mismo contenido en otro orden"
    for s, p in zip(shown, planned, strict=True):
        assert s == p, f"{what}: {_key(p)} difiere"


@pytest.fixture(scope="module")
def plan():
    return load_plan(PUBLISHED_SITE)


@pytest.fixture(scope="module")
def cli_plan() -> list[dict]:
    result = subprocess.run(
        [str(REPO_ROOT / "rb"), "plan", "--site", PUBLISHED_SITE, "--json"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cli_prints_the_plan_the_site_is_compared_with(plan, cli_plan):
    assert cli_plan == plan.to_json()


@pytest.mark.parametrize("node", ["hera", "afrodita"])
def test_site_shows_exactly_the_actions_deploy_runs(built_site, plan, cli_plan, node):
    shown = site_actions(built_site, node)
    assert shown, "la web no muestra ninguna acción"
    assert_same(shown, [i for i in cli_plan if i["node"] == node], f"acciones de {node}")
    assert_same(shown, plan.to_json(node), f"acciones de {node}")


@pytest.mark.parametrize("node", ["hera", "afrodita"])
def test_site_shows_exactly_the_checks_verify_runs(built_site, plan, node):
    shown = site_checks(built_site, node)
    planned = plan_checks(plan, node)
    assert [c["id"] for c in shown] == [c["id"] for c in planned]
    assert shown == planned


def test_node_list_covers_the_site(built_site, plan):
    # Blocks name their nodes; no block may name a node the site does not have.
    for _page, soup in _soups(built_site):
        for block in soup.select("div.rb-action, div.rb-check"):
            assert set(block["data-nodes"].split()) <= set(plan.node_names)


def test_conditional_steps_say_so_where_a_reader_sees_them(built_site, plan):
    soup = BeautifulSoup(built_site.html("instalacion.html"), "html.parser")
    conditional = [s for s in plan.steps if s.when_file_exists]
    assert conditional, "el procedimiento ya no tiene pasos condicionales: revisar este test"
    for step in conditional:
        heading = soup.find(id=step.id)
        notice = heading.find_next("div", class_="admonition")
        assert "Paso condicional" in notice.get_text()
        assert step.when_file_exists in notice.get_text()


def test_verify_page_lists_exactly_the_catalog(built_site, plan):
    soup = BeautifulSoup(built_site.html("verificacion.html"), "html.parser")
    blocks = soup.select("div.rb-verify-check")
    docs = catalog(plan.site, plan)
    assert [b["data-check-id"] for b in blocks] == [d.id for d in docs]
    for block, doc in zip(blocks, docs, strict=True):
        text = block.get_text()
        assert doc.id in text and _rendered_text(doc.title).strip() in text
        assert _rendered_text(doc.description).strip() in text
        if doc.step:
            link = block.select_one("a")
            assert link["href"].endswith(f"#{doc.step}"), link


def test_the_comparison_notices_a_different_plan(built_site):
    # Guard against a comparison that always passes: the lab's plan differs
    # (addresses), so the published site must not match it.
    other = load_plan(LAB_SITE)
    with pytest.raises(AssertionError):
        assert_same(site_actions(built_site, "hera"), other.to_json("hera"), "lab")


# ------------------------------------------------------------- Ansible export


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """The published site exported with the CLI, as a user does it."""
    out = tmp_path_factory.mktemp("export") / "ansible-olimpo"
    result = subprocess.run(
        [str(REPO_ROOT / "rb"), "export", "ansible", "--site", PUBLISHED_SITE, "--output", str(out)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("node", ["hera", "afrodita"])
def test_export_does_exactly_the_actions_deploy_runs(exported, plan, cli_plan, node):
    reading = read_export(exported, node, str(plan.site.vip))
    assert reading.unexplained == [], "la exportación hace algo que el plan no hace"
    planned = plan_view([i for i in cli_plan if i["node"] == node])
    assert {a["kind"] for a in reading.actions} == set(FIELDS)
    assert [(a["step"], a["kind"]) for a in reading.actions] == [(a["step"], a["kind"]) for a in planned]
    for shown, want in zip(reading.actions, planned, strict=True):
        assert shown == want, f"{want['step']} {want.get('path') or want.get('command')} difiere"


def test_export_holds_no_file_the_plan_does_not_write(exported, plan):
    read = set()
    for node in plan.node_names:
        read |= read_export(exported, node, str(plan.site.vip)).files_read
    assert {p for p in (exported / "files").rglob("*") if p.is_file()} == read


def test_export_reaches_the_nodes_deploy_reaches_in_deploys_order(exported, plan):
    hosts = load(exported / "inventory.yml")["all"]["children"]["balancers"]["hosts"]
    assert {n: h["ansible_host"] for n, h in hosts.items()} == {
        n.name: str(n.management_address) for n in plan.site.nodes
    }
    group_vars = load(exported / "group_vars" / "all.yml")
    by_priority = [n.name for n in plan.site.nodes_by_priority]
    assert group_vars["rb_nodes_by_priority"] == by_priority
    assert group_vars["rb_nodes_rising"] == by_priority[::-1]
    plays = [p for p in load(exported / "site.yml") if p["hosts"] != "localhost"]
    for step in plan.steps:
        mine = [p for p in plays if p["tags"] == [step.id]]
        if step.rolling:  # who holds the VIP, then one node at a time in that order
            assert [p["hosts"] for p in mine] == ["balancers", mine[1]["hosts"]]
            assert mine[1]["serial"] == 1 and mine[1]["hosts"].endswith("_turn")
        else:
            assert [p["hosts"] for p in mine] == ["balancers"] and "serial" not in mine[0]


def test_the_export_comparison_notices_a_different_plan(exported):
    # Guard against a reader that always agrees: the lab's plan differs (addresses).
    other = load_plan(LAB_SITE)
    reading = read_export(exported, "hera", str(other.site.vip))
    assert reading.actions != plan_view(other.to_json("hera"))
