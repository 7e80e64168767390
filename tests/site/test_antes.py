"""«Antes de empezar»: what a reader needs, and the tutorial's values they replace by theirs.

The table of values comes from the site's data, and every value that a step uses first
sends the reader there from that step. What `keepalived -t` says when the interface is
someone else's is the real binary's answer, on the rendered file.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from bs4 import BeautifulSoup

from runbook.data.load import PUBLISHED_SITE
from runbook.plan.build import load_plan
from runbook.plan.steps import FileAction
from runbook.site.values import first_steps, tutorial_values


@pytest.fixture(scope="module")
def plan():
    return load_plan(PUBLISHED_SITE)


def _soup(site, page):
    return BeautifulSoup(site.html(page), "html.parser").select_one("article")


def test_the_page_comes_right_after_the_introduction(built_site):
    assert built_site.pages[:2] == ["index.html", "antes.html"]


def test_it_lists_what_a_reader_needs(built_site):
    items = _soup(built_site, "antes.html").find(id="requisitos").find_next("ul").find_all("li", recursive=False)
    # One item per need (a nested code block once merged the last three into one paragraph).
    starts = [" ".join(li.get_text(" ").split())[:12] for li in items]
    assert len(items) == 8 and starts[-1].startswith("Tiempo"), starts
    requisitos = " ".join(li.get_text(" ") for li in items)
    text = " ".join(requisitos.split())
    for need in ["Debian 12 (bookworm)", "puente del anfitrión", "IP virtual", "identificador de router virtual",
                 "224.0.0.18", "protocolo IP 112", "ifupdown", "systemctl is-enabled networking",
                 "127.0.0.1", "ALLOWED_HOSTS", "Tiempo"]:
        assert need in text, need


def test_the_values_table_is_the_sites_data(built_site, plan):
    table = _soup(built_site, "antes.html").find(id="tus-valores").find_next("table")
    rows = [[c.get_text() for c in tr.select("td")] for tr in table.select("tbody tr")]
    values = tutorial_values(plan.site)
    assert [(r[0], r[1]) for r in rows] == [(v.what, v.value) for v in values]
    first = first_steps(plan)
    links = [tr.select("td")[2].select_one("a") for tr in table.select("tbody tr")]
    for v, link in zip(values, links, strict=True):
        if v.what in first:
            assert link is not None and link["href"].endswith(f"#{first[v.what]}"), v.what
        else:
            assert link is None, v.what
    # The key values are there, with the published site's own values.
    assert ("IP virtual (libre en tu LAN: nadie debe usarla)", str(plan.site.vip)) in [(r[0], r[1]) for r in rows]
    assert any(r[1] == plan.site.network.lan.interface for r in rows)
    assert any(r[1] == str(plan.site.vrrp.router_id) for r in rows)


def test_each_value_is_announced_where_it_first_appears(built_site, plan):
    soup = _soup(built_site, "instalacion.html")
    first = first_steps(plan)
    for v in tutorial_values(plan.site):
        if v.what not in first:
            continue
        heading = soup.find(id=first[v.what])
        note = heading.find_next("div", class_="admonition")
        assert note.select_one(".admonition-title").get_text().strip() == "Tus valores", v.what
        assert f"`{v.value}`" not in note.get_text() and v.value in note.get_text(), v.what
        assert note.select_one('a[href="antes.html#tus-valores"]'), v.what
        # ...and before that step, no step's commands or files use it.
        step_ids = [s.id for s in plan.steps]
        for earlier in step_ids[: step_ids.index(first[v.what])]:
            for action in plan.step(earlier).actions[plan.node_names[0]]:
                text = action.content if isinstance(action, FileAction) else action.command
                assert not re.search(v.pattern, text), (v.what, earlier)


def test_every_step_that_uses_the_lan_interface_first_says_so(plan):
    first = first_steps(plan)
    iface = next(v for v in tutorial_values(plan.site) if v.value == plan.site.network.lan.interface)
    assert first[iface.what] == "interfaz-lan"


def test_security_notes(built_site):
    items = _soup(built_site, "antes.html").find(id="seguridad").find_next("ul").find_all("li", recursive=False)
    text = [" ".join(li.get_text(" ").split()) for li in items]
    assert len(text) == 3, text
    assert "memcached no tiene autenticación" in text[0] and "HTTP sin cifrar" in text[1]
    assert "protocolo IP 112" in text[2]


def test_interface_advice(built_site):
    text = " ".join(_soup(built_site, "antes.html").find(id="interfaz").find_parent().get_text(" ").split())
    for word in ["enp1s0", "ens3", "ip -br link", "Non-existent interface specified in configuration",
                 "keepalived.conf.nuevo", "Cannot find device"]:
        assert word in text, word


@pytest.mark.validators("keepalived", reason="keepalived no instalado")
def test_keepalived_says_what_the_page_quotes_when_the_interface_is_not_there(built_site, plan, tmp_path):
    """The page's quote of `keepalived -t` is the real binary's answer (another missing name in place)."""
    iface = plan.site.network.lan.interface
    missing = "rbnoexiste0"
    soup = _soup(built_site, "antes.html")
    quote = next(pre.get_text() for pre in soup.select("pre") if "Non-existent interface" in pre.get_text())
    cfg = next(a.content for a in plan.actions(plan.node_names[0])
               if isinstance(a, FileAction) and a.path == "/etc/keepalived/keepalived.conf")
    path = tmp_path / "keepalived.conf.nuevo"
    path.write_text(re.sub(rf"\b{re.escape(iface)}\b", missing, cfg))
    proc = subprocess.run(["keepalived", "-t", "-f", str(path)], capture_output=True, text=True)
    assert proc.returncode == 5
    said = (proc.stdout + proc.stderr).replace(str(path), "/etc/keepalived/keepalived.conf.nuevo")
    expected = re.sub(rf"\b{re.escape(iface)}\b", missing, quote)
    assert [line for line in expected.strip().splitlines()] == [
        line for line in said.strip().splitlines() if line.strip()
    ][-len(expected.strip().splitlines()):]


def test_the_keepalived_step_sends_an_unknown_interface_to_its_advice(built_site):
    # `keepalived -t` on a machine whose NIC is not the tutorial's says «Non-existent interface»:
    # the step where the reader runs it says what that means and links to what to change.
    soup = BeautifulSoup(built_site.html("instalacion.html"), "html.parser")
    heading = soup.find(id="keepalived")
    paragraph = next(p for p in heading.find_all_next("p") if "Non-existent interface" in p.get_text())
    assert "antes.html#interfaz" in [a["href"] for a in paragraph.select("a")]
    assert heading.find_next(["h2"]) is None or heading.find_next("h2").sourceline >= paragraph.sourceline
    assert "Non-existent interface specified in configuration" in built_site.html("antes.html")
