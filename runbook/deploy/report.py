"""What a person sees: live progress per node, a line per action, the recap.

On a terminal a rich Live table shows each node's current step while the
action lines scroll above it; elsewhere (CI, pipes) only the lines are
printed. `--json` prints nothing until the final machine-readable document.
"""

from __future__ import annotations

import threading

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from .outcome import CHANGED, FAILED, OK, SKIPPED, SPANISH, STATUSES, Outcome
from .result import DeployResult
from .runner import Reporter

STYLE = {OK: "green", CHANGED: "yellow", FAILED: "bold red", SKIPPED: "cyan"}


class ConsoleReporter(Reporter):
    def __init__(self, console: Console, nodes: list[str], check: bool):
        self.console = console
        self.check = check
        self.nodes = nodes
        self.current = dict.fromkeys(nodes, "en espera")
        self.counts = {n: dict.fromkeys(STATUSES, 0) for n in nodes}
        self._lock = threading.Lock()
        self._live: Live | None = None

    def __enter__(self) -> ConsoleReporter:
        if self.console.is_terminal:
            self._live = Live(self._table(), console=self.console, refresh_per_second=8, transient=True)
            self._live.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.stop()

    def node_state(self, node: str, text: str) -> None:
        with self._lock:
            self.current[node] = text
            self._update()

    def outcome(self, outcome: Outcome) -> None:
        with self._lock:
            self.counts[outcome.node][outcome.status] += 1
            self.console.print(_line(outcome, self.check), highlight=False)
            if outcome.diff:
                self.console.print(Syntax(outcome.diff, "diff", theme="ansi_dark", word_wrap=True))
            self._update()

    def error(self, message: str) -> None:
        with self._lock:
            # soft_wrap: a message is one line, never cut or folded at the terminal's width.
            self.console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)

    def _update(self) -> None:
        if self._live is not None:
            self._live.update(self._table())

    def _table(self) -> Table:
        table = Table(title="Despliegue en curso" if not self.check else "Comprobación (--check)")
        table.add_column("nodo")
        table.add_column("ahora")
        for status in STATUSES:
            table.add_column(SPANISH[status], justify="right", style=STYLE[status])
        for node in self.nodes:
            table.add_row(node, escape(self.current[node]), *(str(self.counts[node][s]) for s in STATUSES))
        return table


def _line(o: Outcome, check: bool) -> str:
    status = SPANISH[o.status]
    if check and o.status == CHANGED:
        status = "cambiaría"
    target = o.target if len(o.target) <= 70 else o.target[:67] + "..."
    line = f"[bold]{o.node:<9}[/] {o.step:<14} [{STYLE[o.status]}]{status:<9}[/] {escape(target)}"
    if o.status != OK and o.message:
        line += f"\n{'':<25}[dim]{escape(o.message)}[/]"
    return line


def print_recap(console: Console, result: DeployResult) -> None:
    table = Table(title="Resumen por nodo" + (" (--check: no se ha cambiado nada)" if result.check else ""))
    table.add_column("nodo")
    for status in STATUSES:
        label = "cambiaría" if result.check and status == CHANGED else SPANISH[status]
        table.add_column(label, justify="right", style=STYLE[status])
    table.add_column("estado")
    recap = result.recap()
    for node in result.nodes:
        if node in result.unreachable:
            state = "[bold red]inalcanzable[/]"
        elif node in result.failed_nodes:
            state = "[bold red]fallido[/]"
        elif node in result.stopped:
            state = "[yellow]detenido[/]"
        elif any(p.node in (node, None) for p in result.remaining):
            state = "[yellow]completo, con problemas[/]"
        else:
            state = "[green]completo[/]"
        table.add_row(node, *(str(recap[node][s]) for s in STATUSES), state)
    console.print(table)
    for message in result.errors:
        console.print(f"[bold red]✗[/] {escape(message)}", highlight=False, soft_wrap=True)
    changed = sum(r[CHANGED] for r in recap.values())
    if result.check:
        summary = f"{changed} cambio(s) pendiente(s)" if changed else "todo está como dice el plan"
    elif result.remaining:
        outside = sum(not p.deploy_can_fix for p in result.remaining)
        summary = (f"{changed} cambio(s) aplicado(s)" if changed else "sin cambios") + (
            f"; quedan {len(result.remaining)} problema(s), {outside} que deploy no puede arreglar"
        )
    else:
        summary = f"{changed} cambio(s) aplicado(s)" if changed else "sin cambios: todo estaba según el plan"
    console.print(
        f"{summary} · {result.duration_s:.2f} s · transcripción: {result.transcript}", highlight=False,
        soft_wrap=True,
    )

