"""runbook/output/terminal.py decides what rich's Console decides and writes the bytes it writes.

verify's table and deploy's lines and recap are printed through a Terminal
so that those commands never import rich.console. Here every decision
(terminal or not, colour system, width, NO_COLOR) is compared with rich's
own Console over a matrix of environments, on a real pty, a pipe and a
buffer; and whole verify reports and deploy recaps printed through a
Terminal are compared byte for byte, escape codes included, with what rich
prints for them (rich's own Table: a recording console). Last, the real
import path of both commands is run in a fresh interpreter, which must end
without rich (rich.console above all) in sys.modules.
"""

from __future__ import annotations

import io
import itertools
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from sample_reports import deploy_result, failing_report, lab_report

from runbook.checks import Kind, Status
from runbook.deploy.report import ConsoleReporter, print_recap
from runbook.output.table import StyledTable
from runbook.output.terminal import Terminal
from runbook.output.verbatim import Line, emit
from runbook.verify.report import print_table
from runbook.verify.run import Report, Result

REPO = Path(__file__).resolve().parents[2]

ENV_CHOICES = {
    "NO_COLOR": [None, "", "1"],
    "FORCE_COLOR": [None, "", "1", "0"],
    "TTY_COMPATIBLE": [None, "", "0", "1"],
    "TERM": [None, "dumb", "unknown", "DUMB", "xterm", "xterm-256color", "screen-16color", "xterm-kitty", "linux",
             " Xterm-256Color "],
    "COLORTERM": [None, "truecolor", "24bit", " TrueColor ", "yes"],
    "COLUMNS": [None, "100", "37", "abc", "0", "260"],
    "LINES": [None, "30"],
}


def environments(count: int, seed: int = 0) -> list[dict[str, str]]:
    """`count` environments: each variable alone, then random combinations of all of them."""
    envs = [{}]
    for name, values in ENV_CHOICES.items():
        envs += [{name: value} for value in values if value is not None]
    rng = random.Random(seed)
    while len(envs) < count:
        env = {name: rng.choice(values) for name, values in ENV_CHOICES.items()}
        envs.append({name: value for name, value in env.items() if value is not None})
    return envs


class TtyBuffer(io.StringIO):
    """A buffer that says it is a terminal, as a pty does (output tests read it back whole)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def streams():
    """A real pty, a pipe and a plain buffer, as text files."""
    leader, follower = os.openpty()
    read_end, write_end = os.pipe()
    pty_file = os.fdopen(follower, "w", encoding="utf-8")
    pipe_file = os.fdopen(write_end, "w", encoding="utf-8")
    yield {"pty": pty_file, "pipe": pipe_file, "buffer": io.StringIO()}
    for closing in (pty_file, pipe_file):
        closing.close()
    os.close(leader)
    os.close(read_end)


def decisions(console) -> tuple:
    return console.is_terminal, console.color_system, console.width, console.no_color, console.is_dumb_terminal


def test_a_pty_is_a_terminal_and_a_pipe_is_not(streams):
    assert Terminal(file=streams["pty"], environ={}).is_terminal
    assert Terminal(file=streams["pty"], environ={"TERM": "xterm"}).color_system == "standard"
    assert not Terminal(file=streams["pipe"], environ={}).is_terminal
    assert Terminal(file=streams["pipe"], environ={}).color_system is None


@pytest.mark.parametrize("stream", ["pty", "pipe", "buffer"])
def test_every_decision_is_rich_s_in_every_environment(streams, stream):
    file = streams[stream]
    seen = set()
    for env in environments(700):
        for kwargs in ({}, {"width": 140}, {"force_terminal": False}, {"force_terminal": True},
                       {"color_system": None}, {"color_system": "256"}):
            ours = Terminal(file=file, environ=env, **kwargs)
            theirs = Console(file=file, _environ=env, **kwargs)
            assert decisions(ours) == decisions(theirs), (env, kwargs)
            seen.add(decisions(ours)[:2])
        # verify's console: rich's Console(width=max(Console().width, 140))
        ours = Terminal(file=file, environ=env, width=max(Terminal(file=file, environ=env).width, 140))
        theirs = Console(file=file, _environ=env, width=max(Console(file=file, _environ=env).width, 140))
        assert ours.width == theirs.width, env
    # The matrix reached every outcome: no terminal, and each colour system on a terminal.
    assert {(False, None), (True, None), (True, "standard"), (True, "256"), (True, "truecolor")} <= seen


def test_the_default_streams_are_rich_s(monkeypatch):
    for stderr in (False, True):
        for env in environments(60, seed=1):
            ours = Terminal(stderr=stderr, environ=env)
            theirs = Console(stderr=stderr, _environ=env)
            assert ours.file is theirs.file
            assert decisions(ours) == decisions(theirs), env


STYLES = ["green", "bold red", "bold magenta", "dim", "bold", "italic", "yellow", "cyan", "red", "",
          "table.title", "table.header", "table.header+dim", "green+dim", "bold red+dim", "dim+bold magenta",
          "table.header+green", "underline blue", "white black", "BOLD Red"]


@pytest.mark.parametrize("colour", [None, "standard", "256", "truecolor"])
@pytest.mark.parametrize("no_color", [False, True])
def test_styled_runs_are_rich_s_escape_codes(colour, no_color):
    env = {"NO_COLOR": "1"} if no_color else {}
    for names in STYLES:
        lines = [[("texto ", None), ("x [b]", names or None), ("", names or None), (" fin", None)]]
        ours = Terminal(file=TtyBuffer(), environ=env, color_system=colour).render(lines)
        reference = Console(file=TtyBuffer(), _environ=env, color_system=colour, width=200)
        reference.print(StyledTable(lines))
        assert ours == reference.file.getvalue(), names
        if colour and names in ("bold red", "table.header+green") and not no_color:
            assert "\x1b[" in ours


def test_a_style_it_does_not_know_is_left_to_rich():
    terminal = Terminal(file=TtyBuffer(), environ={}, color_system="truecolor")
    assert terminal.render([[("x", "#ff0000")]]) is None
    emit(terminal, ("rojo", "#ff0000"), " y [dato]")
    assert terminal.file.getvalue() == "\x1b[38;2;255;0;0mrojo\x1b[0m y [dato]\n"


def test_an_encoding_that_is_not_utf_is_left_to_rich():
    file = io.TextIOWrapper(io.BytesIO(), encoding="latin-1")
    terminal = Terminal(file=file, environ={}, width=60, force_terminal=False)
    assert not terminal.direct
    reference = Console(file=io.TextIOWrapper(io.BytesIO(), encoding="latin-1"), _environ={}, width=60,
                        force_terminal=False, record=True)
    report = Report(site="lab", results=[Result("c", "Título", "hera", Kind.STATE, Status.PASSED, "d",
                                                None, None, None)])
    for console in (terminal, reference):
        print_table(report, console)
        console.file.flush()
    assert terminal.file.buffer.getvalue() == reference.file.buffer.getvalue()
    assert b"+" in terminal.file.buffer.getvalue()  # rich's ASCII box, not the heavy one


# ------------------------------------------------------------------ whole reports


REPORTS = {"healthy": lab_report, "failing": failing_report}
OUTPUT_ENVS = [{}, {"NO_COLOR": "1"}, {"FORCE_COLOR": "1"}, {"FORCE_COLOR": "1", "TERM": "xterm-256color"},
               {"FORCE_COLOR": "1", "COLORTERM": "truecolor"}, {"TTY_COMPATIBLE": "1", "NO_COLOR": "1"},
               {"TERM": "dumb"}, {"TERM": "xterm-kitty"}, {"COLUMNS": "90"}, {"COLUMNS": "200", "LINES": "40"},
               {"TTY_COMPATIBLE": "0"}, {"FORCE_COLOR": ""}, {"COLORTERM": "24bit", "COLUMNS": "160"}]


@pytest.mark.parametrize("which", sorted(REPORTS))
@pytest.mark.parametrize("tty", [False, True])
def test_verify_report_prints_rich_s_bytes_in_every_environment(which, tty):
    report = REPORTS[which]()
    colours = set()
    for env in OUTPUT_ENVS:
        buffer = TtyBuffer if tty else io.StringIO
        ours = Terminal(file=buffer(), environ=env, width=max(Terminal(file=buffer(), environ=env).width, 140))
        theirs = Console(file=buffer(), _environ=env, width=max(Console(file=buffer(), _environ=env).width, 140),
                         record=True)  # rich's own Table
        print_table(report, ours)
        print_table(report, theirs)
        assert ours.file.getvalue() == theirs.file.getvalue(), env
        colours.add(ours.color_system)
        assert ("\x1b[" in ours.file.getvalue()) == (ours.color_system is not None)
    assert colours == {None, "standard", "256", "truecolor"}  # FORCE_COLOR makes a terminal of any file


@pytest.mark.parametrize("check", [False, True])
def test_deploy_lines_and_recap_print_rich_s_bytes_off_a_terminal(check):
    outcomes, result = deploy_result(check)
    compared = 0
    for env in OUTPUT_ENVS:
        ours = Terminal(file=io.StringIO(), environ=env)
        theirs = Console(file=io.StringIO(), _environ=env, record=True)
        if ours.is_terminal:  # deploy keeps rich's Console (and its Live display) on a terminal
            continue
        for console in (ours, theirs):
            emit(console, ("Desplegando el sitio lab", "bold"), " (Laboratorio [x])")
            with ConsoleReporter(console, result.nodes, check) as reporter:
                for outcome in outcomes:
                    reporter.outcome(outcome)
                reporter.error("hera · paso [/]: falló")
            print_recap(console, result)
        assert ours.file.getvalue() == theirs.file.getvalue(), env
        compared += 1
    assert compared >= 8
    assert "Resumen por nodo" in ours.file.getvalue() and "+nuevo\n" in ours.file.getvalue()


def test_a_line_through_a_terminal_is_the_line_rich_prints():
    for colour, env in itertools.product([None, "standard", "truecolor"], [{}, {"NO_COLOR": "x"}]):
        line = Line(("✗ hera · ", "bold red"), ("[bold]título", "bold red"), " (c): ", "\tdato\x1b[31m", ("", "dim"))
        ours = Terminal(file=TtyBuffer(), environ=env, color_system=colour, width=10)
        theirs = Console(file=TtyBuffer(), _environ=env, color_system=colour, width=10)
        emit(ours, *line.parts)
        theirs.print(line, soft_wrap=True)
        assert ours.file.getvalue() == theirs.file.getvalue()


# ------------------------------------------------------------------ the commands' import path


SCRIPT = """
import io, sys
sys.path.insert(0, "tests/unit")
from pathlib import Path
from runbook.cli import verify_tasks, deploy_tasks  # the tasks, as ./rb loads them
from runbook.verify import print_table, render, table_console
from runbook.deploy.report import ConsoleReporter, deploy_console, print_recap
from runbook.output.verbatim import emit
from sample_reports import deploy_result, failing_report, lab_report

what = sys.argv[1]
if what == "verify":
    report = lab_report()
    print_table(report, table_console())
    print_table(failing_report(), table_console())
    for fmt in ("json", "junit"):
        render(report, fmt)
else:
    outcomes, result = deploy_result(False)
    console = deploy_console(stderr=False)
    emit(console, ("Desplegando el sitio lab", "bold"), " (Laboratorio)")
    with ConsoleReporter(console, result.nodes, False) as reporter:
        for outcome in outcomes:
            reporter.outcome(outcome)
    print_recap(console, result)
sys.stdout.flush()
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] == "rich")) or "-", file=sys.stderr)
"""


@pytest.mark.parametrize(("what", "env"), [
    ("verify", {}), ("verify", {"FORCE_COLOR": "1", "TERM": "xterm-256color"}), ("verify", {"NO_COLOR": "1"}),
    ("deploy", {}), ("deploy", {"NO_COLOR": "1"}),  # on a terminal deploy's Live display is rich's
])
def test_the_commands_print_without_importing_rich(what, env):
    clean = {k: v for k, v in os.environ.items() if k not in ENV_CHOICES}
    run = subprocess.run([sys.executable, "-c", SCRIPT, what], cwd=REPO, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, env={**clean, "COLUMNS": "150", **env}, check=True)
    assert run.stderr.strip().splitlines()[-1] == "-"  # no module of rich at all, rich.console above all
    # The same bytes as rich prints under the same environment.
    full_env = {**clean, "COLUMNS": "150", **env}
    buffer = io.StringIO()
    if what == "verify":
        width = max(Console(file=io.StringIO(), _environ=full_env).width, 140)
        for report in (lab_report(), failing_report()):
            print_table(report, Console(file=buffer, _environ=full_env, width=width, record=True))
    else:
        outcomes, result = deploy_result(False)
        console = Console(file=buffer, _environ=full_env, record=True)
        emit(console, ("Desplegando el sitio lab", "bold"), " (Laboratorio)")
        with ConsoleReporter(console, result.nodes, False) as reporter:
            for outcome in outcomes:
                reporter.outcome(outcome)
        print_recap(console, result)
    assert run.stdout == buffer.getvalue()
    assert ("\x1b[" in run.stdout) == bool(env.get("FORCE_COLOR"))
