"""`mkdocs build --strict` is red whenever the site would drift or lie.

Each case breaks one thing in a temporary copy (site data through
RUNBOOK_DATA_DIR, or the pages) and runs the real build: it must fail and
its message must name the problem, in Spanish, without a traceback.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.site_fixtures import mkdocs_build

from runbook.data.load import REPO_ROOT

DATA = REPO_ROOT / "site_data"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} ya no está en {path.name}: actualizar este test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def data_copy(tmp_path) -> Path:
    target = tmp_path / "site_data"
    shutil.copytree(DATA, target)
    return target


@pytest.fixture
def docs_copy(tmp_path) -> Path:
    """A copy of mkdocs.yml and docs/ that the test may break; returns mkdocs.yml."""
    shutil.copy(REPO_ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(REPO_ROOT / "docs", tmp_path / "docs")
    return tmp_path / "mkdocs.yml"


def _fails(result, *phrases: str) -> None:
    assert result.returncode != 0, "la construcción debía fallar y terminó bien"
    assert "Traceback" not in result.stderr, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, f"{phrase!r} no aparece en:\n{result.stderr}"


DATA_BREAKS = [
    pytest.param(
        "procedure.yaml",
        "; ifup {{ lan.interface | q }}\n",
        "; ifup {{ lan.interfaz | q }}\n",
        ["procedure.yaml", "interfaz-lan", "variable no definida", "interfaz"],
        id="undefined-variable-in-command",
    ),
    pytest.param(
        "procedure.yaml",
        "; ifup {{ lan.interface | q }}\n",
        "; ifup {{ lan.interface | q \n",
        ["procedure.yaml", "interfaz-lan", "no se puede generar"],
        id="broken-template-syntax",
    ),
    pytest.param(
        "procedure.yaml",
        "template: haproxy.cfg.j2",
        "template: haproxy-roto.cfg.j2",
        ["procedure.yaml", "haproxy", "no existe la plantilla", "haproxy-roto.cfg.j2"],
        id="missing-template",
    ),
    pytest.param(
        "olimpo.yaml",
        "vip: 192.168.1.150",
        "vip: 192.168.7.150",
        ["olimpo.yaml, línea", "campo 'vip'", "no está en la subred"],
        id="invalid-site-data",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "phrases"), DATA_BREAKS)
def test_broken_data_fails_the_build(tmp_path, data_copy, file, old, new, phrases):
    _edit(data_copy / file, old, new)
    result = mkdocs_build(REPO_ROOT / "mkdocs.yml", tmp_path / "out", {"RUNBOOK_DATA_DIR": str(data_copy)})
    _fails(result, *phrases)


TEMPLATE_BREAKS = [
    pytest.param(
        "haproxy.cfg.j2",
        "bind {{ site.vip }}:{{ svc.port }}",
        "bind {{ site.vip_adress }}:{{ svc.port }}",
        ["haproxy.cfg.j2", "variable no definida", "vip_adress"],
        id="undefined-variable-in-file-template",
    ),
    pytest.param(
        "keepalived.conf.j2",
        "priority {{ node.priority }}",
        "priority {{ node.priority }",
        ["keepalived.conf.j2", "keepalived"],
        id="broken-file-template-syntax",
    ),
]


@pytest.mark.parametrize(("template", "old", "new", "phrases"), TEMPLATE_BREAKS)
def test_broken_file_template_fails_the_build(tmp_path, template, old, new, phrases):
    templates = tmp_path / "templates"
    shutil.copytree(REPO_ROOT / "runbook" / "plan" / "templates", templates)
    _edit(templates / template, old, new)
    result = mkdocs_build(REPO_ROOT / "mkdocs.yml", tmp_path / "out", {"RUNBOOK_TEMPLATE_DIR": str(templates)})
    _fails(result, *phrases)


PAGE_BREAKS = [
    pytest.param(
        "instalacion.md",
        "La puerta de\nenlace es {{ lan.gateway }}",
        "La puerta de\nenlace es {{ lan.pasarela }}",
        ["instalacion.md, línea", "variable no definida", "pasarela"],
        id="undefined-variable-in-page",
    ),
    pytest.param(
        "index.md",
        "<!-- runbook:topologia -->",
        "<!-- runbook:topología -->",
        ["index.md", "directiva desconocida", "topología"],
        id="unknown-directive",
    ),
    pytest.param(
        "instalacion.md",
        "<!-- runbook:paso paquetes -->",
        "<!-- runbook:paso paquetes-extra -->",
        ["instalacion.md", "'paquetes-extra' no existe"],
        id="unknown-step",
    ),
    pytest.param(
        "instalacion.md",
        "<!-- runbook:paso paquetes -->",
        "",
        ["ninguna página muestra los pasos: paquetes"],
        id="step-never-shown",
    ),
    pytest.param(
        "verificacion.md",
        "<!-- runbook:orden vip-desde-un-cliente -->",
        "<!-- runbook:orden vip-desde-otro-sitio -->",
        ["verificacion.md", "la orden 'vip-desde-otro-sitio' no existe"],
        id="unknown-observation",
    ),
    pytest.param(
        "verificacion.md",
        "<!-- runbook:orden estadisticas-piden-clave -->",
        "",
        ["ninguna página muestra las órdenes: estadisticas-piden-clave"],
        id="observation-never-shown",
    ),
    pytest.param(
        "servicios.md",
        "<!-- runbook:servicios -->",
        "<!-- runbook:servicios -->\n\n<!-- runbook:paso haproxy -->",
        ["'haproxy' aparece dos veces", "instalacion.md", "servicios.md"],
        id="step-shown-twice",
    ),
]


@pytest.mark.parametrize(("page", "old", "new", "phrases"), PAGE_BREAKS)
def test_broken_page_fails_the_build(tmp_path, docs_copy, page, old, new, phrases):
    _edit(docs_copy.parent / "docs" / page, old, new)
    _fails(mkdocs_build(docs_copy, tmp_path / "out"), *phrases)


def test_unbroken_copy_builds(tmp_path, docs_copy, data_copy):
    # The same copies, untouched, build fine: the failures above come from the breakage.
    result = mkdocs_build(docs_copy, tmp_path / "out", {"RUNBOOK_DATA_DIR": str(data_copy)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "instalacion.html").is_file()


def test_missing_local_mermaid_fails_the_build(tmp_path, docs_copy):
    # Without the local copy Material would fetch Mermaid from a CDN: not offline.
    (docs_copy.parent / "docs" / "assets" / "vendor" / "mermaid.min.js").unlink()
    _fails(mkdocs_build(docs_copy, tmp_path / "out"), "mermaid.min.js", "./rb")
