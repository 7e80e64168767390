"""The "Resultados medidos" page: built from the committed results file, never from the lab."""

from __future__ import annotations

import copy
import json
import shutil
import xml.etree.ElementTree as ET

import pytest
from support.site_fixtures import mkdocs_build

from runbook.data.load import REPO_ROOT
from runbook.site.blocks import BlockStash
from runbook.site.results import ResultsError, load_results, measured, plot_svg, results_markdown, seconds

MEASURED = REPO_ROOT / "benchmarks" / "measured.json"


def scenario(name: str = "node-crash", **over) -> dict:
    base = {"name": name, "title": "Caída del nodo", "fault": "se corta el enlace LAN", "requests": 4000,
            "failed": 720, "rate_rps": 200.0, "longest_error_window_s": 3.6, "takeover_s": 3.65,
            "vip_moved_s": 3.576, "verify_after": "ok", "fault_at_s": 3.0, "restore_at_s": 13.0,
            "holder_before": "hera", "new_holder": "afrodita", "failed_after_restore": 0, "two_holders_s": 0.0,
            "timeline": [{"t": i * 0.25, "ok_rps": 0.0 if 12 <= i < 27 else 200.0,
                          "failed_rps": 200.0 if 12 <= i < 27 else 0.0} for i in range(80)]}
    return {**base, **over}


DATA = {"when": "2026-11-27 07:00 UTC", "machine": {"description": "Debian GNU/Linux 12 (bookworm), CPU X",
                                                    "cpus": 2, "kernel": "6.1.0"},
        "drill": {"command": "./rb drill --scenario all --rate 200 --duration 20 --json",
                  "doc": {"site": "lab", "rate": 200.0, "duration_s": 20.0, "request_timeout_s": 1.0,
                          "scenarios": [scenario(), scenario("backend-down", title="Caída de un backend",
                                                             new_holder=None, vip_moved_s=None)]}}}


def test_seconds_use_a_decimal_comma():
    assert seconds(3.576) == "3,58 s" and seconds(None) == "—" and seconds(None, "nunca") == "nunca"


def test_measured_quotes_one_figure_and_refuses_unknown_ones():
    assert measured(DATA, "node-crash", "vip_moved_s") == "3,58 s"
    assert measured(DATA, "node-crash", "failed") == "720"
    with pytest.raises(ResultsError, match="no tienen el escenario 'meteorito'"):
        measured(DATA, "meteorito", "failed")
    with pytest.raises(ResultsError, match="no tiene la medida 'nada'"):
        measured(DATA, "node-crash", "nada")


def test_page_has_date_machine_command_table_and_one_plot_per_scenario():
    stash = BlockStash()
    text = results_markdown(DATA, stash)
    assert "**2026-11-27 07:00 UTC**" in text and "CPU X (2 núcleos" in text
    assert "```bash\n./rb drill --scenario all --rate 200 --duration 20 --json\n```" in text
    assert "| **Caída del nodo** (`node-crash`) | 4000 | 720 | 200/s | 3,60 s | 3,65 s | 3,58 s | correcto |" in text
    assert "Qué se hace: se corta el enlace LAN. Fallo a los 3,00 s" in text
    assert "no se movió" in text and "La IP virtual pasó de hera a afrodita en 3,58 s." in text
    html = stash.restore(text.replace("RBBLOQUE", "<p>RBBLOQUE").replace("FIN", "FIN</p>"))
    assert html.count("<svg") == 2


def test_plot_is_valid_svg_with_both_series_and_the_fault_marks():
    svg = plot_svg(scenario(), 200.0)
    root = ET.fromstring(svg.removeprefix('<figure class="rb-plot">').split("<figcaption>")[0])
    ns = "{http://www.w3.org/2000/svg}"
    lines = root.findall(f"{ns}polyline")
    assert len(lines) == 2 and all(len(p.get("points").split()) == 79 for p in lines)  # last bin: partial
    ok_points = [tuple(map(float, p.split(","))) for p in lines[0].get("points").split()]
    bad_points = [tuple(map(float, p.split(","))) for p in lines[1].get("points").split()]
    # During the outage the green line is at the bottom and the red one at the top, and vice versa.
    assert ok_points[15][1] > ok_points[5][1] and bad_points[15][1] < bad_points[5][1]
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "fallo" in texts and "restablecido" in texts and "segundos de carga" in texts
    assert "720 fallidas de 4000" in root.get("aria-label")


def test_the_committed_results_file_is_complete():
    data = load_results(MEASURED)
    names = [s["name"] for s in data["drill"]["doc"]["scenarios"]]
    assert names == ["planned", "haproxy-crash", "keepalived-crash", "node-crash", "backend-down"]
    command = data["drill"]["command"]  # the main lab's, or a private copy's (RUNBOOK_DATA_DIR, --site)
    assert "./rb drill " in command and "--scenario all" in command and "--json" in command
    assert data["drill"]["doc"]["site"] in (command.split("--site ")[1].split()[0] if "--site " in command
                                            else "lab")


def test_bad_results_file_is_a_clear_error(tmp_path):
    path = tmp_path / "measured.json"
    with pytest.raises(ResultsError, match="no se puede leer"):
        load_results(path)
    path.write_text("{")
    with pytest.raises(ResultsError, match="no es JSON válido"):
        load_results(path)
    broken = copy.deepcopy(DATA)
    del broken["drill"]["doc"]["scenarios"][0]["takeover_s"]
    path.write_text(json.dumps(broken))
    with pytest.raises(ResultsError, match="al escenario 'node-crash' le falta takeover_s"):
        load_results(path)


# ------------------------------------------------------------------ the real build


def test_page_says_how_busy_the_machine_was_and_compares_preemption():
    preemption = {"when": "2026-11-27 10:00 UTC", "command": "bench_preemption.py --save", "rate": 200,
                  "duration_s": 20, "variants": [
                      {"label": "preempt (por defecto)",
                       "planned-stop": {"failed": 125, "took_back_s": 3.74, "failed_after_restore": 2},
                       "planned": {"vip_moved_s": 3.5, "failed": 1}},
                      {"label": "nopreempt",
                       "planned-stop": {"failed": 123, "took_back_s": None, "failed_after_restore": 0},
                       "planned": {"vip_moved_s": None, "failed": 0}}]}
    data = {**DATA, "machine": {**DATA["machine"], "load": [3.25, 4.0]}, "preemption": preemption}
    text = results_markdown(data, BlockStash())
    assert "con una carga media de la máquina de 3,2 antes del simulacro y 4,0 después" in text
    assert "| `preempt (por defecto)` | 125 | 3,74 s | 2 | 3,50 s | 1 |" in text
    assert "| `nopreempt` | 123 | no la recupera | 0 | no se movió | 0 |" in text
    assert "```bash\nbench_preemption.py --save\n```" in text


@pytest.fixture
def docs_copy(tmp_path):
    shutil.copy(REPO_ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(REPO_ROOT / "docs", tmp_path / "docs")
    return tmp_path / "mkdocs.yml"


def test_built_pages_quote_the_committed_results(built_site):
    data = load_results(MEASURED)
    page = built_site.html("resultados.html")
    assert page.count('<figure class="rb-plot"><svg') == len(data["drill"]["doc"]["scenarios"])
    assert data["when"] in page and "cdn" not in page.lower()
    figure = measured(data, "node-crash", "vip_moved_s")
    assert f"el BACKUP tuvo la IP a los\n{figure}" in built_site.html("conmutacion.html") or \
           f"el BACKUP tuvo la IP a los {figure}" in built_site.html("conmutacion.html")


def test_broken_results_fail_the_build(tmp_path, docs_copy):
    (tmp_path / "roto.json").write_text("{}")
    site_line = "      site: !ENV [RUNBOOK_DOCS_SITE, olimpo]\n"
    config = docs_copy.read_text()
    assert site_line in config
    config = config.replace(site_line, site_line + "      results: roto.json\n")
    docs_copy.write_text(config)
    result = mkdocs_build(docs_copy, tmp_path / "out")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "roto.json: falta el campo 'when'" in result.stderr


def test_unknown_figure_fails_the_build(tmp_path, docs_copy):
    page = docs_copy.parent / "docs" / "conmutacion.md"
    text = page.read_text()
    line = text[:text.index("<!-- runbook:medida node-crash vip_moved_s -->")].count("\n") + 1
    page.write_text(text.replace("<!-- runbook:medida node-crash vip_moved_s -->",
                                 "<!-- runbook:medida node-crash vip_movida -->"))
    result = mkdocs_build(docs_copy, tmp_path / "out")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert (f"conmutacion.md, línea {line}: el escenario 'node-crash' no tiene la medida 'vip_movida'"
            in result.stderr)
