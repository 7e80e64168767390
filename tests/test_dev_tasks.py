"""`./rb test` forms the pytest command a user means (quoting included)."""

from __future__ import annotations

import shlex

import invoke

from runbook.cli import dev_tasks


class Recorder(invoke.Context):
    def __init__(self):
        super().__init__()
        self.commands: list[str] = []

    def run(self, command, **kwargs):
        self.commands.append(command)
        return invoke.Result(command=command, exited=0)


def test_fast_keeps_the_marker_expression_one_argument():
    c = Recorder()
    dev_tasks.test(c, fast=True, k="tampering and not backend")
    words = shlex.split(c.commands[-1])
    assert words[0].endswith("pytest")
    assert words[1:] == ["-q", "-k", "tampering and not backend", "-m", "not lab and not browser"]
