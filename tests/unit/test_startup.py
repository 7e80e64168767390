"""Start-up of `./rb`: what it avoids importing and loading, and that what it defers still works when used.

Each case runs in a fresh interpreter (pytest itself has imported much
more, so only a new process shows what `./rb` loads).
Timings are in benchmarks/bench_cli.py, not here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, **(env or {})}
    environment.pop("RUNBOOK_DATA_DIR", None)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=120)


def imported_by(*argv: str) -> set[str]:
    """Every module a `python -m runbook.cli ARGV` imports (from `-X importtime`)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "runbook.cli", *argv], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


def test_the_cli_parses_an_invoke_yaml_given_with_f(tmp_path):
    def plan_with(content: str) -> subprocess.CompletedProcess:
        (tmp_path / "conf.yaml").write_text(content)
        # `plan --json`: the published site, rendered only (--list would not read the file)
        return subprocess.run([sys.executable, "-m", "runbook.cli", "-f", str(tmp_path / "conf.yaml"), "plan",
                               "--json"], cwd=REPO, capture_output=True, text=True, timeout=120)

    good, bad = plan_with("run:\n  echo: true\n"), plan_with("run: [echo\n")
    assert good.returncode == 0 and good.stdout.startswith("[")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: no se puede cargar el fichero de configuración de invoke (-f/--config)")


def test_listing_the_tasks_imports_nothing_a_task_imports_when_it_runs():
    modules = imported_by("--list")
    assert "runbook.cli.docs_tasks" in modules
    # (difflib is no longer asked: invoke imports it, through unittest.mock for its MockContext.)
    heavy = {"pydantic", "jinja2", "rich", "fabric", "paramiko", "runbook.data.model", "runbook.plan.steps", "runbook.plan.build",
             "ctypes", "tempfile", "shutil"}
    assert modules & heavy == set()


def test_a_cached_plan_is_used_without_the_loader_yaml_jinja_or_pydantic(tmp_path):
    script = """
        import sys
        from runbook.cli.common import plan_or_exit
        plan = plan_or_exit("lab")
        assert plan.site.name == "lab" and plan.steps and plan.site.vip_owner.name == "hera"
        print(sorted(m for m in ("jinja2", "runbook.data.load", "runbook.plan.templating", "runbook.data.yaml_strict")
                     if m in sys.modules))
        print(sorted(m for m in ("pydantic", "pydantic_core", "runbook.data.model", "runbook.plan.build")
                     if m in sys.modules))
    """
    env = {"RUNBOOK_CACHE_DIR": str(tmp_path / "cache"), "RUNBOOK_PLAN_CACHE": "1"}
    first = python(script, env=env)
    second = python(script, env=env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == ("['jinja2', 'runbook.data.load', 'runbook.data.yaml_strict', 'runbook.plan.templating']\n"
                            "['pydantic', 'pydantic_core', 'runbook.data.model', 'runbook.plan.build']\n")
    assert second.stdout == "[]\n[]\n"


def test_a_plan_built_by_the_cli_loads_no_pydantic_plugin_unless_the_user_asks(tmp_path):
    # An installed distribution offering a pydantic plugin, which leaves a mark when it is loaded.
    site = tmp_path / "site"
    (site / "rb_probe_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "rb_probe_plugin-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: rb-probe-plugin\n"
                                                                     "Version: 1.0\n")
    (site / "rb_probe_plugin-1.0.dist-info" / "entry_points.txt").write_text("[pydantic]\nprobe = rb_probe_plugin:plugin\n")
    (site / "rb_probe_plugin.py").write_text(textwrap.dedent("""
        import os, pathlib
        pathlib.Path(os.environ["RB_PROBE_MARK"]).write_text("loaded")
        class Plugin:
            def new_schema_validator(self, *args, **kwargs):
                return None, None, None
        plugin = Plugin()
    """))

    def plugin_loaded(switch: str | None) -> bool:
        mark = tmp_path / f"mark-{switch}"
        env = {**os.environ, "PYTHONPATH": str(site), "RB_PROBE_MARK": str(mark), "RUNBOOK_PLAN_CACHE": "0"}
        env.pop("PYDANTIC_DISABLE_PLUGINS", None)
        if switch is not None:
            env["PYDANTIC_DISABLE_PLUGINS"] = switch
        # RUNBOOK_PLAN_CACHE=0: the plan is built, so the models validate (where pydantic looks for plugins).
        proc = subprocess.run([sys.executable, "-m", "runbook.cli", "plan", "--site", "lab"], cwd=REPO,
                              capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return mark.exists()

    assert not plugin_loaded(None)  # pydantic's documented switch, set by ./rb
    assert not plugin_loaded("probe")  # the user's own value is kept: this plugin off
    assert plugin_loaded("")  # the user wants plugins: pydantic loads them, as without runbook


PRINT_REPORTS = """
import sys
sys.path.insert(0, "tests/unit")
from runbook.cli import verify_tasks, deploy_tasks  # the tasks, as ./rb loads them
from runbook.deploy.report import ConsoleReporter, print_recap
from runbook.output.terminal import choose_console
from runbook.output.verbatim import emit
from runbook.verify import print_table, render
from sample_reports import deploy_result, failing_report, lab_report

if sys.argv[1] == "verify":
    for report in (lab_report(), failing_report()):
        print_table(report, choose_console())
        render(report, "json"), render(report, "junit")
else:
    outcomes, result = deploy_result(False)
    console = choose_console()
    emit(console, ("Desplegando el sitio lab", "bold"), " (Laboratorio)")
    with ConsoleReporter(console, result.nodes, False) as reporter:
        for outcome in outcomes:
            reporter.outcome(outcome)
    print_recap(console, result)
sys.stdout.flush()
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] == "rich")) or "-", file=sys.stderr)
"""


@pytest.mark.parametrize(("what", "env"), [("verify", {}), ("verify", {"NO_COLOR": "1"}),
                                           ("deploy", {}), ("deploy", {"NO_COLOR": "1"})])
def test_verify_and_deploy_print_to_a_pipe_without_importing_rich(what, env):
    clean = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE")}
    run = subprocess.run([sys.executable, "-c", PRINT_REPORTS, what], cwd=REPO, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, env={**clean, **env}, timeout=120, check=True)
    assert run.stderr.strip().splitlines()[-1] == "-"  # no module of rich at all
    assert "\x1b" not in run.stdout
    if what == "verify":
        assert run.stdout.startswith("Verificación del sitio lab\n\nComprobación  ")
        assert "verify lab: 1 correctas, 2 fallan, 1 con error, 1 omitidas (1.50 s)\n" in run.stdout
    else:
        assert "\nResumen por nodo\n\nnodo      ok  cambiado  fallido  omitido  estado\n" in run.stdout


def test_on_a_forced_terminal_rich_prints_in_colour():
    run = subprocess.run([sys.executable, "-c", PRINT_REPORTS, "verify"], cwd=REPO, capture_output=True,
                         text=True, stdin=subprocess.DEVNULL, env={**os.environ, "FORCE_COLOR": "1"},
                         timeout=120, check=True)
    assert "rich.table" in run.stderr.strip().splitlines()[-1].split(",")
    assert "\x1b[" in run.stdout and "┏" in run.stdout
