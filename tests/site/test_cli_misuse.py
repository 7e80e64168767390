"""Command-line misuse and `./rb docs`: Spanish, exit 2, and nothing lost.

Invoke's own messages are English with exit code 1 ("No idea what '--bogus'
is!"); through `./rb` each misuse is one Spanish line and exit code 2. A
failed site build keeps the last good `site/`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import invoke
import pytest
from invoke.exceptions import Exit
from support.hostile_cases import DATA, REPO, run_cli
from test_hostile_input import ENGLISH

from runbook.cli import docs_tasks

MISUSE = [
    (["plan", "--bogus"], "la opción '--bogus' de la tarea «plan» no existe"),
    (["plan", "--nod", "hera"], "¿quería decir '--node'?"),
    (["plan", "--site"], "la opción --site necesita un valor"),
    (["deploy", "--step"], "la opción --step necesita un valor"),
    (["plan", "extra"], "'extra' sobra: la tarea «plan» no admite más argumentos"),
    (["plan", "--json", "lab"], "'lab' sobra"),
    (["nosuchtask"], "no existe la tarea 'nosuchtask'"),
    (["plann"], "¿quería decir 'plan'?"),
    (["verfy", "--format", "json"], "¿quería decir 'verify'?"),
    (["--bogus"], "la opción '--bogus' no existe"),
    (["lab.ssh"], "a la tarea «lab.ssh» le falta el argumento obligatorio node"),
    (["docs.serve", "--port", "abc"], "esa opción espera un número entero"),
    (["--help", "nosuch"], "no existe la tarea 'nosuch'"),
    (["--list", "nosuch"], "no existe la colección de tareas «nosuch»"),
    (["plan", "--site", ""], "nombre de sitio no válido ''"),
    (["deploy", "--site", ""], "nombre de sitio no válido ''"),
    (["verify", "--site", ""], "nombre de sitio no válido ''"),
    (["plan", "--site", "../../etc/passwd"], "nombre de sitio no válido"),
    (["plan", "--site", "procedure"], "nombre de sitio no válido"),
    (["plan", "--site", "marte"], "no existe el sitio 'marte'"),
    (["plan", "--node", ""], "no tiene el nodo ''"),
    (["deploy", "--site", "lab", "--step", ""], "el plan no tiene el paso ''"),
    (["verify", "--format", "yaml"], "formato desconocido 'yaml'"),
    (["--list", "--list-format", "bogus"], "formato de lista desconocido 'bogus'"),
    (["--list", "--list-depth", "abc"], "esa opción espera un número entero"),
    (["-f", "/no/existe", "plan"], "fichero de configuración"),
    (["plan", "-s"], "la opción --site necesita un valor"),
]


@pytest.mark.parametrize(("args", "phrase"), MISUSE, ids=[" ".join(a) or "vacío" for a, _ in MISUSE])
def test_misuse_is_one_spanish_line_and_exit_2(args, phrase):
    result = run_cli(args, DATA)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.code == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert phrase in lines[0]
    assert not ENGLISH.search(lines[0]), lines[0]
    assert result.stdout == ""


def test_help_and_list_are_spanish():
    listing = run_cli(["--list"], DATA)
    assert listing.code == 0 and listing.stdout.startswith("Tareas disponibles:")
    help_ = run_cli(["--help", "plan"], DATA)
    assert help_.code == 0
    assert "Uso: ./rb [--opciones-generales] plan" in help_.stdout
    assert "Descripción:" in help_.stdout and "--site=TEXTO" in help_.stdout
    assert not re.search(r"\b(Usage|Docstring|Options|STRING)\b", help_.stdout + listing.stdout)


# ------------------------------------------------------------------ ./rb docs


@pytest.fixture
def built(tmp_path) -> Path:
    """A site built once into a temporary `site/`, with a marker file to tell it apart."""
    dest = tmp_path / "site"
    result = run_cli(["docs", "--dest", str(dest)], DATA, timeout=300)
    assert result.code == 0, result.stderr
    (dest / "marca-de-la-web-buena").write_text("1")
    return dest


def _no_staging_left(dest: Path) -> None:
    assert [p.name for p in dest.parent.iterdir() if p.name.startswith(".site-")] == []


def test_bad_data_keeps_the_last_good_site_and_exits_2(tmp_path, built):
    data = tmp_path / "datos"
    shutil.copytree(DATA, data)
    lab = data / "lab.yaml"
    lab.write_text(lab.read_text().replace("vip: 198.51.100.150", "vip: 198.51.100.255"))
    result = run_cli(["docs", "--dest", str(built)], data, timeout=300)
    assert result.code == 2
    assert "lab.yaml, línea" in result.stderr and "campo 'vip'" in result.stderr
    assert (built / "marca-de-la-web-buena").exists() and (built / "index.html").exists()
    _no_staging_left(built)


def test_failed_build_keeps_the_last_good_site_and_exits_1(tmp_path, built, monkeypatch):
    # A page that MkDocs refuses (not data): exit 1, the old site untouched.
    docs = tmp_path / "docs-roto"
    shutil.copy(REPO / "mkdocs.yml", docs.with_suffix(".yml"))
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    page = tmp_path / "docs" / "index.md"
    page.write_text(page.read_text() + "\n<!-- runbook:no-existe -->\n")
    monkeypatch.setattr(docs_tasks, "CONFIG", docs.with_suffix(".yml"))
    with pytest.raises(Exit) as info:
        docs_tasks.build(invoke.Context(), dest=str(built))
    assert info.value.code == 1
    assert "se conserva la web anterior" in info.value.message
    assert (built / "marca-de-la-web-buena").exists() and (built / "index.html").exists()
    _no_staging_left(built)


def test_successful_build_replaces_the_site_whole(built):
    result = run_cli(["docs", "--dest", str(built)], DATA, timeout=300)
    assert result.code == 0, result.stderr
    assert not (built / "marca-de-la-web-buena").exists()  # the new build, not a merge with the old
    assert (built / "instalacion.html").exists()
    assert oct(built.stat().st_mode & 0o777) == "0o755"
    _no_staging_left(built)
