"""verify's report: a Spanish table for people, JSON and JUnit XML for machines."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

from ..names import VERIFY_FORMATS
from ..output.table import plain_table
from ..output.terminal import Plain
from ..output.verbatim import emit
from ..vocabulary import CHECK_STATUSES, Status
from .run import Report, Result

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = VERIFY_FORMATS
DEPLOY_CANNOT = "deploy no puede arreglarlo"

_STYLE = {
    Status.PASSED: "green",
    Status.FAILED: "bold red",
    Status.ERROR: "bold magenta",
    Status.SKIPPED: "dim",
}


def summary_line(report: Report) -> str:
    parts = [f"{report.count(status)} {status.check_tally()}" for status in CHECK_STATUSES]
    return f"verify {report.site}: " + ", ".join(parts) + f" ({report.seconds:.2f} s)"


TITLE = "Verificación del sitio {site}"
HEADERS = ["Comprobación", "Nodo", "Resultado", "Detalle"]


def print_table(report: Report, console: Console | Plain) -> None:
    """The table (rich's on a terminal, our plain one elsewhere), each failure's lines, the summary."""
    if console.is_terminal:
        console.print(_table(report))
    else:
        rows = [[f"{r.title}\n  {r.check}", r.where, r.status.check_word(), r.detail] for r in report.results]
        emit(console, plain_table(TITLE.format(site=report.site), HEADERS, rows))
    failures = report.failures()
    # Below the table, data is printed whole and verbatim: details, links and diffs.
    if failures:
        emit(console)
        emit(console, ("Qué falla y dónde se explica", "bold"))
    for r in failures:
        style = _STYLE[r.status]
        emit(console, (f"✗ {r.where} · ", style), (r.title, style), f" ({r.check}): ", r.detail)
        if r.step:
            emit(console, "    paso «", r.step_title or r.step, "»: ", r.link or "")
        if r.outside and r.status == Status.FAILED:
            emit(console, f"    {DEPLOY_CANNOT}: ", r.outside)
        if r.diff:
            emit(console, "    diferencias (- en el nodo, + en el sitio):")
            for line in r.diff.splitlines():
                emit(console, "      ", line)
    for message in report.unreachable.values():
        emit(console, ("✗ ", "bold red"), (message, "bold red"))
    emit(console, (summary_line(report), "green" if report.exit_code == 0 else "bold red"))


def _table(report: Report):
    """rich's Table, for a terminal (only then imported): cells fold to its width, never cut."""
    from rich.table import Table
    from rich.text import Text

    title = Text(TITLE.format(site=report.site), style="table.title")  # text, not markup
    table = Table(title=title, show_lines=False, expand=False)
    for header in HEADERS:
        table.add_column(header, overflow="fold")
    for r in report.results:
        label = Text(r.title)
        label.append(f"\n{r.check}", style="dim")
        status = Text(r.status.check_word(), style=_STYLE[r.status])
        table.add_row(label, Text(r.where), status, Text(r.detail))
    return table


def to_json(report: Report) -> str:
    data = {
        "site": report.site,
        "exit_code": report.exit_code,
        "seconds": round(report.seconds, 3),
        "timings_s": report.timings,
        "summary": {s.value: report.count(s) for s in CHECK_STATUSES},
        "unreachable": report.unreachable,
        "results": [_result_json(r) for r in report.results],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def _result_json(r: Result) -> dict:
    return {
        "check": r.check,
        "title": r.title,
        "node": r.node,
        "kind": r.kind.spanish,
        "status": r.status.value,
        "result": r.status.check_word(),
        "detail": r.detail,
        "step": r.step,
        "step_title": r.step_title,
        "link": r.link,
        "diff": r.diff or None,
        "deploy_can_fix": r.outside is None,
        "outside": r.outside,
    }


def to_junit(report: Report) -> str:
    """JUnit XML as CI systems read it: one suite per node and one for the cluster."""
    import xml.etree.ElementTree as ET  # only for --format junit

    root = ET.Element("testsuites", name=f"runbook verify {report.site}")
    suites: dict[str, list[Result]] = {}
    for r in report.results:
        suites.setdefault(r.where, []).append(r)
    for where, results in suites.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"{report.site}.{where}",
            tests=str(len(results)),
            failures=str(sum(r.status == Status.FAILED for r in results)),
            errors=str(sum(r.status == Status.ERROR for r in results)),
            skipped=str(sum(r.status == Status.SKIPPED for r in results)),
        )
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=f"{report.site}.{where}", name=r.check)
            body = r.detail
            if r.step:
                body += f"\nPaso «{r.step_title or r.step}»: {r.link}"
            if r.diff:
                body += "\n" + r.diff
            if r.outside:
                body += f"\n{DEPLOY_CANNOT}: {r.outside}"
            if r.status == Status.FAILED:
                ET.SubElement(case, "failure", message=r.detail, type="fallo").text = body
            elif r.status == Status.ERROR:
                ET.SubElement(case, "error", message=r.detail, type="error").text = body
            elif r.status == Status.SKIPPED:
                ET.SubElement(case, "skipped", message=r.detail)
            else:
                ET.SubElement(case, "system-out").text = r.detail
    tests = len(report.results)
    root.set("tests", str(tests))
    root.set("failures", str(report.count(Status.FAILED)))
    root.set("errors", str(report.count(Status.ERROR)))
    root.set("skipped", str(report.count(Status.SKIPPED)))
    root.set("time", f"{report.seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return to_json(report)
    if fmt == "junit":
        return to_junit(report)
    buffer = io.StringIO()
    print_table(report, Plain(buffer))
    return buffer.getvalue()
