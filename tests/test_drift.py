"""The drift test: what the built site shows is exactly what deploy runs.

The site is built once with the real `mkdocs build --strict`; its HTML is
parsed and, per node and in document order, every command, guard, file
(path, content, mode, owner), validation and on-change command shown is
read back from the page and compared, both ways, with the plan (the same
list `./rb plan --json` prints). Same for each step's checks and for the
catalog of verify's extra checks.
"""

from __future__ import annotations

import json
import subprocess

import markdown
import pytest
from bs4 import BeautifulSoup

from runbook.load import LAB_SITE, PUBLISHED_SITE, REPO_ROOT
from runbook.plan import load_plan
from runbook.verify_catalog import catalog

ACTION_FIELDS = {
    "run": ("command", "unless", "note"),
    "file": ("path", "content", "mode", "owner", "group", "validate", "on_change", "service", "unless", "note"),
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
