"""The built site: Spanish, complete (everything in the seed), self-contained.

These tests read the HTML a reader gets from `mkdocs build --strict`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from runbook.data.load import PUBLISHED_SITE
from runbook.plan.build import load_plan

LAB_SECRET = Path("/var/lib/runbook/lab/secrets/stats_password")


def _text(site, page: str) -> str:
    soup = BeautifulSoup(site.html(page), "html.parser")
    return " ".join(soup.select_one("article").get_text(" ").split())


@pytest.fixture(scope="module")
def plan():
    return load_plan(PUBLISHED_SITE)


def test_every_page_is_spanish_and_built(built_site):
    assert len(built_site.pages) >= 8
    for page in built_site.pages:
        soup = BeautifulSoup(built_site.html(page), "html.parser")
        assert soup.html["lang"] == "es", page
        assert soup.select_one("input.md-search__input")["placeholder"] == "Búsqueda"


def test_search_index_is_spanish(built_site):
    index = json.loads((built_site.root / "search" / "search_index.json").read_text())
    assert index["config"]["lang"] == ["es"]
    assert any("conmutación" in doc["text"].lower() for doc in index["docs"])


def test_nothing_is_loaded_from_another_host(built_site):
    # Links to other sites are fine (a reader chooses to follow them); anything
    # the browser would fetch by itself (scripts, styles, images, fonts) is not.
    for page in built_site.pages:
        soup = BeautifulSoup(built_site.html(page), "html.parser")
        for tag in soup.find_all(["script", "img", "iframe", "source", "link"]):
            url = tag.get("src") or (tag.get("href") if tag.name == "link" else None) or ""
            assert not re.match(r"^(https?:)?//", url), f"{page}: {tag}"
        assert "fonts.googleapis" not in built_site.html(page)
    # Mermaid is served by the site itself (Material would otherwise use a CDN).
    assert (built_site.root / "assets" / "vendor" / "mermaid.min.js").stat().st_size > 100_000
    scripts = [s.get("src", "") for s in BeautifulSoup(built_site.html("index.html"), "html.parser").find_all("script")]
    assert "assets/vendor/mermaid.min.js" in scripts


def test_every_step_appears_once_with_its_title(built_site, plan):
    for step in plan.steps:
        found = [
            (page, h)
            for page in built_site.pages
            for h in BeautifulSoup(built_site.html(page), "html.parser").find_all(id=step.id)
        ]
        assert len(found) == 1, step.id
        page, heading = found[0]
        assert heading.name == "h2" and heading.get_text().rstrip("¶") == step.title


def test_tabs_only_where_nodes_differ(built_site, plan):
    soup = BeautifulSoup(built_site.html("instalacion.html"), "html.parser")
    tabbed_steps = set()
    for step in plan.steps:
        blocks = soup.select(f'div.rb-action[data-step="{step.id}"]')
        if not blocks:
            continue
        in_tabs = [b.find_parent("div", class_="tabbed-set") is not None for b in blocks]
        if step.actions_identical():
            assert not any(in_tabs), step.id
            assert all(b["data-nodes"] == "hera afrodita" for b in blocks)
        else:
            # The tool's box shows no file content: one box when it says the same for every node.
            assert all(tabbed == (b["data-nodes"] != "hera afrodita") for b, tabbed in zip(blocks, in_tabs, strict=True))
            if any(in_tabs):
                tabbed_steps.add(step.id)
                labels = blocks[0].find_parent("div", class_="tabbed-set").select(".tabbed-labels label")
                assert [lb.get_text() for lb in labels] == ["Hera", "Afrodita"]
    # The LAN step checks each node's own address: its box differs per node.
    assert "interfaz-lan" in tabbed_steps


def test_seed_error_and_solution_are_admonitions(built_site):
    soup = BeautifulSoup(built_site.html("instalacion.html"), "html.parser")
    titles = {a.select_one(".admonition-title").get_text(): a for a in soup.select("div.admonition")}
    assert "failure" in titles["ERROR"]["class"] and "DHCP" in titles["ERROR"].get_text()
    assert "success" in titles["SOLUCIÓN"]["class"]
    assert "/etc/init/failsafe.conf" in titles["SOLUCIÓN"].get_text()


def test_node_table_and_topology_come_from_the_data(built_site, plan):
    soup = BeautifulSoup(built_site.html("index.html"), "html.parser")
    table = soup.find(id="tabla-nodos").find_next("table").get_text(" ")
    for node in plan.site.nodes:
        assert node.name.capitalize() in table and str(node.lan_address) in table
        assert str(node.priority) in table
    for srv in plan.site.servers:
        assert str(srv.lan_address) in table
    diagram = soup.select_one("pre.mermaid").get_text()
    assert diagram.lstrip().startswith("flowchart")
    assert str(plan.site.vip) in diagram and "Hera" in diagram and "Zeus" in diagram


# What the 2014 seed says, and where a reader finds it on our site (our words).
SEED_FACTS = {
    "index.html": ["192.168.1.150", "Horizon", "IP virtual", "HAProxy", "Keepalived"],
    "haproxy-keepalived.html": [
        "TCP", "HTTP", "alta disponibilidad", "distribuciones de Linux", "nube",
        "escrito en C", "VRRP", "conmutación por error", "salud",
        "Licencia Pública General", "versión 2", "cualquier versión posterior",
    ],
    "instalacion.html": [
        "Hera", "Afrodita", "ver tabla", "modo puente", "virt-manager", "en los dos nodos",
        "auto eth1", "iface eth1 inet static", "address 192.168.1.110/24", "gateway 192.168.1.1",
        "8.8.8.8", "255.255.255.0", "ifup eth1", "ERROR", "DHCP", "SOLUCIÓN",
        "linuxquestions.org", "/etc/init/failsafe.conf", "sleep 40", "sleep 59", "PLYMOUTH",
    ],
    "servicios.html": ["http://192.168.1.150/horizon", "192.168.1.150:11211", "memcached", "listen",
                       "2xx o 3xx", "redirección", "maxconn 4000"],
    "conmutacion.html": ["conmutación", "systemctl stop keepalived", "3,61 s", "MASTER", "BACKUP",
                         "ip neigh show", "arping", "preemption", "nopreempt", "2,61 s",
                         "ifdown eth1", "Entering MASTER STATE"],
    "verificacion.html": ["ip -4 addr show dev eth1", "show stat", "perl", "socat", "Entering",
                          "grep -r ip_nonlocal_bind", "401", "./rb verify"],
    "problemas.html": ["224.0.0.18", "protocolo IP 112", "unicast_peer", "cannot bind socket",
                       "ip_nonlocal_bind", "Entering FAULT STATE", "is DOWN", "virtual_router_id",
                       "not present in MASTER advert", "tcpdump"],
    "cambios.html": [
        "contimeout", "clitimeout", "srvtimeout", "timeout connect", "bind", "rspidel",
        "psmisc", "killall", "enable_script_security", "pidof", "killall5", "misma prioridad",
        "/etc/sysctl.d/", "systemctl enable --now", "/etc/default/haproxy", "stats auth",
        "option httpclose", "/dev/log", "fall 5", "fall 3", "interval 2", "interval 1", "resolvconf",
        "192.168.1.111", "suposición", "sockets distintos",
    ],
    "laboratorio.html": ["./rb demo", "./rb plan", "./rb deploy --check", "./rb verify", "RFC 5737",
                         "./rb rehearse SITIO", "balanceadores 198.51.100.101-116",
                         "/var/lib/runbook/rh-SITIO/SITIO.yaml", "./rb lab.down --site SITIO"],
}


@pytest.mark.parametrize("page", sorted(SEED_FACTS))
def test_seed_content_is_on_the_site(built_site, page):
    text = _text(built_site, page)
    missing = [fact for fact in SEED_FACTS[page] if fact not in text]
    assert not missing, f"{page} no menciona: {missing}"


def test_no_secret_value_in_the_site(built_site):
    html = "".join(built_site.html(p) for p in built_site.pages)
    assert "@@SECRETO_stats_password@@" in html  # the marker is shown, the value is not
    if LAB_SECRET.is_file():
        secret = LAB_SECRET.read_text().strip()
        assert secret and secret not in html
        assert secret not in (built_site.root / "search" / "search_index.json").read_text()


def _article(site, page: str) -> BeautifulSoup:
    return BeautifulSoup(site.html(page), "html.parser").select_one("article")


def test_nav_titles_are_the_page_titles(built_site):
    soup = BeautifulSoup(built_site.html("index.html"), "html.parser")
    nav = {
        a["href"]: " ".join(a.get_text().split())
        for a in soup.select("nav.md-nav--primary a.md-nav__link[href$='.html']")
    }
    for page in built_site.pages:
        h1 = _article(built_site, page).find("h1").get_text().rstrip("¶").strip()
        assert nav.get(page) == h1, page


def test_the_404_page_is_spanish(built_site):
    soup = BeautifulSoup(built_site.html("404.html"), "html.parser")
    assert soup.html["lang"] == "es"
    assert soup.find("h1").get_text() == "Página no encontrada"
    assert soup.title.get_text().startswith("Página no encontrada")
    assert "Not found" not in soup.get_text() and "Made with" not in soup.get_text()


def test_a_step_starts_with_what_a_person_types(built_site, plan):
    soup = BeautifulSoup(built_site.html("instalacion.html"), "html.parser")
    for step in plan.steps:
        heading = soup.find(id=step.id)
        first = heading.find_next(lambda t: t.name == "div" and any(
            c in (t.get("class") or []) for c in ("rb-manual", "rb-action", "rb-check")))
        if any(step.actions.values()):
            assert "rb-manual" in first["class"], step.id
    # The tool's details live in closed boxes: never open, never in the reader's way.
    for block in soup.select("div.rb-action, div.rb-check-criteria"):
        box = block.find_parent("details")
        assert box is not None and not box.has_attr("open"), block.get("data-step")


def test_expected_results_are_examples_not_regular_expressions(built_site, plan):
    soup = BeautifulSoup(built_site.html("instalacion.html"), "html.parser")
    by_hand = " ".join(b.get_text() for b in soup.select("div.rb-check, div.rb-manual"))
    for check in plan.checks("hera"):
        assert check.output is not None, f"{check.id}: sin salida esperada"
        if check.stdout_regex:
            assert check.stdout_regex not in by_hand, check.id
