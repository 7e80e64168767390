"""Start-up of `./rb`: what it avoids importing, and that what it defers still works when used.

Each case runs in a fresh interpreter (pytest itself has imported
unittest.mock and much more, so only a new process shows what `./rb` loads).
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


def test_listing_the_tasks_imports_neither_unittest_mock_nor_asyncio():
    modules = imported_by("--list")
    assert "invoke.context" in modules  # the measurement works: invoke was imported
    assert "unittest.mock" not in modules
    assert "asyncio" not in modules


def test_listing_the_tasks_imports_no_yaml():
    modules = imported_by("--list")
    assert "invoke.config" in modules
    assert {m for m in modules if "yaml" in m} == set()


def test_an_invoke_yaml_configuration_file_is_still_read_with_the_real_module(tmp_path):
    (tmp_path / "conf.yaml").write_text("run:\n  echo: true\ntimeouts:\n  command: 7\n")
    proc = python(f"""
        import sys
        from runbook.cli.lean_invoke import invoke_lean
        invoke_lean()
        assert not any("yaml" in m for m in sys.modules)
        import invoke
        config = invoke.Config(runtime_path={str(tmp_path / "conf.yaml")!r})
        config.load_runtime()
        assert config.run.echo is True and config.timeouts.command == 7
        assert "invoke.vendor.yaml" in sys.modules and type(sys.modules["invoke.vendor.yaml"]).__name__ == "module"
        from invoke.vendor import yaml
        assert yaml.safe_load("a: 1") == {{"a": 1}}
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


def test_the_cli_still_parses_an_invoke_yaml_given_with_f(tmp_path):
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
    heavy = {"pydantic", "jinja2", "rich", "fabric", "paramiko", "runbook.data.model", "runbook.plan.steps", "runbook.plan.build",
             "ctypes", "tempfile", "shutil", "difflib"}
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


def test_invoke_mock_context_still_gets_a_real_mock_after_the_stand_in():
    proc = python("""
        import sys
        from runbook.cli.lean_invoke import invoke_lean
        invoke_lean()
        assert "unittest.mock" not in sys.modules and "asyncio" not in sys.modules
        from invoke import MockContext, Result
        c = MockContext(run={"hostname": Result("hera\\n")})
        assert c.run("hostname").stdout == "hera\\n"
        import unittest.mock
        assert isinstance(c.run, unittest.mock.Mock)
        c.run.assert_called_once_with("hostname")
        import invoke.context
        assert invoke.context.Mock is unittest.mock.Mock  # the real class from the first use on
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


def test_unittest_mock_imported_after_invoke_is_the_real_module():
    proc = python("""
        from runbook.cli.lean_invoke import invoke_lean
        invoke_lean()
        import invoke.context
        from unittest.mock import Mock, patch
        import unittest.mock
        assert type(unittest.mock).__name__ == "module" and unittest.mock.__file__.endswith("mock.py")
        with patch("os.getcwd", return_value="/x"):
            import os
            assert os.getcwd() == "/x"
        assert isinstance(Mock(), invoke.context.Mock)  # the deferred name answers like the real class
        assert issubclass(unittest.mock.MagicMock, invoke.context.Mock)
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


def test_any_other_name_asked_of_the_stand_in_loads_the_real_module():
    proc = python("""
        import sys
        from runbook.cli import lean_invoke
        sys.modules[lean_invoke.MOCK] = lean_invoke._MockStandIn(lean_invoke.MOCK, "")
        from unittest.mock import patch, sentinel
        assert patch.__module__ == "unittest.mock" and sentinel.x is sentinel.x
        assert not isinstance(sys.modules["unittest.mock"], lean_invoke._StandIn)
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


def test_nothing_is_stood_in_when_unittest_mock_is_already_there():
    proc = python("""
        import sys, unittest.mock
        real = sys.modules["unittest.mock"]
        from runbook.cli.lean_invoke import invoke_lean
        invoke_lean()
        import invoke.context
        assert invoke.context.Mock is real.Mock and sys.modules["unittest.mock"] is real
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


def test_a_plan_built_by_the_cli_scans_no_pydantic_plugins(tmp_path):
    # RUNBOOK_PLAN_CACHE=0: the plan is built, so the models validate (where pydantic looks for plugins).
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "runbook.cli", "plan", "--site", "lab"],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "RUNBOOK_PLAN_CACHE": "0"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "runbook.data.load" in modules and "pydantic.plugin._schema_validator" in modules  # it validated
    assert "importlib.metadata" not in modules


def test_models_validate_the_same_without_the_plugin_loader_and_a_users_switch_is_kept():
    script = """
        import os, sys
        if os.environ["PYDANTIC_DISABLE_PLUGINS"] == "unset":
            del os.environ["PYDANTIC_DISABLE_PLUGINS"]
        from runbook.cli.lean_pydantic import no_plugin_scan
        no_plugin_scan()
        from runbook.data.load import load_site
        from runbook.data.model import Site
        site = load_site("lab")
        assert isinstance(site, Site) and site.name == "lab"
        try:
            Site.model_validate({"name": "lab"})
        except Exception as exc:
            assert type(exc).__name__ == "ValidationError", exc
        loader = sys.modules["pydantic.plugin._loader"]
        print(repr(os.environ["PYDANTIC_DISABLE_PLUGINS"]), hasattr(loader, "_plugins"),
              "importlib.metadata" in sys.modules)
    """

    def run(switch: str) -> str:
        proc = python(script, env={"PYDANTIC_DISABLE_PLUGINS": switch})
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    # Not set: set to "no plugins", and the stand-in answers (no scan, no importlib.metadata).
    assert run("unset") == "'__all__' False False\n"
    assert run("true") == "'true' False False\n"
    # The user wants plugins (or only some off): the real loader, as without runbook.
    assert run("") == "'' True True\n"
    assert run("logfire") == "'logfire' True True\n"


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
