"""Project tasks: the main job (demo), tests and lint."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from invoke.exceptions import Exit

from .errors import task

VENV_BIN = os.path.dirname(sys.executable)
LOG_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"
# The tests that need no lab spread over the cores (pytest-xdist): CI has two.
XDIST = ["-n", "2"]
# What a test may need beyond Python, one pytest marker each (pyproject.toml,
# tests/conftest.py): `--fast` runs only the tests that need none of them.
NEEDS = ("lab", "browser", "root", "validators")


def _tool(name: str) -> str:
    return os.path.join(VENV_BIN, name)


@task
def lint(c):
    """ruff sobre todo el proyecto."""
    c.run(f"{_tool('ruff')} check runbook tests tasks.py benchmarks", pty=False)


@dataclass(frozen=True)
class PytestRun:
    """One pytest process of `./rb test`: what it is called and its arguments."""

    label: str
    args: list[str]

    @property
    def argv(self) -> list[str]:
        return [_tool("pytest"), *self.args]

    @property
    def log(self) -> Path:
        return LOG_DIR / f"pytest-{self.label.replace(' ', '-')}.log"


def pytest_runs(k: str | None = None, fast: bool = False) -> list[PytestRun]:
    """The pytest processes `./rb test` starts: the tests that need no lab, and the lab's.

    The lab's tests mostly wait on daemons (VRRP, deploys over SSH) and share
    one lab, so they run one at a time in one process while the others run
    beside them over the cores. Split by marker, not by folder: every test
    runs exactly once wherever its file lives. `fast`: one run of the tests
    that need nothing but Python (no NEEDS marker), a quick local check.
    """
    common = ["-q", *(["-k", k] if k else [])]
    if fast:
        return [PytestRun("rapidos", [*common, "-m", " and ".join(f"not {n}" for n in NEEDS), *XDIST])]
    return [PytestRun("sin-laboratorio", [*common, "-m", "not lab", *XDIST]),
            # The slowest lab tests in the log: the lab part is the suite's critical path.
            PytestRun("laboratorio", [*common, "-m", "lab", "--durations=25"])]


# pytest's closing line, with -q or without: "700 passed, 2 skipped in 300.12s (0:05:00)".
_SUMMARY_RE = re.compile(r"^=* ?((?:\d+ \w+|no tests ran)\b.* in [0-9.]+s\b.*?) ?=*$", re.M)
NO_TESTS = 5  # pytest's exit code when the selection (-k, -m) left no test in a run


def summary_line(log: str) -> str:
    """pytest's closing summary line, or the log's last line."""
    found = _SUMMARY_RE.findall(log)
    if found:
        return found[-1]
    lines = [line for line in log.splitlines() if line.strip()]
    return lines[-1] if lines else "(sin salida)"


def run_concurrently(runs: list[PytestRun]) -> list[tuple[PytestRun, int, str, float]]:
    """Start every run at once, each writing to its own log; print each log whole as its run ends."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    procs = []
    for run in runs:
        out = run.log.open("w", encoding="utf-8")
        procs.append((run, subprocess.Popen(run.argv, stdout=out, stderr=subprocess.STDOUT), out))
        print(f"rb test: {run.label} en marcha: {shlex.join(run.argv)} (registro en {run.log})", flush=True)
    done = []
    pending = list(procs)
    while pending:
        for item in list(pending):
            run, proc, out = item
            if proc.poll() is None:
                continue
            pending.remove(item)
            out.close()
            log = run.log.read_text(encoding="utf-8", errors="replace")
            print(f"\n{'=' * 30} {run.label} {'=' * 30}\n{log}", flush=True)
            done.append((run, proc.returncode, log, time.monotonic() - started))
        time.sleep(0.5)
    return sorted(done, key=lambda d: runs.index(d[0]))


@task(help={"k": "solo los tests cuyo nombre coincida (pytest -k)",
            "fast": "solo los que no necesitan laboratorio, navegador, root ni haproxy/keepalived/nginx"})
def test(c, k=None, fast=False):
    """Todos los tests: lint, modelos, plantillas, sitio, navegador y laboratorio."""
    lint(c)
    runs = pytest_runs(k, fast)
    if fast:
        c.run(shlex.join(runs[0].argv), pty=False)  # "-m 'not lab and not browser ...'" stays one word
        return
    results = run_concurrently(runs)
    codes = [code for _, code, _, _ in results]
    # A -k that selects tests of only one run leaves the other empty: not a failure,
    # unless it selects nothing at all.
    failed = [c for c in codes if c not in (0, NO_TESTS)] or (codes if set(codes) == {NO_TESTS} else [])
    print()
    for run, code, log, elapsed in results:
        verdict = {0: "bien", NO_TESTS: "ningún test seleccionado"}.get(code, f"FALLÓ (código {code})")
        print(f"rb test: {run.label}: {verdict} · {summary_line(log)} · {elapsed:.0f} s", flush=True)
    if failed:
        raise Exit(code=1)


@task
def demo(c):
    """El trabajo principal: sitio, laboratorio, despliegue, verificación y la IP virtual respondiendo."""
    from rich.console import Console

    from . import deploy_tasks, docs_tasks, lab_tasks, verify_tasks

    console = Console()
    console.rule("1/5 · Sitio (mkdocs build --strict)")
    docs_tasks.build(c)
    console.rule("2/5 · Laboratorio")
    lab_tasks.up(c)
    console.rule("3/5 · Despliegue en el laboratorio")
    deploy_tasks.deploy(c)
    console.rule("4/5 · Verificación")
    verify_tasks.verify(c)
    console.rule("5/5 · La IP virtual responde")
    _show_vip_answering(console)


def _show_vip_answering(console) -> None:
    """Requests through the VIP from the lab's client, one per client address, and who answered.

    The same requests verify makes (a browser's for Horizon: the redirect to
    the login page is followed; memcached's `get` of the key naming its server).
    """
    from ..data.load import LAB_SITE, load_site
    from ..verify.gather import gather_client

    site = load_site(LAB_SITE)
    client = gather_client(site)
    if not client.available:
        console.print(f"  (sin respuesta del cliente del laboratorio: {client.reason})")
        return
    shown = {str(a) for a in site.lab.client.addresses[:4]}
    for svc in site.services:
        seen = set()
        for answer in client.services.get(svc.name, []):
            if answer["source"] not in shown or answer["source"] in seen:
                continue
            seen.add(answer["source"])
            error = f"({answer['error']})" if answer.get("error") else ""
            what = " ".join(x for x in (answer.get("answer", ""), error) if x) or "(sin respuesta)"
            who = answer.get("backend") or "?"
            console.print(f"  {svc.name} {answer['source']} → {site.vip}:{svc.port}: {what} · atendió {who}",
                          highlight=False, markup=False)
    console.print("\nSitio en [bold]site/index.html[/]; el laboratorio sigue en marcha.")
    console.print("Apágalo con [bold]./rb lab.down[/].")
