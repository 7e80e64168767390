"""Search folds accents at build time: the index gets each section's accented words without accents."""

from __future__ import annotations

import json

from runbook.site.search import add_unaccented_fields, fold, folded_words


def test_fold():
    assert fold("Conmutación") == "Conmutacion"
    assert fold("contraseña pingüino") == "contrasena pinguino"
    assert fold("plain") == "plain"


def test_folded_words_come_from_the_text_not_the_markup():
    html = '<p>La <code>conmutación</code> por error &amp; la <a href="/añadir">contraseña</a>, otra conmutación.</p>'
    assert folded_words(html) == "conmutacion contrasena"


def test_index_gains_searchable_fields_and_keeps_what_readers_see():
    index = {"config": {"fields": {"title": {"boost": 1000.0}}},
             "docs": [{"location": "a.html", "title": "Conmutación", "text": "<p>Sin tildes.</p>"},
                      {"location": "b.html", "title": "Plain", "text": "<p>plain</p>"}]}
    out = add_unaccented_fields(json.loads(json.dumps(index)))
    assert out["config"]["fields"]["titulo_sin_tildes"] == {"boost": 1000.0}
    assert out["config"]["fields"]["texto_sin_tildes"] == {"boost": 1.0}
    first, second = out["docs"]
    assert first["title"] == "Conmutación" and first["titulo_sin_tildes"] == "conmutacion"
    assert "texto_sin_tildes" not in first  # "Sin tildes." has no accent
    assert second == index["docs"][1]


def test_the_built_index_finds_words_without_accents(built_site):
    index = json.loads((built_site.root / "search" / "search_index.json").read_text())
    assert {"titulo_sin_tildes", "texto_sin_tildes"} <= set(index["config"]["fields"])
    titles = [d for d in index["docs"] if d.get("titulo_sin_tildes") == "conmutacion"]
    assert titles and titles[0]["title"] == "Conmutación por error"
    # The offline copy (search from file://) is the same index, folded fields included.
    inline = (built_site.root / "search" / "search_index.js").read_text()
    assert inline.startswith("var __index = ") and json.loads(inline.removeprefix("var __index = ")) == index
