"""`./rb test` forms the pytest commands a user means (quoting included), and reports both runs."""

from __future__ import annotations

import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import invoke
import pytest

from runbook.cli import dev_tasks

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_fast_keeps_the_marker_expression_one_argument():
    c = invoke.MockContext(run=invoke.Result(), repeat=True)  # records each command, runs nothing
    dev_tasks.test(c, fast=True, k="tampering and not backend")
    words = shlex.split(c.run.call_args_list[-1].args[0])
    assert words[0].endswith("pytest")
    assert words[1:] == ["-q", "-k", "tampering and not backend",
                         "-m", "not lab and not browser and not root and not validators", "-n", "2"]


def test_the_whole_suite_is_two_runs_that_split_every_test_by_the_lab_marker():
    rest, lab = dev_tasks.pytest_runs(k="deploy")
    assert rest.args == ["-q", "-k", "deploy", "-m", "not lab", "-n", "2"]
    assert lab.args[:5] == ["-q", "-k", "deploy", "-m", "lab"]  # one lab: its tests one at a time
    assert "--durations=25" in lab.args  # the slowest lab tests are named in the log
    assert rest.log != lab.log


def test_every_need_a_test_may_declare_is_left_out_of_the_fast_run():
    registered = {line.split(":")[0].split("(")[0].strip(' "')
                  for line in tomllib.loads(PYPROJECT.read_text())["tool"]["pytest"]["ini_options"]["markers"]}
    assert set(dev_tasks.NEEDS) == registered


# One stand-in test for each combination of needs a test of this project may declare.
MARKED = {
    "nada": [], "laboratorio": ["lab"], "navegador": ["browser"], "root": ["root"],
    "validadores": ["validators"], "validadores_root": ["validators", "root"], "laboratorio_root": ["lab", "root"],
}


def _selected(folder, args: list[str]) -> set[str]:
    """The stand-in tests a run's arguments select, as pytest itself reads them (markers from pyproject.toml)."""
    words = [w for i, w in enumerate(args) if w != "-n" and args[i - 1 : i] != ["-n"]]  # collecting needs no xdist
    proc = subprocess.run([sys.executable, "-m", "pytest", "-c", str(PYPROJECT), "--rootdir", str(folder),
                           "-p", "no:cacheprovider", "-W", "error::pytest.PytestUnknownMarkWarning",
                           "--collect-only", *words, str(folder)],
                          capture_output=True, text=True, cwd=folder, timeout=120)
    assert proc.returncode in (0, dev_tasks.NO_TESTS), proc.stdout + proc.stderr
    return {line.split("::")[-1].removeprefix("test_") for line in proc.stdout.splitlines() if "::" in line}


def test_the_runs_select_every_test_once_and_fast_only_what_needs_nothing(tmp_path):
    lines = ["import pytest"]
    for name, marks in MARKED.items():
        lines += [*(f"@pytest.mark.{m}" for m in marks), f"def test_{name}():", "    pass", ""]
    (tmp_path / "test_needs.py").write_text("\n".join(lines))
    rest, lab = (_selected(tmp_path, run.args) for run in dev_tasks.pytest_runs())
    assert rest | lab == set(MARKED) and not rest & lab  # the whole suite: each test exactly once
    assert lab == {"laboratorio", "laboratorio_root"}
    (fast,) = (_selected(tmp_path, run.args) for run in dev_tasks.pytest_runs(fast=True))
    assert fast == {"nada"}


@pytest.mark.parametrize(("log", "line"), [
    ("....\n700 passed, 3 skipped in 301.20s (0:05:01)\n", "700 passed, 3 skipped in 301.20s (0:05:01)"),
    ("F.\n===== 1 failed, 1 passed in 2.00s =====\n", "1 failed, 1 passed in 2.00s"),
    ("\n1 deselected in 0.50s\n", "1 deselected in 0.50s"),
    ("ERROR: usage: pytest\n", "ERROR: usage: pytest"),
])
def test_summary_line_is_pytests_closing_line(log, line):
    assert dev_tasks.summary_line(log) == line


def _fake_runs(tmp_path, monkeypatch, codes: dict[str, int]) -> list[dev_tasks.PytestRun]:
    """Runs whose "pytest" is a tiny script that prints a closing line and exits with a given code."""
    monkeypatch.setattr(dev_tasks, "LOG_DIR", tmp_path)
    script = "import sys; print(sys.argv[1] + ' passed in 0.01s'); sys.exit(int(sys.argv[2]))"
    runs = [dev_tasks.PytestRun(label, ["-c", script, label, str(code)]) for label, code in codes.items()]
    monkeypatch.setattr(dev_tasks, "_tool", lambda name: sys.executable)
    monkeypatch.setattr(dev_tasks, "lint", lambda c: None)
    monkeypatch.setattr(dev_tasks, "pytest_runs", lambda k, fast: runs)
    return runs


def test_both_runs_print_their_log_and_one_summary_line_each(tmp_path, monkeypatch, capsys):
    _fake_runs(tmp_path, monkeypatch, {"uno": 0, "dos": 0})
    dev_tasks.test(invoke.Context())
    out = capsys.readouterr().out
    assert "uno passed in 0.01s" in out and "dos passed in 0.01s" in out
    assert "rb test: uno: bien · uno passed in 0.01s" in out
    assert "rb test: dos: bien · dos passed in 0.01s" in out


@pytest.mark.parametrize(("codes", "fails"), [
    ({"uno": 0, "dos": 1}, True),
    ({"uno": 2, "dos": 0}, True),
    ({"uno": 5, "dos": 0}, False),  # -k selected nothing in one run only
    ({"uno": 5, "dos": 5}, True),  # -k selected nothing at all
])
def test_the_exit_code_is_not_zero_if_either_run_fails(tmp_path, monkeypatch, capsys, codes, fails):
    _fake_runs(tmp_path, monkeypatch, codes)
    if fails:
        with pytest.raises(invoke.exceptions.Exit) as caught:
            dev_tasks.test(invoke.Context())
        assert caught.value.code == 1
        assert "FALLÓ" in capsys.readouterr().out or set(codes.values()) == {5}
    else:
        dev_tasks.test(invoke.Context())
