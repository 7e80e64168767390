"""The site is right for any number of balancers, not only for two.

The published site has two nodes, but nothing in the pages may assume it: a
copy of the data with a third balancer (priority below the others) is built
with the real `mkdocs build --strict`, and every place that names the
balancers names all three, the words follow the count, and the third node
gets its own tab with its own keepalived.conf (BACKUP, its priority).
"""

from __future__ import annotations

import pytest
import yaml
from bs4 import BeautifulSoup
from support.site_fixtures import mkdocs_build

from runbook.data.load import REPO_ROOT

THIRD = {"name": "atenea", "lan_address": "192.168.1.112", "management_address": "192.168.100.14",
         "priority": 90}


@pytest.fixture(scope="module")
def three_node_site(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    for f in (REPO_ROOT / "site_data").glob("*.yaml"):
        (data / f.name).write_text(f.read_text())
    olimpo = yaml.safe_load((data / "olimpo.yaml").read_text())
    olimpo["nodes"].append(THIRD)
    (data / "olimpo.yaml").write_text(yaml.safe_dump(olimpo, sort_keys=False, allow_unicode=True))
    out = tmp_path_factory.mktemp("site")
    result = mkdocs_build(REPO_ROOT / "mkdocs.yml", out, {"RUNBOOK_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr

    def text(page: str) -> str:
        soup = BeautifulSoup((out / page).read_text(encoding="utf-8"), "html.parser")
        return " ".join(soup.select_one("article").get_text(" ").split())

    return out, text


def test_pages_name_every_balancer_and_count_them(three_node_site):
    _out, text = three_node_site
    index, install, failover = text("index.html"), text("instalacion.html"), text("conmutacion.html")
    assert "tres balanceadores, Hera , Afrodita y Atenea" in index
    assert "exactamente uno de los tres nodos" in index
    assert "Los tres servidores de proxy son Hera , Afrodita y Atenea" in install
    assert "en los tres nodos" in install
    assert "Hera tiene prioridad 110, Afrodita 100 y Atenea 90" in install
    assert "y Afrodita y Atenea esperan" in install
    assert "Los tres nodos ejecutan la misma instancia VRRP" in failover
    assert "Los demás, en BACKUP , escuchan esos anuncios" in failover
    for phrase in ("dos balanceadores", "dos servidores", "los dos nodos", "Los dos nodos", "El otro, el BACKUP",
                   "al otro nodo", "el otro espera"):
        for page, body in (("index", index), ("instalacion", install), ("conmutacion", failover)):
            # The 2014 original did have two nodes: the page may still say so.
            body = body.replace("En el original los dos nodos", "En el original")
            assert phrase not in body, (page, phrase)


def test_third_node_has_its_own_tab_table_row_and_diagram_box(three_node_site):
    out, text = three_node_site
    soup = BeautifulSoup((out / "instalacion.html").read_text(encoding="utf-8"), "html.parser")
    tabs = [label.get_text(strip=True) for label in soup.select("#keepalived ~ div.tabbed-set label")][:3]
    assert tabs == ["Hera", "Afrodita", "Atenea"], tabs
    # Atenea's by-hand keepalived.conf (the here-document a reader types on it)
    written = [c.get_text() for c in soup.select('div.rb-manual[data-step="keepalived"] code[data-field="write"]')
               if "router_id atenea" in c.get_text()]
    assert len(written) == 1
    assert "state BACKUP" in written[0] and "priority 90" in written[0]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "n_atenea" in index and "Atenea" in text("index.html")  # topology box and node table row
    assert "| Atenea | 90 | BACKUP |" not in text("conmutacion.html")  # rendered as a table, not as text
    rows = BeautifulSoup((out / "conmutacion.html").read_text(encoding="utf-8"), "html.parser").select("table tr")
    assert ["Atenea", "90", "BACKUP"] in [[td.get_text(strip=True) for td in r.select("td")] for r in rows]
