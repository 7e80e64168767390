"""`./rb test` forms the pytest command a user means (quoting included)."""

from __future__ import annotations

import shlex

import invoke

from runbook.cli import dev_tasks


def test_fast_keeps_the_marker_expression_one_argument():
    c = invoke.MockContext(run=invoke.Result(), repeat=True)  # records each command, runs nothing
    dev_tasks.test(c, fast=True, k="tampering and not backend")
    words = shlex.split(c.run.call_args_list[-1].args[0])
    assert words[0].endswith("pytest")
    assert words[1:] == ["-q", "-k", "tampering and not backend", "-m", "not lab and not browser"]
