"""The built site in headless Chromium, served on loopback only.

Every page must load without a console error and without a single request
leaving 127.0.0.1 (all requests are routed through a guard that aborts and
records anything else). Then what a reader does: search in Spanish, switch
node tabs, see the topology diagram drawn.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = "127.0.0.1"
# Material draws Mermaid into a *closed* shadow root; opening it lets the
# test see the <svg> (it changes nothing else on the page).
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) { return attach.call(this, {...init, mode: "open"}); };
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(built_site):
    handler = functools.partial(_QuietHandler, directory=str(built_site.root))
    httpd = ThreadingHTTPServer((LOOPBACK, 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Visit:
    """One page in a fresh context, with every request and console error recorded."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context()
        self.context.add_init_script(OPEN_SHADOW_ROOTS)
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url, wait_until="load")
        self.origin = url.rsplit("/", 1)[0]

    def _guard(self, route):
        host = urlsplit(route.request.url).hostname
        if host == LOOPBACK:
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, server):
    opened: list[Visit] = []

    def open_page(page: str) -> Visit:
        v = Visit(browser, f"{server}/{page}")
        opened.append(v)
        return v

    yield open_page
    for v in opened:
        v.close()


def test_every_page_loads_clean_and_stays_on_this_machine(built_site, visit):
    v = visit(built_site.pages[0])
    for name in built_site.pages:
        v.page.goto(f"{v.origin}/{name}", wait_until="networkidle")
        assert v.page.locator("h1").first.is_visible(), name
        assert v.outside == [], f"{name} pidió recursos fuera de la máquina: {v.outside}"
        assert v.errors == [], f"{name}: errores en la consola: {v.errors}"


def test_spanish_search_finds_conmutacion(visit):
    v = visit("index.html")
    page = v.page
    box = page.locator("input.md-search__input")
    box.click()
    meta = page.locator(".md-search-result__meta")
    # The worker builds the index after page load; until then Material says
    # "Inicializando búsqueda" (forever, if one of its scripts failed).
    page.wait_for_function(
        "el => !el.textContent.includes('Inicializando')", arg=meta.element_handle(), timeout=15000
    )
    results = page.locator(".md-search-result__item")
    box.press_sequentially("conmutación", delay=10)
    results.first.wait_for(state="visible", timeout=10000)
    assert results.count() > 0, "la búsqueda no encontró «conmutación»"
    assert "conmutaci" in results.first.inner_text().lower()
    assert "Conmutación por error" in page.locator(".md-search-result").inner_text()
    assert v.outside == [] and v.errors == []


def test_node_tabs_switch_together(visit):
    page = visit("instalacion.html").page
    hera = page.locator('div.rb-action[data-step="interfaz-lan"][data-nodes="hera"]').first
    afrodita = page.locator('div.rb-action[data-step="interfaz-lan"][data-nodes="afrodita"]').first
    assert hera.is_visible() and not afrodita.is_visible()
    page.locator(".tabbed-labels label", has_text="Afrodita").first.click()
    afrodita.wait_for(state="visible", timeout=5000)
    assert not hera.is_visible()
    assert "192.168.1.111" in afrodita.inner_text()
    # Linked tabs: the checks further down switched to Afrodita too.
    check = page.locator('div.rb-check[data-step="interfaz-lan"][data-nodes="afrodita"]')
    assert check.is_visible()


def test_topology_diagram_is_drawn(visit):
    v = visit("index.html")
    svg = v.page.locator("div.mermaid svg").first
    svg.wait_for(state="visible", timeout=15000)
    text = svg.text_content()
    assert "192.168.1.150" in text and "Hera" in text and "Afrodita" in text
    assert v.page.locator("pre.mermaid").count() == 0, "queda un diagrama sin dibujar"
    assert v.outside == [] and v.errors == []


def test_code_blocks_have_copy_buttons(visit):
    page = visit("instalacion.html").page
    block = page.locator('div.rb-action[data-step="paquetes"] pre').first
    # Material adds the button in the reader's language.
    assert block.locator('button[title="Copiar al portapapeles"]').count() == 1
