"""What a person sees: live progress per node, a line per action, the recap.

On a terminal a rich Live table shows each node's current step while the
action lines scroll above it; elsewhere (CI, pipes) only the lines are
printed, and the recap is our plain table (output/table.py) without rich.
`--json` prints nothing until the final machine-readable document.
Targets (commands, paths), messages and diffs are data: they are printed
verbatim and whole, never through markup, never cut (output/verbatim.py).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..output.table import plain_table
from ..output.terminal import Plain
from ..output.verbatim import Line, emit, show
from ..vocabulary import ACTION_STATUSES, Status
from .outcome import ActionResult
from .result import DeployResult
from .runner import Reporter

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

STYLE = {Status.OK: "green", Status.CHANGED: "yellow", Status.FAILED: "bold red", Status.SKIPPED: "cyan"}


class ConsoleReporter(Reporter):
    def __init__(self, console: Console | Plain, nodes: list[str], check: bool):
        self.console = console
        self.check = check
        self.nodes = nodes
        self.current = dict.fromkeys(nodes, "en espera")
        self.counts = {n: dict.fromkeys(ACTION_STATUSES, 0) for n in nodes}
        self._lock = threading.Lock()
        self._live: Live | None = None

    def __enter__(self) -> ConsoleReporter:
        if self.console.is_terminal:
            from rich.live import Live  # only on a terminal

            self._live = Live(self._table(), console=self.console, refresh_per_second=8,
                              transient=True)
            self._live.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.stop()

    def node_state(self, node: str, text: str) -> None:
        with self._lock:
            self.current[node] = text
            self._update()

    def outcome(self, outcome: ActionResult) -> None:
        with self._lock:
            self.counts[outcome.node][outcome.status] += 1
            for line in _lines(outcome, self.check):
                show(self.console, line)
            if outcome.diff:
                for line in outcome.diff.splitlines():
                    show(self.console, Line((line, _diff_style(line))))
            self._update()

    def error(self, message: str) -> None:
        with self._lock:
            emit(self.console, ("error:", "bold red"), " ", message)

    def _update(self) -> None:
        if self._live is not None:
            self._live.update(self._table())

    def _table(self) -> Table:
        from rich.table import Table

        table = Table(title="Despliegue en curso" if not self.check else "Comprobación (--check)")
        table.add_column("nodo", overflow="fold")
        table.add_column("ahora", overflow="fold")  # a long command folds, it is never cut
        for status in ACTION_STATUSES:
            table.add_column(status.action_word(), justify="right", style=STYLE[status], overflow="fold")
        for node in self.nodes:
            counts = (str(self.counts[node][s]) for s in ACTION_STATUSES)
            table.add_row(node, _text(self.current[node]), *counts)
        return table


def _lines(o: ActionResult, check: bool) -> list[Line]:
    status = o.status.action_word(dry_run=check)
    status_part = (f"{status:<9}", STYLE[o.status])
    lines = [Line((f"{o.node:<9}", "bold"), f" {o.step:<14} ", status_part, " ", o.target)]
    if o.status is not Status.OK and o.message:
        lines.append(Line(f"{'':<25}", (o.message, "dim")))
    return lines


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    return {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")


RECAP_STATES = {  # the recap's last column: (word, style)
    "unreachable": ("inalcanzable", "bold red"),
    "failed": ("fallido", "bold red"),
    "stopped": ("detenido", "yellow"),
    "problems": ("completo, con problemas", "yellow"),
    "complete": ("completo", "green"),
}


def _text(text: str, style: str = ""):
    from rich.text import Text

    return Text(text, style=style)


def _recap_state(result: DeployResult, node: str) -> str:
    if node in result.unreachable:
        return "unreachable"
    if node in result.failed_nodes:
        return "failed"
    if node in result.stopped:
        return "stopped"
    if any(p.node in (node, None) for p in result.remaining):
        return "problems"
    return "complete"


def print_recap(console: Console | Plain, result: DeployResult) -> None:
    title = "Resumen por nodo" + (" (--check: no se ha cambiado nada)" if result.check else "")
    labels = [status.action_word(dry_run=result.check) for status in ACTION_STATUSES]
    recap = result.recap()
    rows = [[node, *(str(recap[node][s.value]) for s in ACTION_STATUSES),
             RECAP_STATES[_recap_state(result, node)][0]] for node in result.nodes]
    if console.is_terminal:
        from rich.table import Table

        table = Table(title=_text(title, "table.title"))
        table.add_column("nodo", overflow="fold")  # narrow terminals fold cells; nothing is cut
        for status, label in zip(ACTION_STATUSES, labels, strict=True):
            table.add_column(label, justify="right", style=STYLE[status], overflow="fold")
        table.add_column("estado", overflow="fold")
        for node, row in zip(result.nodes, rows, strict=True):
            table.add_row(_text(node), *row[1:-1], _text(*RECAP_STATES[_recap_state(result, node)]))
        console.print(table)
    else:
        emit(console, plain_table(title, ["nodo", *labels, "estado"], rows, right=range(1, len(labels) + 1)))
    for message in result.errors:
        emit(console, ("✗", "bold red"), " ", message)
    changed = sum(r[Status.CHANGED.value] for r in recap.values())
    # A node deploy never finished has not been compared with the plan: never "todo … plan".
    unfinished = [n for n in result.nodes if _recap_state(result, n) in ("unreachable", "failed", "stopped")]
    if unfinished:
        done = "pendiente(s)" if result.check else "aplicado(s)"
        summary = (f"{changed} cambio(s) {done}" if changed else "sin cambios") + (
            f"; sin terminar en {len(unfinished)} nodo(s): {', '.join(unfinished)}"
        )
    elif result.check:
        summary = f"{changed} cambio(s) pendiente(s)" if changed else "todo está como dice el plan"
    elif result.remaining:
        outside = sum(not p.deploy_can_fix for p in result.remaining)
        summary = (f"{changed} cambio(s) aplicado(s)" if changed else "sin cambios") + (
            f"; quedan {len(result.remaining)} problema(s), {outside} que deploy no puede arreglar"
        )
    else:
        summary = f"{changed} cambio(s) aplicado(s)" if changed else "sin cambios: todo estaba según el plan"
    emit(console, f"{summary} · {result.duration_s:.2f} s · transcripción: {result.transcript}")

