"""`./rb test` forms the pytest commands a user means (quoting included), and reports both runs."""

from __future__ import annotations

import shlex
import sys

import invoke
import pytest

from runbook.cli import dev_tasks


def test_fast_keeps_the_marker_expression_one_argument():
    c = invoke.MockContext(run=invoke.Result(), repeat=True)  # records each command, runs nothing
    dev_tasks.test(c, fast=True, k="tampering and not backend")
    words = shlex.split(c.run.call_args_list[-1].args[0])
    assert words[0].endswith("pytest")
    assert words[1:] == ["-q", "-k", "tampering and not backend", "-m", "not lab and not browser", "-n", "2"]


def test_the_whole_suite_is_two_runs_that_split_every_test_by_the_lab_marker():
    rest, lab = dev_tasks.pytest_runs(k="deploy")
    assert rest.args == ["-q", "-k", "deploy", "-m", "not lab", "-n", "2"]
    assert lab.args[:5] == ["-q", "-k", "deploy", "-m", "lab"]  # one lab: its tests one at a time
    assert "--durations=25" in lab.args  # the slowest lab tests are named in the log
    assert rest.log != lab.log


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
