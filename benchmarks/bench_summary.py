"""One table of the project's costs and the failover drill's figures, on this machine.

Run as root from the repository, under the lab mutex (it recreates the lab):

    flock /run/lock/runbook-lab-dev.lock .venv/bin/python benchmarks/bench_summary.py
    flock /run/lock/runbook-lab-dev.lock .venv/bin/python benchmarks/bench_summary.py --save

Measures, in order: docs build (`mkdocs build --strict`), plan (`invoke plan`),
warm `lab.up`, first deploy, no-op deploy, verify, then `invoke drill
--scenario all` and, for the VRRP timer decision, node-crash and planned
with each timer variant (VRRPv3 sub-second adverts, deployed from a copy of
the data, then the default deployed back). Prints one table and the JSON;
results go to benchmarks/results/summary-<time>.json (gitignored) and, with
--save, to benchmarks/measured.json (committed: the site's "Resultados
medidos" page is built from it). The lab is left running, deployed with the
default data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_deploy import deploy_once
from bench_lab import timed
from bench_verify import cli_once, converge, in_process_once
from results_io import MEASURED, summary, write_results
from rich.console import Console
from rich.table import Table

from runbook import lab
from runbook.data.load import LAB_SITE, load_site
from runbook.plan.build import load_plan

REPO = Path(__file__).resolve().parents[1]
INVOKE = str(REPO / ".venv" / "bin" / "invoke")
# VRRP timer variants: the default (VRRPv2, advert_int 1) and VRRPv3 sub-second adverts.
VARIANTS = ((2, 1), (3, 0.5), (3, 0.2))
TIMER_SCENARIOS = ("node-crash", "planned", "planned-stop")
TIMER_KEYS = ("takeover_s", "vip_moved_s", "failed", "requests", "failed_after_restore",
              "longest_error_window_s", "verify_after")


def wall(argv: list[str], **kw) -> float:
    started = time.monotonic()
    subprocess.run(argv, cwd=REPO, check=True, capture_output=True, **kw)
    return round(time.monotonic() - started, 3)


def drill(scenarios: str, rate: int, duration: int, env: dict | None = None, repeat: int = 1) -> dict:
    argv = [INVOKE, "drill", "--scenario", scenarios, "--rate", str(rate), "--duration", str(duration),
            *(["--repeat", str(repeat)] if repeat > 1 else []), "--json"]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"drill falló (código {done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def variant_data(version: int, advert: float) -> Path:
    """A copy of site_data whose lab uses other VRRP timers."""
    target = Path(tempfile.mkdtemp(prefix="rb-timers-"))
    for f in (REPO / "site_data").glob("*.yaml"):
        shutil.copy(f, target)
    text = (target / "lab.yaml").read_text()
    text = text.replace("  advert_int: 1\n", f"  version: {version}\n  advert_int: {advert:g}\n")
    (target / "lab.yaml").write_text(text)
    return target


def deploy_with(env: dict | None) -> None:
    done = subprocess.run([INVOKE, "deploy"], cwd=REPO, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        why = done.stderr[-2000:] or done.stdout[-2000:]
        raise SystemExit(f"deploy falló (código {done.returncode}): {why}")


def timers(rate: int, duration: int) -> dict:
    """node-crash, planned and planned-stop with each VRRP timer variant, the default first."""
    variants = []
    for version, advert in VARIANTS:
        data = variant_data(version, advert) if (version, advert) != (2, 1) else None
        env = {**os.environ, "RUNBOOK_DATA_DIR": str(data)} if data else None
        try:
            if data:
                deploy_with(env)
            doc = drill(",".join(TIMER_SCENARIOS), rate, duration, env)
        finally:
            if data:
                shutil.rmtree(data, ignore_errors=True)
        got = {s["name"]: {k: s[k] for k in TIMER_KEYS} for s in doc["scenarios"]}
        label = f"VRRPv{version}, advert_int {advert:g}".replace(".", ",")
        if (version, advert) == (2, 1):
            label += " (por defecto)"
        variants.append({"label": label, "version": version, "advert_int": advert, **got})
    deploy_with(None)  # the default timers back
    converge()
    command = ("RUNBOOK_DATA_DIR=<copia de site_data con vrrp.version y vrrp.advert_int cambiados> "
               f"./rb deploy && ./rb drill --scenario {','.join(TIMER_SCENARIOS)} --rate {rate} "
               f"--duration {duration}")
    return {"when": now(), "command": command, "variants": variants}


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def saved_timers() -> dict:
    """The timer comparison of the committed results, to keep it when only the rest is measured again."""
    saved = json.loads(MEASURED.read_text())
    return {"when": saved["when"], **saved["timers"]}


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.machine())
    os_name = platform.freedesktop_os_release().get("PRETTY_NAME", "Linux")
    return {"description": f"{os_name}, {model}", "cpus": os.cpu_count(), "kernel": platform.release()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200, help="drill requests per second (default 200)")
    parser.add_argument("--duration", type=int, default=20, help="drill seconds per scenario (default 20)")
    parser.add_argument("--timer-duration", type=int, default=15,
                        help="drill seconds per scenario for each timer variant (default 15)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each timing (default 3)")
    parser.add_argument("--drill-repeat", type=int, default=3,
                        help="runs of each drill scenario; the page shows their median and range (default 3)")
    parser.add_argument("--no-timers", action="store_true", help="skip the VRRP timer variants")
    parser.add_argument("--reuse-timers", action="store_true",
                        help=f"skip the VRRP timer variants, keep those of {MEASURED.name} (with their date)")
    parser.add_argument("--save", action="store_true", help=f"also write {MEASURED.relative_to(REPO)}")
    opts = parser.parse_args()
    site = load_site(LAB_SITE)
    rows = []

    def row(key: str, label: str, values: list[float]) -> None:
        rows.append({"key": key, "label": label, "seconds": summary(values)["median"], "runs": values})

    row("plan", "Plan del sitio publicado (./rb plan)", [wall([INVOKE, "plan"]) for _ in range(opts.runs)])
    lab.down(site)
    row("lab_up_warm", "Arrancar el laboratorio (lab.up, base en caché)", [timed(lab.up, site)])
    first = deploy_once()
    row("first_deploy", "Primer despliegue (nodos recién creados)", [first["cli_wall_s"]])
    noop = [deploy_once() for _ in range(opts.runs)]
    row("noop_deploy", "Despliegue sin cambios (./rb deploy)", [r["cli_wall_s"] for r in noop])
    converge()
    plan = load_plan(LAB_SITE)
    row("verify_in_process", "verify completo (en proceso)",
        [in_process_once(plan)["in_process_s"] for _ in range(opts.runs)])
    row("verify_cli", "verify completo (./rb verify)", [cli_once()["cli_wall_s"] for _ in range(opts.runs)])
    drill_command = (f"./rb drill --scenario all --rate {opts.rate} --duration {opts.duration} "
                     f"--repeat {opts.drill_repeat} --json")
    load_before = os.getloadavg()[0]  # the machine is shared: say how busy it was
    doc = drill("all", opts.rate, opts.duration, repeat=opts.drill_repeat)
    result = {
        "when": now(),
        "machine": {**machine(), "load": [round(load_before, 2), round(os.getloadavg()[0], 2)]},
        "drill": {"command": drill_command, "doc": doc},
        "benchmarks": {"when": now(), "command": "flock /run/lock/runbook-lab-dev.lock .venv/bin/python "
                                  "benchmarks/bench_summary.py --save", "rows": rows},
    }
    saved = json.loads(MEASURED.read_text()) if MEASURED.is_file() else {}
    # Measured apart (benchmarks/bench_preemption.py, soak_summary.py, handover_summary.py; the figures
    # before HAProxy's backend settings, benchmarks/README.md), each with its own date: kept as they are.
    for kept in ("preemption", "before", "soak", "handover"):
        if kept in saved:
            result[kept] = saved[kept]
    if opts.reuse_timers:
        result["timers"] = saved_timers()
    elif not opts.no_timers:
        result["timers"] = timers(opts.rate, opts.timer_duration)
    if opts.save:  # the site is built from this file: write it before timing the build
        MEASURED.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    with tempfile.TemporaryDirectory() as out:
        mkdocs = [str(REPO / ".venv" / "bin" / "mkdocs"), "build", "--strict", "-q", "-d", out]
        row("docs_build", "Construir el sitio (mkdocs build --strict)",
            [wall(mkdocs) for _ in range(opts.runs)])
    print_summary(result)
    out = write_results("summary", result)
    if opts.save:
        MEASURED.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        out = MEASURED
    print(f"resultados: {out}", file=sys.stderr)


def print_summary(result: dict) -> None:
    table = Table(title="Resumen de medidas")
    table.add_column("Qué")
    table.add_column("Valor", justify="right")
    for r in result["benchmarks"]["rows"]:
        table.add_row(r["label"], f"{r['seconds']:.2f} s")
    for s in result["drill"]["doc"]["scenarios"]:
        takeover = "sin recuperar" if s["takeover_s"] is None else f"{s['takeover_s']:.2f} s"
        table.add_row(f"drill {s['name']}: fallidas / recuperación / verify",
                      f"{s['failed']}/{s['requests']} · {takeover} · {s['verify_after']}")
    for v in result.get("timers", {}).get("variants", []):
        crash = v["node-crash"]
        takeover = "sin recuperar" if crash["takeover_s"] is None else f"{crash['takeover_s']:.2f} s"
        table.add_row(f"node-crash con {v['label']}", f"{takeover} · {crash['failed']} fallidas")
    Console(stderr=True).print(table)
    doc = result["drill"]["doc"]
    brief = [{k: v for k, v in s.items() if k not in ("timeline", "vip_timeline")} for s in doc["scenarios"]]
    shown = {**result, "drill": {**result["drill"], "doc": {**doc, "scenarios": brief}}}
    print(json.dumps(shown, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
