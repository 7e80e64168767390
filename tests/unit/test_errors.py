"""One error root: every exception of the package is a RunbookError, handled in one place.

The command line (runbook/cli/program.py) turns any RunbookError into one
Spanish line and its exit code; a class that escaped the root would end in a
traceback instead. So every exception class defined anywhere in `runbook`
must derive from it, and the handler must behave as the README says.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import runbook
from runbook.cli import plan_tasks
from runbook.cli.program import RunbookProgram
from runbook.errors import BAD_INPUT, FAILED, BadInputError, RunbookError

REPO = Path(__file__).resolve().parents[2]


def package_modules() -> list[str]:
    names = [info.name for info in pkgutil.walk_packages(runbook.__path__, prefix="runbook.")
             if not info.name.endswith(".__main__")]  # importing it would run the command line
    assert "runbook.errors" in names and "runbook.cli.program" in names  # the walk did find the package
    return names


def exception_classes() -> list[type]:
    found = []
    for name in package_modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name and issubclass(cls, BaseException):
                found.append(cls)
    return found


def test_every_exception_class_of_the_package_derives_from_runbook_error():
    classes = exception_classes()
    names = {cls.__name__ for cls in classes}
    # Known ones from every corner of the package: the walk really sees them.
    assert {"DataError", "YamlError", "PlanError", "NodeUnreachableError", "LabError", "DrillError",
            "ExportError", "LockBusyError", "SecretError", "FieldError"} <= names
    outside = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in classes if not issubclass(cls, RunbookError))
    assert outside == []


def test_exit_codes_follow_the_readme():
    from runbook.data.fields import FieldError
    from runbook.data.load import DataError
    from runbook.deploy.lock import LockBusyError
    from runbook.deploy.outcome import ActionError
    from runbook.drill.scenarios import DrillError
    from runbook.lab.errors import LabError, PrerequisiteError
    from runbook.plan.secrets import SecretError
    from runbook.remote.transport import NodeUnreachableError

    # 2: bad input, a node that cannot be reached, a held lock, a missing prerequisite.
    for cls in (DataError, SecretError, LockBusyError, PrerequisiteError):
        assert cls("x").code == BAD_INPUT, cls
    assert NodeUnreachableError("hera", "x").code == BAD_INPUT
    assert FieldError(("vip",), "x").code == BAD_INPUT
    # 1: a real failure.
    for cls in (ActionError, DrillError, LabError):
        assert cls("x").code == FAILED, cls
    assert LabError("x", code=BAD_INPUT).code == BAD_INPUT  # one instance may say otherwise
    assert RunbookError("x", code=BAD_INPUT).code == BAD_INPUT


def test_validators_errors_stay_value_errors_for_pydantic():
    from runbook.data.fields import FieldError

    assert issubclass(FieldError, ValueError) and issubclass(FieldError, BadInputError)


def task_names(collection, prefix: str = "") -> list[tuple[str, object]]:
    found = [(prefix + name, t) for name, t in collection.tasks.items()]
    for name, sub in collection.collections.items():
        found += task_names(sub, f"{prefix}{name}.")
    return found


def test_every_task_maps_errors_in_the_one_place(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))
    import tasks

    found = task_names(tasks.ns)
    assert {"plan", "deploy", "verify", "drill", "export", "lab.up", "docs.build"} <= {n for n, _ in found}
    assert [n for n, t in found if not getattr(t.body, "reports_errors", False)] == []


def run_program(monkeypatch, capsys, error: BaseException) -> tuple[int, str]:
    """`./rb plan` in process, with the task failing as `error`; (exit code, stderr)."""
    def failing(_site):
        raise error

    monkeypatch.chdir(REPO)  # invoke finds tasks.py from here
    monkeypatch.setattr(plan_tasks, "plan_or_exit", failing)
    with pytest.raises(SystemExit) as info:
        RunbookProgram().run(["rb", "plan"])
    return info.value.code, capsys.readouterr().err


def test_a_runbook_error_is_one_spanish_line_with_its_code(monkeypatch, capsys):
    from runbook.data.load import DataError

    code, err = run_program(monkeypatch, capsys, DataError("site_data/lab.yaml, línea 3: campo 'vip': mal"))
    assert (code, err) == (2, "error: site_data/lab.yaml, línea 3: campo 'vip': mal\n")
    code, err = run_program(monkeypatch, capsys, RunbookError("el laboratorio no arrancó"))
    assert (code, err) == (1, "error: el laboratorio no arrancó\n")


def test_an_interrupted_task_says_so_and_exits_1(monkeypatch, capsys):
    assert run_program(monkeypatch, capsys, KeyboardInterrupt()) == (1, "error: interrumpido\n")


def test_an_unexpected_exception_is_one_clear_line_without_traceback(monkeypatch, capsys):
    monkeypatch.delenv("RUNBOOK_DEBUG", raising=False)
    code, err = run_program(monkeypatch, capsys, ZeroDivisionError("division by zero\nmore"))
    assert code == 1
    assert err == ("error inesperado (ZeroDivisionError: division by zero); es un fallo de runbook: "
                   "repite con RUNBOOK_DEBUG=1 para ver la traza y comunícalo\n")


def test_runbook_debug_keeps_the_traceback_of_an_unexpected_exception(monkeypatch, capsys):
    monkeypatch.setenv("RUNBOOK_DEBUG", "1")
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(plan_tasks, "plan_or_exit", lambda _site: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        RunbookProgram().run(["rb", "plan"])


def test_plain_invoke_maps_errors_the_same_way(tmp_path):
    # Some people (and the older benchmarks) run `invoke TASK` instead of `./rb TASK`.
    data = tmp_path / "data"
    shutil.copytree(REPO / "site_data", data)
    lab = data / "lab.yaml"
    lab.write_text(lab.read_text().replace("vip: 198.51.100.150", "vip: 198.51.100.255"))
    line = lab.read_text().splitlines().index("vip: 198.51.100.255") + 1
    proc = subprocess.run([sys.executable, "-m", "invoke", "plan", "--site", "lab"], cwd=REPO,
                          env={**os.environ, "RUNBOOK_DATA_DIR": str(data)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == (f"error: {lab}, línea {line}: campo 'vip': 198.51.100.255 es la dirección de difusión "
                           "(broadcast) de 198.51.100.0/24, no la de un equipo\n")
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
