"""How long the everyday commands take as a user waits for them: `./rb` whole, start-up included.

Run as root from the repository, under the lab mutex (it uses the lab):

    flock /run/lock/runbook-lab-dev.lock .venv/bin/python benchmarks/bench_cli.py           # best of 3
    flock /run/lock/runbook-lab-dev.lock .venv/bin/python benchmarks/bench_cli.py --runs 5 --json

Timed, each the best of N wall times (the machine is shared: the best run is
the one least disturbed by others), with the CPU time of that run:

- `./rb --list`          start-up alone: the wrapper, Python, invoke, the task modules;
- `./rb plan`            the published site planned (rendered only, nothing contacted);
- `./rb verify`          every check on the 2-node lab (its default site);
- the same with RUNBOOK_PLAN_CACHE=0: the plan built from the YAML, as after an edit;
- `./rb deploy`          a no-op re-deploy of the converged lab (its default site).

Budgets (issue 19): `--list` ≤ 0.25 s, verify ≤ 0.8 s, no-op deploy ≤ 0.8 s.
`--compare DIR` times another checkout's `./rb` too (say, the commit before
a change, unpacked with `git archive`), alternating with this one run by
run, so both see the same moments of a busy machine.

Network safety: verify and deploy run only on the lab site, and only after
checking that every address it names is in the lab's documentation ranges
(which exist only inside the lab's network namespaces). RUNBOOK_DATA_DIR is
dropped from the environment so no other data can stand in for the lab. If
the lab is down it is brought up and deployed first (`./rb lab.up`, `./rb
deploy`); it is left running. Results also go to
benchmarks/results/cli-<time>.json (not in git).

`--cold` closes the lab's SSH masters before each verify and deploy (as a
first command, or one after more than a minute idle, finds them).

`--private` measures on a private copy of the 2-node lab instead (site
`labc`, namespace rb-labc, nodes poseidon and hestia, VRRP router_id 71,
state in /var/lib/runbook/labc, data in a temporary folder), brought up,
deployed and taken down again by the benchmark: for when the shared lab is
busy for long. It runs beside the main lab and needs no mutex.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_io import write_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runbook, when run from anywhere

REPO = Path(__file__).resolve().parents[1]
RB = str(REPO / "rb")  # --repo: the same commands from another checkout (e.g. the code before a change)
TARGETS_S = {"--list": 0.25, "verify": 0.8, "deploy (sin cambios)": 0.8}
PRIVATE = {"site": "labc", "namespace": "rb-labc", "router_id": 71, "nodes": ("poseidon", "hestia")}
SITE: list[str] = []  # ["--site", NAME] for the private lab; empty: the commands' default, the lab
DATA_DIR: Path | None = None  # the private lab's data folder
COLD = False  # --cold: the SSH masters closed before each verify and deploy


# The plan comes from the cache (runbook/plan/cache.py) once the data has been
# planned (ensure_converged_lab does so); a row without it shows what a first
# run after editing the data costs.
NO_PLAN_CACHE = {"RUNBOOK_PLAN_CACHE": "0"}


def commands() -> list[tuple[str, list[str], dict]]:
    """(label, argv after ./rb, extra environment)."""
    return [
        ("--list", ["--list"], {}),
        ("plan", ["plan"], {}),
        ("verify", ["verify", *SITE], {}),
        ("verify (plan sin caché)", ["verify", *SITE], NO_PLAN_CACHE),
        ("deploy (sin cambios)", ["deploy", *SITE], {}),
    ]


def environment(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.pop("RUNBOOK_PLAN_CACHE", None)
    env.pop("RUNBOOK_DATA_DIR", None)  # the lab's own data, never a stand-in
    # A user's shell does not forbid .pyc files; some sandboxes and CI images
    # do, which would time compiling the package on every command instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if DATA_DIR is not None:
        env["RUNBOOK_DATA_DIR"] = str(DATA_DIR)
    return {**env, **(extra or {})}


def write_private_lab(directory: Path) -> None:
    """The lab site copied with its own name, namespace, state folder, node names and VRRP id."""
    import shutil

    import yaml

    state = Path(f"/var/lib/runbook/{PRIVATE['site']}")
    site = yaml.safe_load((REPO / "site_data" / "lab.yaml").read_text())
    site["name"] = PRIVATE["site"]
    site["vrrp"]["router_id"] = PRIVATE["router_id"]
    site["ssh"]["config"] = str(state / "ssh_config")
    site["secrets"]["stats_password"]["file"] = str(state / "secrets" / "stats_password")
    site["lab"]["namespace"] = PRIVATE["namespace"]
    for node, name in zip(site["nodes"], PRIVATE["nodes"], strict=True):
        node["name"] = name
    text = yaml.safe_dump(site, sort_keys=False, allow_unicode=True)
    (directory / f"{PRIVATE['site']}.yaml").write_text(text)
    for name in ("procedure.yaml", "olimpo.yaml", "lab.yaml"):
        shutil.copy(REPO / "site_data" / name, directory / name)


def run(argv: list[str], check: bool = True, rb: str | None = None, env: dict | None = None
        ) -> tuple[float, float, subprocess.CompletedProcess]:
    """One `./rb ARGV`: (wall seconds, CPU seconds of the process and its children, the process)."""
    rb = rb or RB
    before = os.times()
    started = time.perf_counter()
    proc = subprocess.run([rb, *argv], cwd=Path(rb).parent, env=environment(env), capture_output=True,
                          text=True, timeout=600)
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if check and proc.returncode != 0:
        raise SystemExit(f"./rb {' '.join(argv)} terminó con código {proc.returncode}:\n"
                         f"{proc.stderr[-2000:] or proc.stdout[-2000:]}")
    return wall, cpu, proc


def lab_only() -> None:
    """Refuse to go on unless every address the measured site names is a lab address."""
    from runbook.data.load import LAB_SITE, load_site
    from runbook.data.model import LAB_RANGES

    name = SITE[1] if SITE else LAB_SITE
    site = load_site(name, DATA_DIR) if DATA_DIR is not None else load_site(name)
    addresses = [site.vip, *(a for n in site.nodes for a in (n.management_address, n.lan_address))]
    outside = [str(a) for a in addresses if not any(a in r for r in LAB_RANGES)]
    if site.lab is None or outside:
        raise SystemExit(f"el sitio {name} no es solo del laboratorio ({', '.join(outside)}): no se mide")


def ensure_converged_lab() -> None:
    """The lab running and deployed; a first deploy also warms every cache the timed runs use."""
    _, _, status = run(["lab.status", "--json", *SITE], check=False)
    if status.returncode != 0:
        print("bench_cli: el laboratorio no está en marcha: ./rb lab.up y ./rb deploy", file=sys.stderr)
        run(["lab.up", *SITE])
    run(["deploy", *SITE])
    _, _, proc = run(["deploy", "--json", *SITE])
    changed = sum(r["changed"] for r in json.loads(proc.stdout)["recap"].values())
    if changed:
        raise SystemExit(f"el despliegue no converge ({changed} cambios en la segunda pasada): no se mide")


def cool(argv: list[str]) -> None:
    """With --cold: no SSH master left for the lab's nodes before a verify or a deploy."""
    if COLD and argv[0] in ("verify", "deploy"):
        from runbook.data.load import load_site
        from runbook.remote import sshmux

        name = SITE[1] if SITE else "lab"
        site = load_site(name, DATA_DIR) if DATA_DIR is not None else load_site(name)
        sshmux.close_masters(Path(site.ssh.config))


def timed(runs: int, before: str | None) -> dict:
    """Best of `runs` per command. Each round runs every command once (and, with `before`, another
    checkout's rb right before this one's), so that every row sees the same moments of a shared machine."""
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {
        label: {"after": [], "before": []} for label, _, _ in commands()}
    for _ in range(runs):
        for label, argv, env in commands():
            if before:
                cool(argv)
                samples[label]["before"].append(run(argv, rb=before, env=env)[:2])
            cool(argv)
            samples[label]["after"].append(run(argv, env=env)[:2])
    rows = {}
    for label, argv, env in commands():
        shown = "".join(f"{name}={value} " for name, value in env.items()) + "./rb " + " ".join(argv)
        rows[label] = {"command": shown, "target_s": TARGETS_S.get(label),
                       **best_of(samples[label]["after"])}
        if before:
            rows[label]["before"] = best_of(samples[label]["before"])
    return rows


def best_of(samples: list[tuple[float, float]]) -> dict:
    best = min(samples)
    return {"best_s": round(best[0], 3), "cpu_of_best_s": round(best[1], 3),
            "all_s": [round(w, 3) for w, _ in samples]}


def table(result: dict) -> str:
    compare = result.get("before") is not None
    head = f"{'orden':<46} {'mejor (s)':>9} {'CPU (s)':>8}"
    if compare:
        head += f" {'antes (s)':>9} {'CPU antes':>9}"
    lines = [head + f" {'objetivo':>9}  todas (s)"]
    for row in result["commands"].values():
        target = f"≤ {row['target_s']}" if row["target_s"] else "-"
        mark = "" if not row["target_s"] else (" ✓" if row["best_s"] <= row["target_s"] else " ✗")
        line = f"{row['command']:<46} {row['best_s']:>9.3f} {row['cpu_of_best_s']:>8.3f}"
        if compare:
            line += f" {row['before']['best_s']:>9.3f} {row['before']['cpu_of_best_s']:>9.3f}"
        lines.append(line + f" {target:>9}{mark:<2} " + " ".join(f"{s:.3f}" for s in row["all_s"]))
    load = " ".join(f"{x:.2f}" for x in result["load_before"])
    lines.append(f"mejor de {result['runs']} · {result['cores']} núcleos · "
                 f"carga (1/5/15 min) al empezar {load}")
    if compare:
        lines.append(f"antes: {result['before']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="veces que se mide cada orden (por defecto 3)")
    parser.add_argument("--json", action="store_true", help="imprimir el resultado en JSON")
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="medir ./rb de otra copia del proyecto (p. ej. la versión anterior a un cambio)")
    parser.add_argument("--compare", type=Path, metavar="DIR",
                        help="medir también ./rb de otra copia (la versión anterior), alternando con esta")
    parser.add_argument("--private", action="store_true",
                        help="medir en una copia privada del laboratorio (labc), creada y retirada aquí")
    parser.add_argument("--cold", action="store_true",
                        help="cerrar las conexiones SSH maestras antes de cada verify y deploy (una primera "
                             "orden, o una tras más de un minuto sin usarlas)")
    opts = parser.parse_args()
    global RB, SITE, DATA_DIR, COLD
    COLD = opts.cold
    RB = str(opts.repo.resolve() / "rb")
    if os.geteuid() != 0:
        raise SystemExit("bench_cli: el laboratorio necesita root")
    if opts.private:
        DATA_DIR = Path(tempfile.mkdtemp(prefix="bench-cli-"))
        write_private_lab(DATA_DIR)
        SITE = ["--site", PRIVATE["site"]]
    lab_only()
    try:
        ensure_converged_lab()
        measured = measure(opts.runs, str(opts.compare.resolve() / "rb") if opts.compare else None)
    finally:
        if opts.private:
            run(["lab.down", *SITE], check=False)
    print_result(measured, opts)


def measure(runs: int, before: str | None) -> dict:
    result = {
        "machine": platform.node(),
        "rb": RB,
        "before": before,
        "lab": SITE[1] if SITE else "lab",
        "cores": os.cpu_count(),
        "runs": runs,
        "load_before": list(os.getloadavg()),
    }
    result["commands"] = timed(runs, before)
    result["load_after"] = list(os.getloadavg())
    return result


def print_result(result: dict, opts) -> None:
    path = write_results("cli", result)
    if opts.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(table(result))
    print(f"bench_cli: resultados en {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
