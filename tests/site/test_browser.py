"""The built site in headless Chromium, served on loopback only (and opened from files).

Every page, at a desktop (1280 px) and a phone (390 px) width, must load
without a console error, without a single request leaving this machine, and
without horizontal overflow (tables included, at 1280); a screenshot of each
is kept in test-artifacts/screenshots/ for a person to look at. Then what a
reader does: search in Spanish with and without accents, over http and from
file://, switch node tabs, open a step's tool box, land on the Spanish 404.
"""

from __future__ import annotations

import functools
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from runbook.data.load import REPO_ROOT

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
WIDTHS = (1280, 390)
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
# Material draws Mermaid into a *closed* shadow root; opening it lets the
# test see the <svg> (it changes nothing else on the page).
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) { return attach.call(this, {...init, mode: "open"}); };
"""
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


class _SiteHandler(SimpleHTTPRequestHandler):
    """A static server that answers a missing page with the site's 404.html, as web servers do."""

    def log_message(self, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / "404.html"
        if code != HTTPStatus.NOT_FOUND or not page.is_file():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server(built_site):
    handler = functools.partial(_SiteHandler, directory=str(built_site.root))
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
    """Pages in a fresh context, with every request and console error recorded.

    Over http, every request is routed through a guard that aborts and records
    anything not on loopback; from file://, requests are recorded and any that
    is not local is an error.
    """

    def __init__(self, browser, base: str, width: int = 1280):
        self.base = base
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.context.add_init_script(OPEN_SHADOW_ROOTS)
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", self._record)

    def _guard(self, route):
        url = route.request.url
        if url.startswith(LOCAL_SCHEMES) or urlsplit(url).hostname == LOOPBACK:
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def _record(self, request):
        url = request.url
        if not url.startswith(LOCAL_SCHEMES) and urlsplit(url).hostname != LOOPBACK:
            self.outside.append(url)

    def open(self, name: str, wait_until: str = "networkidle"):
        return self.page.goto(f"{self.base}/{name}", wait_until=wait_until)

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, server, built_site):
    opened: list[Visit] = []

    def open_site(scheme: str = "http", width: int = 1280) -> Visit:
        base = server if scheme == "http" else built_site.root.resolve().as_uri()
        v = Visit(browser, base, width)
        opened.append(v)
        return v

    yield open_site
    for v in opened:
        v.close()


def _wait_for_diagrams(page) -> None:
    for i in range(page.locator("div.mermaid").count()):
        page.locator("div.mermaid").nth(i).locator("svg").first.wait_for(state="visible", timeout=15000)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_reads_well_at_this_width(built_site, visit, width):
    v = visit("http", width)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in [*built_site.pages, "404.html"]:
        v.open(name)
        _wait_for_diagrams(v.page)
        assert v.page.locator("h1").first.is_visible(), name
        assert v.outside == [], f"{name} pidió recursos fuera de la máquina: {v.outside}"
        assert v.errors == [], f"{name}: errores en la consola: {v.errors}"
        overflow = v.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} a {width} px: la página se sale {overflow} px por la derecha"
        if width >= 1280:
            tables = v.page.evaluate(
                "[...document.querySelectorAll('.md-typeset__scrollwrap')]"
                ".map(w => w.scrollWidth - w.clientWidth)"
            )
            assert all(extra <= 1 for extra in tables), f"{name}: tabla con barra de desplazamiento {tables}"
        v.page.screenshot(path=str(SCREENSHOTS / f"{name.removesuffix('.html')}-{width}.png"), full_page=True)


def test_tables_keep_their_key_column_on_a_phone(built_site, visit):
    """At 390 px a wide table scrolls; its first column stays in view, scrolled to either end."""
    v = visit("http", 390)
    wide = 0
    for name in built_site.pages:
        v.open(name)
        for i in range(v.page.locator(".md-typeset__scrollwrap").count()):
            wrap = v.page.locator(".md-typeset__scrollwrap").nth(i)
            if wrap.evaluate("w => w.scrollWidth - w.clientWidth") <= 1:
                continue
            wide += 1
            wrap.evaluate("w => { w.scrollLeft = w.scrollWidth; }")
            gap = wrap.evaluate(
                "w => [...w.querySelectorAll('tr > :first-child')]"
                ".map(c => c.getBoundingClientRect().left - w.getBoundingClientRect().left)"
            )
            assert all(abs(g) <= 1 for g in gap), f"{name}: tabla {i}, la primera columna se va ({gap})"
    assert wide, "ninguna tabla necesita desplazarse a 390 px: la prueba no prueba nada"


def test_diagrams_stay_readable_on_a_phone(built_site, visit):
    v = visit("http", 390)
    for name in built_site.pages:
        v.open(name)
        _wait_for_diagrams(v.page)
        for i in range(v.page.locator("div.mermaid svg").count()):
            svg = v.page.locator("div.mermaid svg").nth(i)
            # The text size a reader gets: Mermaid's font size times the scale the page applies.
            font = svg.evaluate(
                "s => parseFloat(getComputedStyle(s.querySelector('.nodeLabel')).fontSize)"
                " * s.getBoundingClientRect().width / s.viewBox.baseVal.width"
            )
            assert font >= 9, f"{name}: el diagrama {i} se lee a {font:.1f} px en un móvil"


@pytest.mark.parametrize("width", WIDTHS)
def test_result_plots_read_well_on_a_phone_and_a_screen(built_site, visit, width):
    if "resultados.html" not in built_site.pages:
        pytest.skip("este sitio no publica los resultados medidos")
    v = visit("http", width)
    v.open("resultados.html")
    plots = v.page.locator("figure.rb-plot svg")
    assert plots.count() > 0
    for i in range(plots.count()):
        svg = plots.nth(i)
        # The size a reader gets: the tick labels' font size times the scale the page applies.
        font, shown = svg.evaluate(
            "s => [parseFloat(s.querySelector('text').getAttribute('font-size'))"
            " * s.getBoundingClientRect().width / s.viewBox.baseVal.width, s.getBoundingClientRect().width]"
        )
        assert 9 <= font <= 22, f"la gráfica {i} se lee a {font:.1f} px a {width} px de ancho"
        assert shown <= 720, f"la gráfica {i} ocupa {shown:.0f} px"


def _search(page, query: str):
    box = page.locator("input.md-search__input")
    box.click()
    meta = page.locator(".md-search-result__meta")
    # The worker builds the index after page load; until then Material says
    # "Inicializando búsqueda" (forever, if one of its scripts failed).
    page.wait_for_function(
        "el => !el.textContent.includes('Inicializando')", arg=meta.element_handle(), timeout=15000
    )
    box.press_sequentially(query, delay=10)
    results = page.locator(".md-search-result__item")
    results.first.wait_for(state="visible", timeout=10000)
    return results


@pytest.mark.parametrize("scheme", ["http", "file"])
@pytest.mark.parametrize("query", ["conmutación", "conmutacion", "CONMUTACION"])
def test_search_finds_the_failover_page(visit, scheme, query):
    v = visit(scheme)
    v.open("index.html", wait_until="load")
    results = _search(v.page, query)
    assert results.count() > 0, f"la búsqueda no encontró «{query}»"
    assert "Conmutación por error" in v.page.locator(".md-search-result").inner_text()
    assert v.outside == [] and v.errors == []


def test_search_without_accents_finds_words_in_the_text(visit):
    v = visit("file")
    v.open("index.html", wait_until="load")
    results = _search(v.page, "contrasena")
    assert "contraseña" in v.page.locator(".md-search-result").inner_text().lower()
    assert results.count() > 0 and v.outside == [] and v.errors == []


def test_a_missing_page_gets_the_spanish_404(visit):
    v = visit("http")
    response = v.open("no-existe.html")
    assert response.status == 404
    assert v.page.locator("html").get_attribute("lang") == "es"
    assert v.page.locator("article h1").inner_text() == "Página no encontrada"
    assert v.page.title().startswith("Página no encontrada")
    # Styled like the rest of the site (its stylesheets loaded), with a way back.
    assert v.page.locator("header.md-header").is_visible()
    assert v.page.locator("article a", has_text="introducción").get_attribute("href").endswith("index.html")
    # The only complaint is the page's own status, which is the point.
    assert v.errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]
    assert v.outside == []


def test_node_tabs_switch_together(visit):
    v = visit()
    v.open("instalacion.html")
    page = v.page
    hera = page.locator('div.rb-manual[data-step="interfaz-lan"][data-nodes="hera"]').first
    afrodita = page.locator('div.rb-manual[data-step="interfaz-lan"][data-nodes="afrodita"]').first
    assert hera.is_visible() and not afrodita.is_visible()
    page.locator(".tabbed-labels label", has_text="Afrodita").first.click()
    afrodita.wait_for(state="visible", timeout=5000)
    assert not hera.is_visible()
    assert "192.168.1.111" in afrodita.inner_text()
    # Linked tabs: the checks further down switched to Afrodita too.
    check = page.locator('div.rb-check[data-step="interfaz-lan"][data-nodes="afrodita"]')
    assert check.is_visible()


def test_the_tool_box_is_closed_until_opened(visit):
    v = visit()
    v.open("instalacion.html")
    page = v.page
    guard = page.locator('div.rb-action[data-step="paquetes"] [data-field="unless"]')
    assert not guard.is_visible()
    page.locator('details:has(div.rb-action[data-step="paquetes"]) > summary').click()
    guard.wait_for(state="visible", timeout=5000)
    assert "dpkg-query -W" in guard.inner_text()


def test_topology_diagram_is_drawn(visit):
    v = visit()
    v.open("index.html")
    svg = v.page.locator("div.mermaid svg").first
    svg.wait_for(state="visible", timeout=15000)
    text = svg.text_content()
    assert "192.168.1.150" in text and "Hera" in text and "Afrodita" in text
    assert v.page.locator("pre.mermaid").count() == 0, "queda un diagrama sin dibujar"
    assert v.outside == [] and v.errors == []


def test_code_blocks_have_copy_buttons_and_outputs_do_not(visit):
    v = visit()
    v.open("instalacion.html")
    page = v.page
    block = page.locator('div.rb-manual[data-step="paquetes"] pre').first
    # Material adds the button in the reader's language.
    assert block.locator('button[title="Copiar al portapapeles"]').count() == 1
    output = page.locator('div.rb-check[data-step="paquetes"] .rb-output pre').first
    assert not output.locator("button").first.is_visible()


# Each code block, command or expected output, visible once every box is opened: the ones
# wider or taller than their box, and the ones an ancestor clips.
_CUT_BLOCKS = """() => {
  document.querySelectorAll('article details').forEach(d => { d.open = true; });
  const out = [];
  for (const pre of document.querySelectorAll('article pre')) {
    if (pre.offsetParent === null) continue;  // in a tab not shown
    const code = pre.querySelector('code') || pre;
    const style = getComputedStyle(code);
    const scrolls = axis => ['auto', 'scroll'].includes(style['overflow' + axis]);
    let cut = 0;
    for (let el = pre.parentElement; el && el.tagName !== 'ARTICLE'; el = el.parentElement) {
      const s = getComputedStyle(el);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const [p, c] = [pre.getBoundingClientRect(), el.getBoundingClientRect()];
      cut = Math.max(p.right - c.right, p.bottom - c.bottom, 0);
      break;
    }
    if ((code.scrollWidth - code.clientWidth > 1 && !scrolls('X'))
        || (code.scrollHeight - code.clientHeight > 1 && !scrolls('Y')) || cut > 1)
      out.push(code.textContent.slice(0, 60));
  }
  return out;
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_no_command_or_output_is_cut_off(built_site, visit, width):
    """A long command or expected output scrolls inside its block; no box hides its end."""
    v = visit("http", width)
    seen = 0
    for name in built_site.pages:
        v.open(name)
        assert v.page.evaluate(_CUT_BLOCKS) == [], f"{name} a {width} px"
        seen += v.page.locator("article div.rb-output pre").count()
    assert seen, "ninguna salida esperada: la prueba no prueba nada"
