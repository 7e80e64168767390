"""The site on Debian releases and on unicast VRRP, as a reader sees it in the built HTML.

The published site is a multicast site on Debian 12: its pages say when to
switch to unicast (with the by-hand lines for each of its nodes), what to do
when both nodes are MASTER, and which Debian releases were proven.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from runbook.data.load import PUBLISHED_SITE, load_site


@pytest.fixture(scope="module")
def site():
    return load_site(PUBLISHED_SITE)


def _section(built_site, page: str, anchor: str) -> str:
    """The text of a page from the heading `anchor` to the next heading of the same level."""
    soup = BeautifulSoup(built_site.html(page), "html.parser")
    heading = soup.find(id=anchor)
    assert heading is not None, f"{page} no tiene #{anchor}"
    parts = []
    for element in heading.find_next_siblings():
        if element.name in ("h1", "h2") or (element.name == heading.name):
            break
        parts.append(element.get_text(" "))
    return " ".join(" ".join(parts).split())


def test_unicast_section_gives_each_node_its_own_lines(built_site, site):
    assert not site.vrrp.unicast and site.os == "debian12"
    text = _section(built_site, "haproxy-keepalived.html", "unicast")
    assert "y este sitio lo usa" in text  # multicast, said as such
    for word in ("nube", "IGMP snooping", "varios clústeres", "unicast: true", "sigue en multicast"):
        assert word in text, word
    for node in site.nodes:
        others = " ".join(str(n.lan_address) for n in site.nodes if n.name != node.name)
        assert f"unicast_src_ip {node.lan_address} unicast_peer {{ {others} }}" in text, node.name
    assert "kill -USR1" in text and "/tmp/keepalived.data" in text and "Using unicast" in text


def test_both_nodes_master_points_to_unicast(built_site):
    text = _section(built_site, "problemas.html", "dos-master")
    assert "pon unicast: true en el bloque vrrp" in text
    soup = BeautifulSoup(built_site.html("problemas.html"), "html.parser")
    assert soup.find("a", href="haproxy-keepalived.html#unicast") is not None


def test_what_changed_says_which_release_the_tutorial_uses_and_which_were_proven(built_site):
    text = _section(built_site, "cambios.html", "versiones")
    assert "Este tutorial sigue en Debian 12" in text
    assert "nodos Debian 12 y en nodos Debian 13 reales" in text
    assert "Configuration file is valid" in text and "proto keepalived" in text
    assert "HAProxy 3.0, Keepalived 2.3" in text
