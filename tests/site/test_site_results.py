"""The "Resultados medidos" page: built from the committed results file, never from the lab."""

from __future__ import annotations

import copy
import json
import re
import shutil
import xml.etree.ElementTree as ET

import pytest
from support.site_fixtures import mkdocs_build

from runbook.data.load import REPO_ROOT
from runbook.drill import repeats
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


def test_page_has_date_machine_command_tables_and_one_plot_per_scenario():
    stash = BlockStash()
    text = results_markdown(DATA, stash)
    assert "**2026-11-27 07:00 UTC**" in text and "CPU X (2 núcleos" in text
    assert "```bash\n./rb drill --scenario all --rate 200 --duration 20 --json\n```" in text
    assert "| **Caída del nodo** | 720 | 4000 | — | — | correcto |" in text
    assert "| **Caída del nodo** | 3,65 | 3,58 | — | — |" in text
    assert "Qué se hace: se corta el enlace LAN. Fallo a los 3,00 s" in text
    assert "no se movió" in text and "La IP virtual pasó de hera a afrodita en 3,58 s." in text
    assert "Cada escenario se ejecutó una vez." in text
    html = stash.restore(text.replace("RBBLOQUE", "<p>RBBLOQUE").replace("FIN", "FIN</p>"))
    assert html.count("<svg") == 2


def test_page_has_no_developer_data():
    data = {**DATA, "benchmarks": {"when": "x", "command": "flock bench_summary.py", "rows": [
        {"key": "plan", "label": "Plan del sitio publicado", "seconds": 0.7, "runs": [0.7]}]}}
    text = results_markdown(data, BlockStash())
    for word in ("Tiempos del proyecto", "takeover_s", "RUNBOOK_DATA_DIR", "labd", "bench_summary"):
        assert word not in text


def repeated(name: str, failed: list[int], p99: list[float], down: list[float | None]) -> dict:
    runs = [scenario(name, failed=f, added_p50_s=0.0, added_p99_s=p, marked_down_s=d, marked_up_s=1.2)
            for f, p, d in zip(failed, p99, down, strict=True)]
    return repeats.combine(runs)


def test_repeated_runs_show_the_median_and_the_range():
    data = copy.deepcopy(DATA)
    data["drill"]["doc"]["repeat"] = 3
    data["drill"]["doc"]["scenarios"] = [repeated("backend-down", [0, 3, 1], [0.5, 0.6, 0.55], [0.6, 0.5, None])]
    text = results_markdown(data, BlockStash())
    assert "Cada escenario se ejecutó **3 veces**" in text
    assert "| 1 <small>(0 a 3)</small> | 4000 | 0 | 550 <small>(500 a 600)</small> | correcto |" in text
    # HAProxy's DOWN: the median of the runs that saw one; UP the same in every run (no range).
    assert "| 0,55 <small>(0,50 a 0,60)</small> | 1,20 |" in text


def test_before_and_after_are_compared_scenario_by_scenario():
    data = copy.deepcopy(DATA)
    data["drill"]["doc"]["scenarios"] = [repeated("backend-down", [0, 0, 1], [0.5, 0.5, 0.5], [0.6, 0.6, 0.6])]
    data["before"] = {"what": "Con la configuración anterior.", "scenarios": [
        repeated("backend-down", [1000, 1100, 1050], [0.99, 0.99, 0.99], [10.5, 11.0, 10.0]),
        repeated("meteorito", [1], [0.1], [None])]}
    text = results_markdown(data, BlockStash())
    assert "Con la configuración anterior." in text
    assert ("| **Caída del nodo** | 1050 <small>(1000 a 1100)</small> | 0 <small>(0 a 1)</small> | 990 | 500 "
            "| 10,50 <small>(10,00 a 11,00)</small> | 0,60 |") in text
    assert "meteorito" not in text  # not measured after: no row


def test_plot_is_valid_svg_with_steps_axes_and_the_fault_marks():
    svg = plot_svg(scenario(), 200.0)
    root = ET.fromstring(svg.removeprefix('<figure class="rb-plot">').split("<figcaption>")[0])
    ns = "{http://www.w3.org/2000/svg}"
    paths = {p.get("data-serie"): p.get("d") for p in root.iter(f"{ns}path")}
    assert set(paths) == {"ok_rps", "failed_rps"}
    # Steps: only horizontal and vertical moves, one flat step per bin (79: the last bin is partial).
    for d in paths.values():
        assert set(c for c in d if c.isalpha()) == {"M", "H", "V"} and d.count("H") == 79
    # The drop happens at the fault's own mark, not on a slope starting a bin before it.
    moves = re.findall(r"([MHV])([\d.]+)(?:,([\d.]+))?", paths["ok_rps"])
    x, y, drops = 0.0, 0.0, []
    for kind, a, b in moves:
        if kind == "M":
            x, y = float(a), float(b)
        elif kind == "H":
            x = float(a)
        else:
            drops += [x] if float(a) > y else []
            y = float(a)
    fault_x = min(float(line.get("x1")) for line in root.iter(f"{ns}line") if line.get("stroke-dasharray") == "2 3")
    assert drops[0] == fault_x
    texts = [t.text for t in root.iter(f"{ns}text")]
    for label in ("fallo", "restablecido", "tiempo desde el inicio de la carga (s)", "peticiones por segundo",
                  "correctas/s", "fallidas/s"):
        assert label in texts, texts
    # Okabe-Ito colours, and markers that tell the series apart without colour.
    strokes = {p.get("data-serie"): p.get("stroke") for p in root.iter(f"{ns}path")}
    assert strokes == {"ok_rps": "#0072B2", "failed_rps": "#D55E00"}
    assert root.findall(f"{ns}circle") and root.findall(f"{ns}rect")
    assert "720 fallidas de 4000" in root.get("aria-label")


def test_the_committed_results_file_is_complete():
    data = load_results(MEASURED)
    names = [s["name"] for s in data["drill"]["doc"]["scenarios"]]
    assert names == ["planned", "haproxy-crash", "keepalived-crash", "node-crash", "backend-stop", "backend-down",
                     "backend-stop-tcp", "backend-down-tcp"]
    command = data["drill"]["command"]
    assert "./rb drill " in command and "--scenario all" in command and "--json" in command
    # The page's figures come from at least 3 runs of each scenario.
    assert data["drill"]["doc"]["repeat"] >= 3 and "--repeat" in command
    assert all(s["runs"] >= 3 and "spread" in s for s in data["drill"]["doc"]["scenarios"])


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
    assert "bench_preemption.py" not in text  # how it was measured: benchmarks/README.md


def test_repeated_handovers_show_every_run():
    handover = {"when": "2026-12-05 08:30 UTC", "rate": 200, "duration_s": 20, "scenarios": [
        {"name": "planned", "title": "Mantenimiento planificado", "runs": 3, "failed": [0, 2, 0],
         "requests": [4000] * 3, "two_holders_s": [0.0, 0.0, 0.0], "takeover_s": [0.0, 0.01, 0.0],
         "vip_moved_s": [3.2, 3.3, 3.4], "failed_after_restore": [0, 1, 0]},
        {"name": "keepalived-crash", "title": "Caída de Keepalived", "runs": 2, "failed": [0, 0],
         "requests": [4000] * 2, "two_holders_s": [0.84, 1.5], "takeover_s": [0.0, None],
         "vip_moved_s": [3.0, None], "failed_after_restore": [0, 0]}]}
    text = results_markdown({**DATA, "handover": handover}, BlockStash())
    assert "## Conmutaciones repetidas" in text
    assert "a 200 peticiones/s y 20 s por ejecución" in text
    assert "| **Mantenimiento planificado** | 2 de 3 | 0, 2, 0 | 3,20; 3,30; 3,40 | 0,00; 0,00; 0,00 |" in text
    assert "| **Caída de Keepalived** | 2 de 2 | 0, 0 | 3,00; no se movió | 0,84; 1,50 |" in text
    assert "Conmutaciones repetidas" not in results_markdown(DATA, BlockStash())


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
