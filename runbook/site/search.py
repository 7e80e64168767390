"""Search that finds Spanish words typed without their accents.

Material's search (lunr.js, in a web worker) matches words as they are
written: "conmutacion" never finds "conmutación". Lunr could fold accents
with a pipeline function, but Material builds the index inside its worker
from `search/search_index.json`, with no hook for one. So the index itself
gets, for every section, extra fields holding its accented words written
without accents; Material indexes every field listed in the index's
`config.fields`, and only shows title and text, so a reader never sees them.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Field name -> boost: the same weights Material gives to title and text.
FOLDED_FIELDS = {"titulo_sin_tildes": ("title", 1e3), "texto_sin_tildes": ("text", 1.0)}
_TAG_RE = re.compile(r"<[^>]+>")
_WORD_RE = re.compile(r"\w+")


def fold(text: str) -> str:
    """conmutación -> conmutacion, contraseña -> contrasena, pingüino -> pinguino."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def folded_words(markup: str) -> str:
    """The words of an HTML fragment that change when folded, folded, once each, in order."""
    text = html.unescape(_TAG_RE.sub(" ", markup))
    seen: dict[str, None] = {}
    for word in _WORD_RE.findall(text):
        plain = fold(word)
        if plain != word:
            seen.setdefault(plain.lower(), None)
    return " ".join(seen)


def add_unaccented_fields(index: dict) -> dict:
    """The search index with each section's folded words as extra, searchable fields."""
    fields = index.setdefault("config", {}).setdefault("fields", {})
    for name, (_source, boost) in FOLDED_FIELDS.items():
        fields[name] = {"boost": boost}
    for doc in index.get("docs", []):
        for name, (source, _boost) in FOLDED_FIELDS.items():
            words = folded_words(doc.get(source, ""))
            if words:
                doc[name] = words
    return index
