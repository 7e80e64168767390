"""How long the remote fact script takes ON the node: verify's facts, each node alone and both at once.

Run as root from the repository, with a lab up and deployed (default: the lab site):

    .venv/bin/python benchmarks/bench_facts.py                  # 10 rounds of each kind
    .venv/bin/python benchmarks/bench_facts.py --site labd --runs 20

The script is the one `runbook/facts/runner.py` generates for every fact
verify asks a node (`build_registry(...).facts(node)`). It is timed on the
node itself (bash's $EPOCHREALTIME before and after, around `bash -c SCRIPT`),
so SSH and Python costs stay out of the figure, with the CPU time (user +
system) of the script and every process it ran, the figure that noise on a
shared machine moves least; one connection per node is opened first and
reused. Two kinds of rounds:

- `alone`: one node at a time runs the script;
- `together`: every node runs it at the same moment (threads), as verify does;
  on a 2-core machine whose nodes are containers, they compete for the CPU.

Each round also checks that every fact answered. Results go to
benchmarks/results/facts-<time>.json (gitignored). Nothing is changed on the nodes.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import threading

from results_io import summary, write_results

from runbook.checks import build_registry
from runbook.data.load import LAB_SITE
from runbook.facts import runner
from runbook.plan.build import load_plan
from runbook.remote.transport import connect

# Placeholder secrets: the facts verify asks never carry a secret; only the
# expected file contents (not sent) would use it.
SECRETS = {"stats_password": "bench"}


def timed_command(script: str) -> str:
    """`bash -c SCRIPT` with the node's clock around it and the CPU its processes used.

    Prints the report, then `@@T START END`, then bash's `times` (the second
    line: user and system time of the script and every process it waited for).
    """
    inner = f"bash -c {shlex.quote(script)}"
    return f"s=$EPOCHREALTIME; {inner}; printf '\\n@@T %s %s\\n' \"$s\" \"$EPOCHREALTIME\"; times"


def seconds(text: str) -> float:
    """`0m0.123s` -> 0.123."""
    minutes, rest = text.rstrip("s").split("m")
    return int(minutes) * 60 + float(rest)


def run_once(conn, facts: list) -> tuple[float, float]:
    """(wall, cpu) seconds of one run of the script on the node."""
    token = runner.new_token()
    script = runner.script([f.command() for f in facts], token)
    result = conn.run(timed_command(script), hide=True, warn=True, in_stream=False,
                      timeout=runner.RUN_TIMEOUT)
    answered = runner.parse_sections(result.stdout, len(facts), token)
    if len(answered) != len(facts):
        missing = [f.key for i, f in enumerate(facts) if i not in answered]
        raise SystemExit(f"faltan respuestas: {missing}")
    start, end, _user, _sys, user, system = result.stdout.rsplit("@@T ", 1)[1].split()
    return float(end) - float(start), seconds(user) + seconds(system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", default=LAB_SITE)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    plan = load_plan(args.site)
    registry = build_registry(plan, SECRETS, None)
    nodes = list(plan.node_names)
    facts = {n: runner.unique(registry.facts(n)) for n in nodes}
    conns = {n: connect(plan.site, plan.site.node(n)) for n in nodes}
    try:
        for n in nodes:  # warm-up: connection opened, caches filled
            run_once(conns[n], facts[n])
        alone: dict[str, list[tuple[float, float]]] = {n: [] for n in nodes}
        together: dict[str, list[tuple[float, float]]] = {n: [] for n in nodes}
        for _ in range(args.runs):
            for n in nodes:
                alone[n].append(run_once(conns[n], facts[n]))
            barrier = threading.Barrier(len(nodes))

            def both(n: str, barrier=barrier) -> None:
                barrier.wait()
                together[n].append(run_once(conns[n], facts[n]))

            threads = [threading.Thread(target=both, args=(n,)) for n in nodes]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        for conn in conns.values():
            conn.close()
    result = {
        "site": args.site,
        "machine": platform.node(),
        "runs": args.runs,
        "facts": {n: len(facts[n]) for n in nodes},
        "alone_s": {n: summary([w for w, _ in v]) for n, v in alone.items()},
        "together_s": {n: summary([w for w, _ in v]) for n, v in together.items()},
        "cpu_s": {n: summary([c for _, c in alone[n] + together[n]]) for n in nodes},
    }
    path = write_results("facts", result)
    print(f"{args.runs} rondas; facts por nodo: {result['facts']}; cpu: cada ejecución, sola o a la vez")
    for kind in ("alone_s", "together_s", "cpu_s"):
        figures = ", ".join(f"{n} {s['median']:.3f} (min {s['min']:.3f})" for n, s in result[kind].items())
        print(f"{kind[:-2]:>9}: {figures}  [s, median]")
    print(f"resultados: {path}")


if __name__ == "__main__":
    main()
