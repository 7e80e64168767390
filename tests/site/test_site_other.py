"""`./rb docs --site SITE`: another site's runbook, with its own values and nothing of the published one.

A site none of the repository's sites resembles (node names, NICs, addresses,
servers, one http service on another port with its own health check, round
robin; no gateway, the secret from a file only) is built through `./rb docs
--site` from a data folder that holds only that site and the procedure (no
lab.yaml: another site's runbook does not need the lab's data). Every page is
scanned: no name or address of the published site (olimpo) may appear, the
pages about this project's lab are left out with their links, and the site's
own values are where the reader types them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from support.hostile_cases import REPO, run_cli

from runbook.data.load import PUBLISHED_SITE, load_site

SITE = """\
name: mine
title: Mis balanceadores
network:
  lan: {interface: ens18, subnet: 10.20.0.0/24}
  management: {interface: ens19, subnet: 10.30.0.0/24}
vip: 10.20.0.100
vrrp: {router_id: 51}
secrets:
  stats_password: {file: ~/.config/runbook/mine/stats_password}
nodes:
  - {name: lb1, lan_address: 10.20.0.11, management_address: 10.30.0.11, priority: 110}
  - {name: lb2, lan_address: 10.20.0.12, management_address: 10.30.0.12, priority: 100}
servers:
  - {name: web1, lan_address: 10.20.0.21}
  - {name: web2, lan_address: 10.20.0.22}
  - {name: web3, lan_address: 10.20.0.23}
services:
  - name: web
    mode: http
    port: 80
    balance: roundrobin
    health_check: {path: /healthz, expect_status: 200}
    backends:
      - {name: web1, address: 10.20.0.21, port: 8080}
      - {name: web2, address: 10.20.0.22, port: 8080}
      - {name: web3, address: 10.20.0.23, port: 8080}
"""
PUBLISHED_ONLY = ("laboratorio.html", "resultados.html")


@pytest.fixture(scope="module")
def mine(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("data")
    (data / "procedure.yaml").write_text((REPO / "site_data" / "procedure.yaml").read_text())
    (data / "mine.yaml").write_text(SITE)
    dest = tmp_path_factory.mktemp("out") / "web"
    result = run_cli(["docs", "--site", "mine", "--dest", str(dest)], data, timeout=300)
    assert result.code == 0, result.stderr
    assert result.stdout == f"Web del sitio mine en {dest}/index.html\n"
    return dest


def published_words() -> set[str]:
    """Every name and address of the published site: its own, its nodes', its servers', its backends'."""
    site = load_site(PUBLISHED_SITE)
    words = {site.name} | {n.name for n in site.nodes} | {s.name for s in site.servers}
    words |= {b.name for s in site.services for b in s.backends}
    words |= {str(address) for _path, address in site.addresses()}
    words |= {str(site.network.lan.subnet.network_address), str(site.network.management.subnet.network_address)}
    return words


def built_texts(root: Path) -> dict[str, str]:
    files = {p.relative_to(root).as_posix(): p for p in root.rglob("*.html")}
    files["search/search_index.json"] = root / "search" / "search_index.json"
    return {name: path.read_text(encoding="utf-8") for name, path in files.items()}


def article(root: Path, page: str) -> str:
    soup = BeautifulSoup((root / page).read_text(encoding="utf-8"), "html.parser")
    return " ".join(soup.select_one("article").get_text(" ").split())


def test_no_page_names_the_published_sites_hosts_or_addresses(mine):
    words = published_words()
    assert {"olimpo", "hera", "zeus", "192.168.1.150", "192.168.100.10", "8.8.8.8"} <= words
    pattern = re.compile(r"(?<![\w.])(" + "|".join(re.escape(w) for w in sorted(words)) + r")(?![\w]|\.\d)", re.I)
    found = {(name, m.group(1)) for name, text in built_texts(mine).items() for m in pattern.finditer(text)}
    assert found == set()


def test_the_pages_about_this_projects_lab_are_left_out_with_their_links(mine):
    for page in PUBLISHED_ONLY:
        assert not (mine / page).exists()
    index = json.loads((mine / "search" / "search_index.json").read_text())
    assert not [d["location"] for d in index["docs"] if d["location"].startswith(PUBLISHED_ONLY)]
    for name, text in built_texts(mine).items():
        if name == "404.html" or not name.endswith(".html"):
            continue  # the 404 page links from the server's root, wherever it is asked for
        soup = BeautifulSoup(text, "html.parser")
        for a in soup.find_all("a", href=True):
            target = a["href"].split("#")[0]
            if not target or re.match(r"^[a-z]+:", target):
                continue
            assert (mine / name).parent.joinpath(target).exists(), (name, a["href"])
    nav = [a.get_text(strip=True) for a in BeautifulSoup((mine / "index.html").read_text(), "html.parser")
           .select("nav.md-nav--primary a.md-nav__link")]
    assert "Referencia de los datos" in nav and not any("aboratorio" in t or "Resultados" in t for t in nav)


def test_the_sites_own_values_are_in_the_commands_files_and_checks(mine):
    index, install, services = article(mine, "index.html"), article(mine, "instalacion.html"), \
        article(mine, "servicios.html")
    assert "de «Mis balanceadores»: dos balanceadores, Lb1 y Lb2" in index
    assert "Es la dirección por la que los clientes llegan a web" in index
    for server in ("Web1", "Web2", "Web3"):
        assert server in index  # the node table and the diagram
    assert "auto ens18" in install and "iface ens18 inet static" in install and "address 10.20.0.11/24" in install
    assert "gateway" not in install.split("auto ens18")[1].split("ifup")[0]  # this site has none
    assert "virtual_ipaddress" in install and "10.20.0.100" in install and "virtual_router_id 51" in install
    assert "balance roundrobin" in install
    assert "http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 10.20.0.100" in install
    assert "http-check expect status 200" in install
    for n in (1, 2, 3):
        assert f"server web{n} 10.20.0.2{n}:8080 check" in install
    assert "HAProxy reparte las conexiones por turnos ( balance roundrobin ) entre web1 , web2 y web3" in services
    assert "acepta como buena una respuesta 200" in services
    assert "la lee del fichero ~/.config/runbook/mine/stats_password" in services
    for page in ("index.html", "instalacion.html", "servicios.html", "verificacion.html", "conmutacion.html",
                 "problemas.html", "cambios.html", "haproxy-keepalived.html"):
        assert not re.search(r"\bNone\b", article(mine, page)), page  # a missing value printed as Python's


def test_the_published_site_keeps_its_lab_pages(built_site):
    for page in PUBLISHED_ONLY:
        assert (built_site.root / page).exists()
    assert "laboratorio.html" in built_site.html("index.html")


@pytest.mark.parametrize("task", ["docs", "docs.serve"])
def test_an_unknown_site_is_refused_before_mkdocs_starts(tmp_path, task):
    dest = tmp_path / "web"
    args = [task, "--site", "nope"] + (["--dest", str(dest)] if task == "docs" else ["--port", "1"])
    result = run_cli(args, REPO / "site_data")
    assert result.code == 2
    assert result.stderr.splitlines() == [
        f"error: no existe el sitio 'nope' en {REPO / 'site_data'} (sitios: lab, olimpo, trixie)"]
    assert result.stdout == "" and not dest.exists()
