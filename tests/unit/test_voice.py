"""The tool speaks *tú*, like the site: its messages, `./rb` and the README.

The same pattern as the built pages (support.voice) runs over every string literal of the
package (an error, a plan line, an export's README, a scaffolded comment), every line of
`./rb` and every paragraph, item and cell of README.md.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from support.voice import SPANISH, USTED

import runbook

PACKAGE = Path(runbook.__file__).parent
REPO = PACKAGE.parent


def _is_task(node: ast.AST) -> bool:
    """An invoke task: its docstring is the Spanish help `./rb --help TASK` prints."""
    names = [d.func if isinstance(d, ast.Call) else d for d in getattr(node, "decorator_list", [])]
    return any(getattr(n, "id", getattr(n, "attr", None)) == "task" for n in names)


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes (English, for developers), tasks' help excepted."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and not _is_task(node):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


# Forms that are English words too: they count only in a literal that is Spanish.
ENGLISH_TOO = {"use", "pulse", "configure"}


def _word(match: re.Match) -> str:
    return re.sub(r"^[^\w]*", "", match.group(0)).lower()


def literal_hits(source: str, where: str) -> list[str]:
    """Each *usted* form in the source's Spanish string literals (f-string pieces included)."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    spanish = set()  # the pieces of an f-string that is Spanish as a whole
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            pieces = [v for v in node.values if isinstance(v, ast.Constant)]
            if SPANISH.search("".join(v.value for v in pieces)):
                spanish.update(id(v) for v in pieces)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            spanish_here = id(node) in spanish or SPANISH.search(node.value)
            hits += [f"{where}:{node.lineno}: {m.group(0).strip()!r} en {node.value!r}"
                     for m in USTED.finditer(node.value)
                     if spanish_here or _word(m) not in ENGLISH_TOO]
    return hits


def markdown_pieces(text: str) -> list[str]:
    """Each paragraph, list item and table cell as one line (so the pattern's `^` is where it starts)."""
    pieces = []
    for block in re.split(r"\n\s*\n", text):
        for item in re.split(r"\n\s*(?:[-*]|\d+\.)\s+", "\n" + block):
            for cell in item.split("|"):
                piece = " ".join(cell.split())
                if piece:
                    pieces.append(piece)
    return pieces


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(REPO)))
def test_the_package_speaks_tu(path):
    hits = literal_hits(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    assert not hits, "habla de usted:\n" + "\n".join(hits)


def test_rb_speaks_tu():
    lines = (REPO / "rb").read_text(encoding="utf-8").splitlines()
    hits = [f"rb:{n}: {line.strip()}" for n, line in enumerate(lines, 1) if USTED.search(line)]
    assert not hits, "habla de usted:\n" + "\n".join(hits)


def test_the_readme_speaks_tu():
    hits = [p for p in markdown_pieces((REPO / "README.md").read_text(encoding="utf-8")) if USTED.search(p)]
    assert not hits, "habla de usted:\n" + "\n".join(hits)


# A command named as `invoke TASK` (users run ./rb; invoke is what it runs underneath).
INVOKE = re.compile(r"\binvoke\s+(?!a\b)[\w.-]+")


def test_messages_name_the_command_users_run():
    hits = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree)
        hits += [f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
                 if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
                 and SPANISH.search(node.value) and INVOKE.search(node.value)]
    assert not hits, "nombra invoke en vez de ./rb:\n" + "\n".join(hits)
    assert INVOKE.search("el laboratorio no está en marcha (use «invoke lab.up»)")
    assert not INVOKE.search("fichero de configuración de invoke a usar")


@pytest.mark.parametrize("source, found", [
    ('raise fail("indique la carpeta del proyecto con --output CARPETA")', True),
    ('raise fail(f"formato desconocido {f!r}; use uno de: {known}")', True),
    ('say("falta nft: instálelo con «apt-get install nftables»")', True),
    ('"""Use the lab: indique nothing here (a docstring, for developers)."""', False),
    ('@task\ndef up(c):\n    """Levanta el laboratorio; si falla, revise el registro."""', True),
    ('raise fail(f"formato desconocido {f!r}; usa uno de: {known}")', False),
    ('msg = "que el nodo use la dirección de su LAN"', False),
    ('state = "active"; hint = "use the lab"', False),
    ('parts = [f"defina {env}"]', True),
])
def test_the_scan_reads_literals(source, found):
    assert bool(literal_hits(source, "x.py")) is found


def test_the_scan_reads_markdown_pieces():
    text = "Un párrafo\nque sigue.\n\n- Use esto\n- y esto\n\n| orden | qué hace |\n|---|---|\n| `x` | revise esto |\n"
    assert [p for p in markdown_pieces(text) if USTED.search(p)] == ["Use esto", "revise esto"]
