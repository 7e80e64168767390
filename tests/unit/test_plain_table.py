"""Tables printed as plain text (verify's report, deploy's recap) are the text rich's Table prints, byte for byte.

runbook/output/table.py lays the table out without rich's per-cell
machinery when no colour is printed; here both draw the same reports (random
words, long words, blank and multi-line cells, accents and symbols, narrow
and wide consoles) and must agree character for character. A console that
records its output always gets rich's own Table, the reference.
"""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console

from runbook.checks import Kind, Status
from runbook.output.table import plain_table, simple
from runbook.verify.report import HEADERS, TITLE, print_table
from runbook.verify.run import Report, Result

WORDS = ["haproxy", "keepalived", "198.51.100.150:80", "activo", "núcleo", "configuración", "⏎", "✗", "«sitio»",
         "·", "a", "", " ", "  ", "x" * 37, "/etc/sysctl.d/60-haproxy-nonlocal-bind.conf", "ñandú", "—", "(640",
         "root", "haproxy)", "y" * 130, "`198.51.100.150:11211`", "Configuration", "file", "is", "valid"]
STATUSES = [Status.PASSED, Status.FAILED, Status.ERROR, Status.SKIPPED]


def random_text(rng: random.Random, lines: int = 1) -> str:
    return "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 14))) for _ in range(lines))


def random_report(rng: random.Random) -> Report:
    results = []
    for _ in range(rng.randint(1, 12)):
        status = rng.choice(STATUSES)
        results.append(Result(
            check=rng.choice(["fichero-haproxy", "vip-unica", "c" * rng.randint(1, 70)]),
            title=random_text(rng) or "t",
            node=rng.choice(["hera", "afrodita", None, "n" * 33]),
            kind=Kind.STATE,
            status=status,
            detail=random_text(rng, rng.choice([1, 1, 2, 3])),
            step=None, step_title=None, link=None,
        ))
    return Report(site=rng.choice(["lab", "olimpo", "s" * 32]), results=results)


def both(report: Report, width: int, colour: str | None = None) -> tuple[str, str, bool]:
    """print_table on a console without (or with) colour, and rich's own Table (a recording console)."""
    fast, reference = io.StringIO(), io.StringIO()
    terminal = {"force_terminal": True} if colour else {}
    print_table(report, Console(file=fast, width=width, color_system=colour, **terminal))
    print_table(report, Console(file=reference, width=width, color_system=colour, record=True, **terminal))
    took = plain_table(Console(file=io.StringIO(), width=width, color_system=None), TITLE.format(site=report.site),
                       HEADERS, [[f"{r.title}\n{r.check}", r.where, r.status.check_word(), r.detail]
                                 for r in report.results]) is not None
    return fast.getvalue(), reference.getvalue(), took


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("colour", [None, "standard", "truecolor"])
def test_random_tables_are_the_same_text_at_any_width(seed, colour):
    rng = random.Random(seed)
    report = random_report(rng)
    taken = 0
    for width in (12, 20, 33, 40, 57, 80, 100, 119, 140, 181, 260):
        fast, reference, took = both(report, width, colour)
        assert fast == reference, (seed, width)
        assert ("\x1b[" in fast) == bool(colour)
        taken += took
    assert taken >= 5  # the plain path was really compared, not only rich against itself


def test_the_lab_report_of_a_healthy_cluster_is_the_same_text():
    import test_verify_unit as unit

    from runbook.data.load import LAB_SITE
    from runbook.plan.build import load_plan
    from runbook.verify import run

    plan = load_plan(LAB_SITE)
    registry = run.build_registry(plan, unit.SECRETS)
    facts = {n: unit.healthy_facts(plan, n) for n in plan.node_names}
    results = [Result(c.id, c.title, n, c.kind, *(lambda o: (o.status, o.detail))(c.evaluate(n, facts[n])),
                      c.step, None, None) for n in plan.node_names for c in registry.node_checks()]
    report = Report(site="lab", results=results)
    for width, colour in ((140, None), (200, None), (140, "256"), (171, "truecolor")):
        fast, reference, took = both(report, width, colour)
        assert took and fast == reference
        assert "│ La interfaz está levantada y tiene su dirección" in fast


@pytest.mark.parametrize("text", ["a\tb", "emoji 🎉", "e\u0301", "中文", "a\rb", "zero\u200bwidth", "\x1b[31mx"])
def test_text_rich_must_lay_out_takes_rich_s_path_and_prints_the_same(text):
    report = Report(site="lab", results=[Result("c", "Título", "hera", Kind.STATE, Status.FAILED, text,
                                                None, None, None)])
    assert not simple(text)
    fast, reference, took = both(report, 80)
    assert not took and fast == reference


def test_a_title_rich_would_read_as_markup_takes_rich_s_path():
    report = Report(site="[bold]x", results=[Result("c", "t", "hera", Kind.STATE, Status.PASSED, "d",
                                                    None, None, None)])
    fast, reference, took = both(report, 80)
    assert not took and fast == reference


def test_a_colour_console_gets_the_styles_of_rich_s_table():
    report = Report(site="lab", results=[Result("c", "t", "hera", Kind.STATE, Status.FAILED, "d", None, None, None)])
    fast, reference, _ = both(report, 80, "truecolor")
    assert fast == reference
    assert "\x1b[1;31mFALLA" in fast and "\x1b[2mc\x1b[0m" in fast and "\x1b[3m" in fast  # red, dim, italic


# ------------------------------------------------------------------ deploy's recap


def recap_both(result, width: int) -> tuple[str, str]:
    from runbook.deploy.report import print_recap

    fast, reference = io.StringIO(), io.StringIO()
    print_recap(Console(file=fast, width=width, color_system=None), result)
    print_recap(Console(file=reference, width=width, color_system=None, record=True), result)
    return fast.getvalue(), reference.getvalue()


@pytest.mark.parametrize("check", [False, True])
def test_deploy_recap_is_the_same_text_in_every_state_and_width(check):
    from runbook.deploy.outcome import ActionResult
    from runbook.deploy.result import DeployResult

    nodes = ["hera", "afrodita", "atenea", "apolo", "n" * 32]
    statuses = [Status.OK, Status.CHANGED, Status.FAILED, Status.SKIPPED]
    outcomes = [ActionResult(node, "paso", "run", "x", statuses[(i * 7 + j) % 4])
                for i, node in enumerate(nodes) for j in range(i * 40)]
    result = DeployResult(site="lab", check=check, nodes=nodes, outcomes=outcomes,
                          unreachable={"atenea": "sin ruta"}, failed_nodes={"hera": "x"},
                          stopped={"apolo": "y"}, errors=["hera · paso x: falló"])
    for width in (14, 25, 40, 61, 80, 140, 200):
        fast, reference = recap_both(result, width)
        assert fast == reference, width
    assert "inalcanzable" in fast and "detenido" in fast and "fallido" in fast


@pytest.mark.parametrize("seed", range(30))
def test_any_table_with_right_justified_columns_is_the_same_text(seed):
    from rich.table import Table
    from rich.text import Text

    rng = random.Random(1000 + seed)
    columns = rng.randint(1, 6)
    headers = [rng.choice(["nodo", "ok", "cambiado", "estado", "x" * 25, "Detalle de la comprobación"])
               for _ in range(columns)]
    justify = [rng.choice(["left", "right"]) for _ in range(columns)]
    rows = [[random_text(rng, rng.choice([1, 1, 2])) for _ in range(columns)] for _ in range(rng.randint(1, 6))]
    title = rng.choice(["Resumen por nodo", "Resumen por nodo (--check: no se ha cambiado nada)", "t" * 90])
    compared = 0
    for width in (10, 18, 30, 47, 80, 140, 220):
        console = Console(file=io.StringIO(), width=width, color_system=None)
        table = Table(title=title)
        for header, how in zip(headers, justify, strict=True):
            table.add_column(header, justify=how, overflow="fold")
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)
        plain = plain_table(Console(file=io.StringIO(), width=width, color_system=None), title, headers, rows,
                            justify)
        if plain is not None:
            assert plain + "\n" == console.file.getvalue(), (seed, width)
            compared += 1
    assert compared >= 4
