"""The directive table: every `<!-- runbook:... -->` a page uses has an entry, and a wrong one fails.

The table (RunbookPlugin.DIRECTIVES) is the whole grammar: a name the table
lacks, or a wrong number of arguments, must fail `mkdocs build --strict` with
a Spanish message naming the page and the line of the comment.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mkdocs.exceptions import PluginError
from support.site_fixtures import mkdocs_build

from runbook.data.load import REPO_ROOT
from runbook.site import plugin
from runbook.site.directives import find, parse

TABLE = plugin.RunbookPlugin.DIRECTIVES
PAGES = sorted((REPO_ROOT / "docs").glob("*.md"))


def _used() -> list[tuple[str, int, str]]:
    return [(page.name, line, m.group("body")) for page in PAGES for m, line in find(page.read_text("utf-8"))]


def test_every_directive_in_the_pages_is_in_the_table():
    used = _used()
    assert used, "ninguna página usa directivas: ¿cambió su sintaxis?"
    names = set()
    for page, line, body in used:
        directive, args = parse(body, TABLE, page, line)  # raises on a name or count the table refuses
        assert len(args) == len(directive.params)
        names.add(directive.name)
    # And no handler is dead code: every entry is used by some page.
    assert names == set(TABLE)


def test_the_plugin_docstring_lists_every_directive_with_its_arguments():
    for directive in TABLE.values():
        written = " ".join(["runbook:" + directive.name, *directive.params])
        assert f"<!-- {written} -->" in plugin.__doc__, written


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("topología", "directiva desconocida <!-- runbook:topología -->"),
        ("", "directiva desconocida <!-- runbook: -->"),
        ("paso", "la directiva 'paso' espera 1 argumento (ID): <!-- runbook:paso -->"),
        ("paso haproxy keepalived",
         "la directiva 'paso' espera 1 argumento (ID): <!-- runbook:paso haproxy keepalived -->"),
        ("medida node-crash",
         "la directiva 'medida' espera 2 argumentos (ESCENARIO CLAVE): <!-- runbook:medida node-crash -->"),
        ("tabla-nodos hera", "la directiva 'tabla-nodos' no admite argumentos ('tabla-nodos hera')"),
    ],
)
def test_a_wrong_directive_is_refused_naming_page_and_line(body, message):
    with pytest.raises(PluginError) as caught:
        parse(body, TABLE, "index.md", 7)
    assert str(caught.value) == f"runbook: index.md, línea 7: {message}"


def test_a_right_directive_is_split_into_its_arguments():
    directive, args = parse("medida  node-crash vip_moved_s", TABLE, "x.md", 1)
    assert (directive.name, args) == ("medida", ["node-crash", "vip_moved_s"])


@pytest.fixture
def docs_copy(tmp_path) -> Path:
    shutil.copy(REPO_ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(REPO_ROOT / "docs", tmp_path / "docs")
    return tmp_path / "mkdocs.yml"


@pytest.mark.parametrize(
    ("page", "old", "new", "phrase"),
    [
        ("index.md", "<!-- runbook:topologia -->", "<!-- runbook:mapa -->",
         "directiva desconocida <!-- runbook:mapa -->"),
        ("instalacion.md", "<!-- runbook:paso paquetes -->", "<!-- runbook:paso paquetes haproxy -->",
         "la directiva 'paso' espera 1 argumento (ID): <!-- runbook:paso paquetes haproxy -->"),
        ("servicios.md", "<!-- runbook:servicios -->", "<!-- runbook:servicios horizon -->",
         "la directiva 'servicios' no admite argumentos ('servicios horizon')"),
    ],
)
def test_a_wrong_directive_fails_the_strict_build(tmp_path, docs_copy, page, old, new, phrase):
    path = docs_copy.parent / "docs" / page
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} ya no está en {page}: actualizar este test"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), "utf-8")
    result = mkdocs_build(docs_copy, tmp_path / "out")
    assert result.returncode != 0, "la construcción debía fallar y terminó bien"
    assert "Traceback" not in result.stderr, result.stderr
    assert f"runbook: {page}, línea {line}: {phrase}" in result.stderr, result.stderr
