"""The drift test: what the built site shows is exactly what deploy runs.

The site is built once with the real `mkdocs build --strict`; its HTML is
parsed and, per node and in document order, compared both ways with the
plan (the same list `./rb plan --json` prints):

- the tool view (each step's closed "Con ./rb" box): every command, guard,
  file path, mode, owner, validation and on-change command;
- the by-hand view a reader follows: read back independently of the code
  that wrote it (here-documents parsed, placeholders turned back into the
  secret markers, the candidate path turned back into `%s`), it must give
  every plan action and nothing else: same commands, same file contents,
  same validation, same activation, same expected outputs;
- each step's checks (command and expected output by hand, criteria in the
  box), the look-only commands (observations), and verify's extra checks.
- the Ansible export (`./rb export ansible`), read back the same way
  (export_reader.py): per node, every action of the plan with its guard,
  validator and activation, and nothing else.
"""

from __future__ import annotations

import json
import posixpath
import re
import subprocess
from pathlib import Path

import markdown
import pytest
from bs4 import BeautifulSoup
from support.export_reader import FIELDS, load, plan_view, read_export

from runbook.checks import catalog
from runbook.data.load import LAB_SITE, PUBLISHED_SITE, REPO_ROOT
from runbook.plan.build import load_plan

TOOL_FIELDS = {
    "run": ("command", "unless", "note"),
    "file": ("path", "mode", "owner", "group", "validate", "on_change", "service", "unless", "note"),
}
# What `cat > FILE` gives a new file as root (umask 022): the by-hand view
# only shows chown/chmod when the plan asks for something else.
NEW_FILE = {"mode": "0644", "owner": "root", "group": "root"}
# A field the site leaves out is the plan's "nothing there" value.
EMPTY = {"note": ""}
HAND_ROLES = {"run": {"run"}, "file": {"mkdir", "write", "perms", "validate", "install", "apply"}}
HEREDOC_RE = re.compile(r"\Acat > (?P<path>\S+) <<'(?P<end>\w+)'\n(?P<body>.*\n)(?P=end)\Z", re.DOTALL)


def _field(block, name: str) -> str | None:
    found = block.select(f'[data-field="{name}"]')
    assert len(found) <= 1, f"{name} aparece {len(found)} veces en un bloque"
    return found[0].get_text() if found else EMPTY.get(name)


def _soups(site) -> list[tuple[str, BeautifulSoup]]:
    return [(page, BeautifulSoup(site.html(page), "html.parser")) for page in site.pages]


def _blocks(site, selector: str, node: str):
    for page, soup in _soups(site):
        for block in soup.select(selector):
            if node in block.get("data-nodes", "").split():
                yield page, block


def _rendered_text(markdown_text: str) -> str:
    return BeautifulSoup(markdown.markdown(markdown_text), "html.parser").get_text()


def _typed(code) -> str:
    """What a reader copies from a code block, with each placeholder back as its secret marker."""
    code = BeautifulSoup(str(code), "html.parser")
    for span in code.select("span.rb-secreto"):
        span.replace_with(f"@@SECRETO_{span['data-secret']}@@")
    return code.get_text()


def _output(block, name: str) -> tuple[str | None, bool]:
    """An expected output as the data writes it (variable parts between ⟨⟩), and whether partial."""
    element = block.select_one(f'[data-field="{name}"]')
    if element is None:
        return None, False
    if element.has_attr("data-empty"):
        return "", False
    element = BeautifulSoup(str(element), "html.parser")
    for var in element.select("em.rb-var"):
        var.replace_with(f"⟨{var.get_text()}⟩")
    partial = block.select_one(f'.rb-output:has([data-field="{name}"])')
    return element.get_text(), partial is not None and partial.get("data-partial") == "true"


# ---------------------------------------------------------------- tool view


def site_actions(site, node: str) -> list[dict]:
    """Every action of the tool view for `node`, in reading order, as plan JSON fields."""
    out = []
    for page, block in _blocks(site, "div.rb-action", node):
        kind = block["data-kind"]
        item = {"node": node, "step": block["data-step"], "kind": kind}
        item |= {name: _field(block, name) for name in TOOL_FIELDS[kind]}
        item["when_file_exists"] = block.get("data-when")
        if kind == "file":
            assert block["data-path"] == item["path"], page
            item["secrets"] = sorted(c.get_text() for c in block.select('[data-field="secret"]'))
        out.append(item)
    return out


def plan_tool_view(items: list[dict]) -> list[dict]:
    out = []
    for item in items:
        keep = {"node", "step", "kind", "when_file_exists", *TOOL_FIELDS[item["kind"]]}
        shown = {k: v for k, v in item.items() if k in keep}
        if item["kind"] == "file":
            shown["secrets"] = sorted(set(re.findall(r"@@SECRETO_[a-z0-9_]+@@", item["content"])))
        out.append(shown)
    return out


# ------------------------------------------------------------- by-hand view


def _hand_commands(block) -> dict[str, str]:
    """role -> typed text; every code block of a by-hand block must have a known role, once."""
    roles = HAND_ROLES[block["data-kind"]]
    found: dict[str, str] = {}
    for code in block.select("code[data-field]"):
        role = code["data-field"]
        if role.endswith("_output"):
            continue
        assert role in roles, f"bloque a mano con una orden que no sale del plan: {role}"
        assert role not in found, f"{role} aparece dos veces"
        found[role] = _typed(code)
    assert not block.select("pre code:not([data-field])"), "bloque a mano con código sin papel"
    return found


def _hand_file(block, commands: dict[str, str]) -> dict:
    doc = HEREDOC_RE.match(commands["write"])
    assert doc, f"no es un here-document: {commands['write'][:80]!r}"
    written, content = doc["path"], doc["body"]
    # A folder is made only where no package makes it: a systemd drop-in folder (UNIT.d).
    folder = posixpath.dirname(written)
    drop_in = folder.startswith("/etc/systemd/system/") and folder.endswith(".d")
    assert commands.get("mkdir") == (f"mkdir -p {folder}" if drop_in else None), "carpeta de más o de menos"
    path = written
    if "install" in commands:
        tmp, _, path = commands["install"].removeprefix("mv ").partition(" ")
        assert tmp == written, "se instala un fichero distinto del que se escribió"
    perms = dict(NEW_FILE)
    for line in commands.get("perms", "").splitlines():
        verb, value, target = line.split(" ")
        assert target == written, line
        if verb == "chmod":
            perms["mode"] = value
        else:
            assert verb == "chown", line
            perms["owner"], perms["group"] = value.split(":")
    validate = commands.get("validate")
    if validate is not None:
        assert written != path and written in validate, "la validación no usa el fichero nuevo"
        validate = validate.replace(written, "%s")
    item = {"path": path, "content": content, **perms, "validate": validate, "on_change": commands.get("apply")}
    item["validate_output"], _ = _output(block, "validate_output")
    item["apply_output"], _ = _output(block, "apply_output")
    return item


def site_manual(site, node: str) -> list[dict]:
    """Every by-hand block for `node`, in reading order, read back as plan JSON fields."""
    out = []
    for _page, block in _blocks(site, "div.rb-manual", node):
        kind = block["data-kind"]
        commands = _hand_commands(block)
        item = {"node": node, "step": block["data-step"], "kind": kind, "when_file_exists": block.get("data-when")}
        if kind == "run":
            item["command"] = commands["run"]
        else:
            item |= _hand_file(block, commands)
            assert block["data-path"] == item["path"]
        out.append(item)
    return out


def plan_manual_view(items: list[dict]) -> list[dict]:
    keep = {
        "run": ("command",),
        "file": ("path", "content", "mode", "owner", "group", "validate", "on_change", "validate_output", "apply_output"),
    }
    return [
        {k: v for k, v in i.items() if k in {"node", "step", "kind", "when_file_exists", *keep[i["kind"]]}}
        for i in items
    ]


# ------------------------------------------------------------------- checks


def site_checks(site, node: str) -> list[dict]:
    criteria = {
        (b["data-step"], b["data-check-id"]): b for _p, b in _blocks(site, "div.rb-check-criteria", node)
    }
    out = []
    for _page, block in _blocks(site, "div.rb-check", node):
        key = (block["data-step"], block["data-check-id"])
        assert key in criteria, f"la comprobación {key} no dice qué exige verify"
        tool = criteria.pop(key)
        assert _field(tool, "id") == key[1]
        output, partial = _output(block, "output")
        out.append(
            {
                "node": node,
                "step": key[0],
                "id": key[1],
                "title": _field(block, "title"),
                "command": _field(block, "command"),
                "exit_code": int(_field(tool, "exit_code")),
                "stdout_contains": _field(tool, "stdout_contains"),
                "stdout_regex": _field(tool, "stdout_regex"),
                "description": _field(block, "description"),
                "explanation": _field(block, "explanation") or "",
                "output": output,
                "output_partial": partial,
                # the page says verify requires the whole output shown above
                "stdout_matches_output": _field(tool, "stdout_matches_output") is not None,
            }
        )
    assert not criteria, f"criterios de verify sin su comprobación: {sorted(criteria)}"
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
    assert_same(shown, plan_tool_view([i for i in cli_plan if i["node"] == node]), f"acciones de {node}")
    assert_same(shown, plan_tool_view(plan.to_json(node)), f"acciones de {node}")


@pytest.mark.parametrize("node", ["hera", "afrodita"])
def test_by_hand_view_gives_every_plan_action_and_nothing_else(built_site, plan, cli_plan, node):
    shown = site_manual(built_site, node)
    assert shown, "la web no muestra nada que hacer a mano"
    assert_same(shown, plan_manual_view([i for i in cli_plan if i["node"] == node]), f"a mano en {node}")


@pytest.mark.parametrize("node", ["hera", "afrodita"])
def test_site_shows_exactly_the_checks_verify_runs(built_site, plan, node):
    shown = site_checks(built_site, node)
    planned = plan_checks(plan, node)
    assert [c["id"] for c in shown] == [c["id"] for c in planned]
    assert shown == planned


def test_steps_show_only_plan_commands(built_site):
    # In the procedure, every shell block a reader may copy comes from a plan
    # object (by hand, tool view, checks) or from the data's look-only commands.
    soup = BeautifulSoup(built_site.html("instalacion.html"), "html.parser")
    sources = {"rb-manual", "rb-action", "rb-check", "rb-orden"}
    loose = [
        code.get_text()[:60]
        for code in soup.select("article div.language-bash code")
        if not any(sources & set(parent.get("class") or ()) for parent in code.parents)
    ]
    assert loose == []
    assert soup.select("article div.rb-manual"), "no hay bloques a mano"


def test_look_only_commands_are_the_datas(built_site, plan):
    shown: dict[tuple[str, str], tuple[str, str, bool]] = {}
    for _page, soup in _soups(built_site):
        for block in soup.select("div.rb-orden"):
            item = plan.observation(block["data-observation"])
            assert block["data-where"] == item.where
            nodes = block["data-nodes"].split() or list(item.rendered)
            output, partial = _output(block, "output")
            for node in nodes:
                assert (_field(block, "command"), output) == item.rendered[node], (item.id, node)
                assert partial == item.output_partial
                assert _field(block, "description") == _rendered_text(item.description)
                shown[(item.id, node)] = (item.id, node, partial)
    expected = {(o.id, n) for o in plan.observations for n in o.rendered}
    assert set(shown) == expected, "órdenes de los datos que ninguna página muestra para algún nodo"


def test_node_list_covers_the_site(built_site, plan):
    # Blocks name their nodes; no block may name a node the site does not have.
    for _page, soup in _soups(built_site):
        for block in soup.select("div.rb-action, div.rb-check, div.rb-manual, div.rb-check-criteria"):
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
        assert "sáltatelo" in notice.get_text()


def test_verify_page_lists_exactly_the_catalog(built_site, plan):
    soup = BeautifulSoup(built_site.html("verificacion.html"), "html.parser")
    blocks = soup.select("div.rb-verify-check")
    docs = catalog(plan)
    assert [b["data-check-id"] for b in blocks] == [d.id for d in docs]
    for block, doc in zip(blocks, docs, strict=True):
        text = block.get_text()
        assert doc.id in text and _rendered_text(doc.title).strip() in text
        assert _rendered_text(doc.description).strip() in text
        if doc.step:
            link = block.select_one("a")
            assert link["href"].endswith(f"#{doc.step}"), link


def test_verify_page_lists_every_check_command(built_site, plan):
    soup = BeautifulSoup(built_site.html("verificacion.html"), "html.parser")
    section = soup.find(id="a-mano-en-cada-nodo").find_next("ul")
    items = [li.get_text(" ") for li in section.find_all("li", recursive=False)]
    checks = plan.checks(plan.node_names[0])
    assert len(items) == len(checks)
    for item, check in zip(items, checks, strict=True):
        assert check.title in item and check.command in item


def test_the_comparison_notices_a_different_plan(built_site):
    # Guard against a comparison that always passes: the lab's plan differs
    # (addresses), so the published site must not match it.
    other = load_plan(LAB_SITE).to_json("hera")
    with pytest.raises(AssertionError):
        assert_same(site_actions(built_site, "hera"), plan_tool_view(other), "lab")
    with pytest.raises(AssertionError):
        assert_same(site_manual(built_site, "hera"), plan_manual_view(other), "lab")


class _Tampered:
    """The built site with one page's HTML changed by `edit(soup)`."""

    def __init__(self, site, page: str, edit):
        self.pages, self._site, self._page = site.pages, site, page
        soup = BeautifulSoup(site.html(page), "html.parser")
        edit(soup)
        self._html = str(soup)

    def html(self, page: str) -> str:
        return self._html if page == self._page else self._site.html(page)


def _set(selector: str, text: str):
    def edit(soup):
        soup.select_one(selector).string = text
    return edit


def _insert_extra_command(soup):
    block = soup.select_one('div.rb-manual[data-step="haproxy"]')
    extra = BeautifulSoup('<pre><code data-field="mkdir">mkdir -p /etc/haproxy</code></pre>', "html.parser")
    block.append(extra)


TAMPERINGS = {
    "copy instead of move": _set('div.rb-manual[data-step="haproxy"] code[data-field="install"]',
                                 "cp /etc/haproxy/haproxy.cfg.nuevo /etc/haproxy/haproxy.cfg"),
    "validate the old file": _set('div.rb-manual[data-step="haproxy"] code[data-field="validate"]',
                                  "haproxy -c -f /etc/haproxy/haproxy.cfg"),
    "a changed line in a file": _set('div.rb-manual[data-step="ip-no-local"] code[data-field="write"]',
                                     "cat > /etc/sysctl.d/60-haproxy-nonlocal-bind.conf <<'EOF'\n"
                                     "net.ipv4.ip_nonlocal_bind = 0\nEOF"),
    "a different output": _set('div.rb-manual[data-step="haproxy"] code[data-field="validate_output"]',
                               "Configuration file is valid (warnings)"),
    "a command the plan does not run": _insert_extra_command,
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_the_by_hand_comparison_notices_a_tampered_page(built_site, cli_plan, tampering):
    site = _Tampered(built_site, "instalacion.html", TAMPERINGS[tampering])
    with pytest.raises(AssertionError):
        assert_same(site_manual(site, "hera"), plan_manual_view([i for i in cli_plan if i["node"] == "hera"]), "x")


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
        if not any(step.actions.values()):  # a step with checks only: nothing to run
            assert mine == [], step.id
        elif step.rolling:  # who holds the VIP, then one node at a time in that order
            assert [p["hosts"] for p in mine] == ["balancers", mine[1]["hosts"]]
            assert mine[1]["serial"] == 1 and mine[1]["hosts"].endswith("_turn")
        else:
            assert [p["hosts"] for p in mine] == ["balancers"] and "serial" not in mine[0]


def test_the_export_comparison_notices_a_different_plan(exported):
    # Guard against a reader that always agrees: the lab's plan differs (addresses).
    other = load_plan(LAB_SITE)
    reading = read_export(exported, "hera", str(other.site.vip))
    assert reading.actions != plan_view(other.to_json("hera"))
