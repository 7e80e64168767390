"""How the built site reads: one voice (*tú*), no project jargon, where `./rb` comes from.

A reader following the tutorial by hand on their own machines should never meet the
project's internals: the names of the site file's fields, the lab's private sites, the
drill's JSON keys, the development lock. The pages about the tool and its data
(the data reference, the lab) are the place for those; every other page is scanned.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from support.voice import USTED

from runbook.data.schema import site_schema
from runbook.site.reference import MAP_KEY, field_paths

# Words the review ruled out.
BANNED = ("estrofa", "para máquinas")
# The project's own vocabulary: never in a reader's prose.
INTERNAL = ("SU_SITIO", "labd", "invoke", "takeover_s", "vip_moved_s", "flock", "/run/lock",
            "site_data", "procedure.yaml")
# Pages about the tool and its data, where field names are the subject.
TOOL_PAGES = {"referencia.html", "laboratorio.html"}


def _field_names() -> set[str]:
    """Every field path of a site file with at least two parts, and its last two parts."""
    out = set()
    for path in field_paths(site_schema()):
        parts = [p.removesuffix("[]") for p in path.split(".") if p != MAP_KEY]
        if len(parts) >= 2:
            out.add(".".join(parts))
            out.add(".".join(parts[-2:]))
    return out


FIELDS = _field_names()


def _all_text(site, page: str) -> str:
    soup = BeautifulSoup(site.html(page), "html.parser")
    return (soup.select_one("article") or soup).get_text(" ")


def _pieces(site, page: str) -> list[str]:
    """Each paragraph, item, cell or heading as one line of text (so `^` is where it starts)."""
    soup = BeautifulSoup(site.html(page), "html.parser")
    root = soup.select_one("article") or soup
    tags = ["p", "li", "td", "th", "dd", "dt", "h1", "h2", "h3", "h4", "summary"]
    return [" ".join(el.get_text(" ").split()) for el in root.find_all(tags)]


def _prose(site, page: str) -> str:
    """What a reader following by hand reads: no code blocks, no closed "Con ./rb" boxes."""
    article = BeautifulSoup(site.html(page), "html.parser").select_one("article")
    for box in article.select("details"):
        if box.select_one(".rb-action, .rb-check-criteria"):
            box.decompose()
    for pre in article.select("pre"):
        pre.decompose()
    return " ".join(article.get_text(" ").split())


def test_the_scan_knows_the_fields():
    assert {"vrrp.router_id", "health_check.host", "network.lan.interface"} <= FIELDS


@pytest.mark.parametrize("page", ["index.html", "antes.html", "instalacion.html", "servicios.html", "conmutacion.html",
                                  "resultados.html", "verificacion.html", "problemas.html", "cambios.html",
                                  "haproxy-keepalived.html", "referencia.html", "laboratorio.html",
                                  "404.html"])
def test_one_voice(built_site, page):
    if page not in built_site.pages and page != "404.html":
        pytest.skip(f"{page} no está en este sitio")
    text = _all_text(built_site, page)
    hits = [m for piece in _pieces(built_site, page) for m in USTED.findall(piece)]
    assert not hits, f"{page} habla de usted: {sorted(set(hits))}"
    assert not USTED.findall(text), f"{page} habla de usted: {sorted(set(USTED.findall(text)))}"
    assert not [w for w in BANNED if w in text.lower()], page


def test_every_page_is_scanned(built_site):
    scanned = set(test_one_voice.pytestmark[0].args[1])
    assert set(built_site.pages) <= scanned, set(built_site.pages) - scanned


def test_reader_pages_speak_without_the_projects_internals(built_site):
    found = {}
    for page in built_site.pages:
        if page in TOOL_PAGES:
            continue
        prose = _prose(built_site, page)
        words = [w for w in INTERNAL if w in prose]
        words += sorted(f for f in FIELDS if re.search(rf"(?<![\w./-]){re.escape(f)}(?![\w-])", prose))
        if words:
            found[page] = words
    assert not found, f"vocabulario interno en páginas de lectura: {found}"


def test_the_scan_sees_internal_words(built_site):
    # The same scan on a page about the data finds its field names: it is not blind.
    prose = _prose(built_site, "referencia.html")
    assert "vrrp.router_id" in prose and "site_data" in prose


def test_rb_is_introduced_with_a_link_to_the_repository(built_site):
    soup = BeautifulSoup(built_site.html("index.html"), "html.parser")
    source = soup.select_one("a.md-source")
    assert source is not None and source["href"].startswith("https://")
    # Where ./rb is first named on the site (the first page), a sentence says what it is
    # and links to where it comes from.
    first = next(p for p in soup.select("article p") if "./rb" in p.get_text())
    sentence = next(p for p in soup.select("article p") if p.get_text().startswith("./rb es"))
    links = [a["href"] for a in sentence.select("a")]
    assert source["href"] in links
    assert first.find_next("p") is sentence or first is sentence


def test_a_placeholder_repository_link_is_announced_at_build_time(built_site):
    # mkdocs.yml links to an example address until RUNBOOK_REPO_URL names the real one:
    # the build says so (an INFO line: --strict still passes), and only then.
    import os

    from runbook.site.plugin import placeholder_notice, placeholder_repo

    url = os.environ.get("RUNBOOK_REPO_URL") or "https://git.example.org/runbook/runbook"
    shown = BeautifulSoup(built_site.html("index.html"), "html.parser").select_one("a.md-source")["href"]
    assert shown.rstrip("/") == url.rstrip("/")
    assert (placeholder_notice(url) in built_site.stderr) is placeholder_repo(url)


@pytest.mark.parametrize("url, placeholder", [
    ("https://git.example.org/runbook/runbook", True),
    ("https://example.com/runbook", True),
    ("https://git.lab.invalid/runbook", True),
    ("", True),
    (None, True),
    ("https://github.com/someone/runbook", False),
    ("https://git.empresa.es/infra/runbook", False),
    ("https://notexample.org/runbook", False),
])
def test_placeholder_repository_links(url, placeholder):
    from runbook.site.plugin import placeholder_repo

    assert placeholder_repo(url) is placeholder


def test_managed_files_do_not_forbid_what_the_steps_do(built_site):
    # A by-hand step edits haproxy.cfg with nano: its header must not say "do not edit".
    text = _all_text(built_site, "instalacion.html")
    assert "nano /etc/haproxy/haproxy.cfg" in text
    assert "editar a mano" not in text.lower() and "no se edite" not in text.lower()


def test_adding_a_service_by_hand_writes_what_deploy_writes(built_site, tmp_path):
    """The `listen` block a reader adds by hand is the one deploy writes for the YAML beside it."""
    import shutil

    import yaml

    from runbook.data.load import PUBLISHED_SITE, data_dir, load_procedure, load_site
    from runbook.plan.build import build_plan

    soup = BeautifulSoup(built_site.html("servicios.html"), "html.parser")
    section = soup.find(id="anadir-servicio")
    blocks = []
    for el in section.find_all_next(["h2", "pre"]):
        if el.name == "h2":
            break
        blocks.append(el.get_text())
    by_hand = next(b for b in blocks if "\nlisten " in b)
    entry = yaml.safe_load(next(b for b in blocks if b.startswith("services:")))["services"]
    for f in data_dir().glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    site_file = tmp_path / f"{PUBLISHED_SITE}.yaml"
    data = yaml.safe_load(site_file.read_text())
    data["services"] += entry
    site_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    plan = build_plan(load_site(PUBLISHED_SITE, tmp_path), load_procedure(tmp_path))
    for node in plan.node_names:
        cfg = next(a.content for a in plan.actions()
                   if a.node == node and getattr(a, "path", None) == "/etc/haproxy/haproxy.cfg")
        assert by_hand.rstrip("\n") + "\n" in cfg, node


@pytest.mark.parametrize("text, usted", [
    ("Si cada segundo cuenta, use VRRPv3.", True),
    ("Compruebe la salida.", True),
    ("Asegúrese de que responde.", True),
    ("la carga sale de donde lo ejecuta (póngala en la LAN)", True),
    ("Si quieres que el nodo use 8.8.8.8, instala resolvconf.", False),
    ("esperan a que un servidor DHCP configure la red", False),
    ("ponlo en su sitio", False),
])
def test_the_voice_scan(text, usted):
    assert bool(USTED.search(text)) is usted


def test_the_way_back_covers_every_file_deploy_writes(built_site):
    from runbook.data.load import PUBLISHED_SITE
    from runbook.plan.build import load_plan
    from runbook.plan.copies import backup_path
    from runbook.plan.steps import FileAction

    plan = load_plan(PUBLISHED_SITE)
    article = BeautifulSoup(built_site.html("problemas.html"), "html.parser").select_one("article")
    back = article.find(id="deshacer").find_next("ul").get_text()
    uninstall = article.find(id="desinstalar").find_next("pre").get_text()
    files = [a.path for a in plan.actions(plan.node_names[0]) if isinstance(a, FileAction)]
    assert files
    for path in files:
        assert backup_path(path) in back, path
        # Removed by hand, or with its package's configuration by `apt-get purge`.
        packaged = path.startswith(("/etc/haproxy/", "/etc/keepalived/"))
        assert (path in uninstall) != packaged, path
    assert "apt-get purge -y haproxy keepalived" in uninstall
    assert "systemctl disable --now keepalived haproxy" in uninstall
