"""What verify's report and deploy's recap look like off a terminal (our plain table) and on one (rich's).

Off a terminal (a pipe, a file, a CI log, `verify --output`) the table is
our own plain layout, without escape codes; on a terminal (or FORCE_COLOR)
it is rich's Table, in colour unless NO_COLOR says otherwise. Either way
every command, path and detail reaches the reader whole, at any COLUMNS.
"""

from __future__ import annotations

import io
import os
import re

import pytest
from rich.console import Console
from sample_reports import LONG, deploy_result, failing_report, lab_report

from runbook.checks import Kind, Status
from runbook.deploy.report import print_recap
from runbook.output.table import plain_table
from runbook.output.terminal import Plain, choose_console
from runbook.verify import render, summary_line
from runbook.verify.report import print_table
from runbook.verify.run import Report, Result

ANSI = re.compile(r"\x1b\[([0-9;]*)m")


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    """No variable of the caller's shell decides for these tests; each sets its own."""
    for name in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "COLUMNS", "LINES", "COLORTERM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def colour_codes(text: str) -> set[str]:
    """The colour parameters of the escape codes in `text` (bold, dim, italic are not colour)."""
    params = {p for codes in ANSI.findall(text) for p in codes.split(";")}
    return {p for p in params if p.isdigit() and (30 <= int(p) <= 49 or 90 <= int(p) <= 107)}


def printed(console_file: io.StringIO, report: Report) -> str:
    print_table(report, choose_console(console_file))
    return console_file.getvalue()


# ------------------------------------------------------------------ where the output goes


def test_a_pipe_gets_plain_output_and_a_pty_gets_rich(monkeypatch):
    read_end, write_end = os.pipe()
    leader, follower = os.openpty()
    with os.fdopen(write_end, "w") as pipe, os.fdopen(follower, "w") as pty:
        assert isinstance(choose_console(pipe), Plain)
        assert isinstance(choose_console(pty), Console)
        monkeypatch.setenv("FORCE_COLOR", "1")  # CI logs that show colour ask for the terminal's output
        assert isinstance(choose_console(pipe), Console)
        monkeypatch.setenv("FORCE_COLOR", "")  # empty: not set
        assert isinstance(choose_console(pipe), Plain)
    os.close(read_end)
    os.close(leader)


# ------------------------------------------------------------------ verify in a pipe


def small_report() -> Report:
    return Report(site="lab", results=[
        Result("fichero-haproxy", "El fichero [/] es el del sitio", "hera", Kind.DOCUMENTED, Status.FAILED,
               "difiere\tdel [bold]sitio", "haproxy", "Configurar HAProxy", "site/x.html#haproxy", None),
        Result("vip-unica", "La VIP está en un solo nodo", None, Kind.CLUSTER, Status.PASSED,
               "198.51.100.150 solo está en hera\ny en ningún otro", None, None, None),
        Result("killall", "killall instalado", "afrodita", Kind.STATE, Status.SKIPPED, "", None, None, None),
    ], seconds=0.25)


def test_verify_in_a_pipe_prints_our_plain_table_then_the_failures():
    text = printed(io.StringIO(), small_report())
    assert text == (
        "Verificación del sitio lab\n"
        "\n"
        "Comprobación                    Nodo      Resultado  Detalle\n"
        "------------------------------  --------  ---------  -------\n"
        "El fichero [/] es el del sitio  hera      FALLA      difiere\tdel [bold]sitio\n"
        "  fichero-haproxy\n"
        "La VIP está en un solo nodo     clúster   correcta   198.51.100.150 solo está en hera\n"
        "  vip-unica                                          y en ningún otro\n"
        "killall instalado               afrodita  omitida\n"
        "  killall\n"
        "\n"
        "Qué falla y dónde se explica\n"
        "✗ hera · El fichero [/] es el del sitio (fichero-haproxy): difiere\tdel [bold]sitio\n"
        "    paso «Configurar HAProxy»: site/x.html#haproxy\n"
        "verify lab: 1 correctas, 1 fallan, 0 con error, 1 omitidas (0.25 s)\n"
    )


@pytest.mark.parametrize("make", [lab_report, failing_report])
def test_every_row_and_every_detail_is_in_the_plain_table_whole(make):
    report = make()
    text = printed(io.StringIO(), report)
    assert "\x1b" not in text
    lines = text.splitlines()
    row = 0
    for r in report.results:  # in order: the same title may come once per node
        first, *more = r.detail.split("\n")
        row = next(i for i in range(row, len(lines)) if lines[i].startswith(r.title + "  "))
        assert re.search(rf"  {re.escape(r.where)} +{re.escape(r.status.check_word())} +{re.escape(first)}$",
                         lines[row])
        assert lines[row + 1].startswith(f"  {r.check}")
        for depth, rest in enumerate(more, start=1):
            assert lines[row + depth].endswith("  " + rest)
    assert lines[-1] == summary_line(report)


@pytest.mark.parametrize("columns", ["20", "40", "80", "140", "300"])
def test_a_long_command_in_a_pipe_is_never_cut_whatever_the_columns(monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    text = printed(io.StringIO(), failing_report())
    assert text == render(failing_report(), "table")  # the same as `verify --output`
    assert "El fichero [/] está como dice el sitio  hera      FALLA      se esperaba: `[a-z]` " + LONG + "\n" in text
    assert "(fichero-haproxy): se esperaba: `[a-z]` " + LONG + "\n" in text
    assert "      -[red]viejo[/red] " + LONG + "\n" in text
    assert "…" not in text


def test_verify_output_file_has_no_escape_codes_even_when_colour_is_forced(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    text = render(failing_report(), "table")
    assert "\x1b" not in text and text.startswith("Verificación del sitio lab\n\nComprobación  ")


# ------------------------------------------------------------------ verify on a terminal


def last_column(text: str) -> str:
    """The text of the table's last column (rich's box), its lines joined without their padding."""
    cells = [line.split("│")[-2] for line in ANSI.sub("", text).splitlines() if line.startswith("│")]
    return "".join(cell.strip() for cell in cells)


def test_verify_on_a_forced_terminal_is_rich_s_table_in_colour(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    text = printed(io.StringIO(), failing_report())
    assert "┏" in text and "┃" in text  # rich's box
    assert "\x1b[1;31mFALLA" in text  # bold red
    assert colour_codes(text)
    plain = ANSI.sub("", text)
    assert "✗ hera · El fichero [/] está como dice el sitio (fichero-haproxy): se esperaba: `[a-z]` " + LONG in plain
    assert "\nverify lab: 1 correctas, 2 fallan, 1 con error, 1 omitidas (1.50 s)\n" in plain


def test_no_color_is_honoured_on_a_forced_terminal(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    text = printed(io.StringIO(), failing_report())
    assert "┏" in text and colour_codes(text) == set()
    monkeypatch.delenv("FORCE_COLOR")
    assert "\x1b" not in printed(io.StringIO(), failing_report())  # and nothing at all in a pipe


@pytest.mark.parametrize("columns", ["20", "40", "80", "140", "300"])
def test_a_long_command_on_a_terminal_folds_in_its_cell_and_is_whole_below(monkeypatch, columns):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", columns)
    report = Report(site="lab", results=[Result("c", "t", "hera", Kind.STATE, Status.FAILED, LONG, None, None,
                                                None, "--- a\n+++ b\n-" + LONG + "\n")])
    text = printed(io.StringIO(), report)
    assert "".join(LONG.split()) in "".join(last_column(text).split())  # folded, never cut
    plain = ANSI.sub("", text)
    assert "✗ hera · t (c): " + LONG + "\n" in plain and "      -" + LONG + "\n" in plain
    assert "…" not in plain


# ------------------------------------------------------------------ deploy's recap


@pytest.mark.parametrize("check", [False, True])
def test_deploy_recap_in_a_pipe_is_our_plain_table(check):
    _, result = deploy_result(check)
    console = Plain(io.StringIO())
    print_recap(console, result)
    changed = "cambiaría" if check else "cambiado"
    title = "Resumen por nodo (--check: no se ha cambiado nada)" if check else "Resumen por nodo"
    summary = "1 cambio(s) pendiente(s)" if check else "1 cambio(s) aplicado(s)"
    assert console.file.getvalue() == (
        f"{title}\n"
        "\n"
        f"nodo      ok  {changed}  fallido  omitido  estado\n"
        f"--------  --  {'-' * len(changed)}  -------  -------  ------\n"
        f"hera       8  {'1'.rjust(len(changed))}        0        0  completo\n"
        f"afrodita   8  {'0'.rjust(len(changed))}        0        0  completo\n"
        f"{summary} · 0.24 s · transcripción: runs/x.jsonl\n"
    )


def test_deploy_recap_on_a_forced_terminal_is_rich_s_table(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    _, result = deploy_result(False)
    console = choose_console(io.StringIO())
    print_recap(console, result)
    text = console.file.getvalue()
    assert "┏" in text and "\x1b[32mcompleto" in text
    assert "Resumen por nodo" in ANSI.sub("", text)


# ------------------------------------------------------------------ the layout itself


def test_plain_table_pads_columns_aligns_right_and_leaves_no_trailing_space():
    text = plain_table("T", ["a", "n", "último"], [["uno\ndos", "7", ""], ["x", "12", "a [b]\tc"], ["", "", ""]],
                       right=[1])
    assert text == (
        "T\n"
        "\n"
        "a     n  último\n"
        "---  --  ------\n"
        "uno   7\n"
        "dos\n"
        "x    12  a [b]\tc\n"
        ""
    )
