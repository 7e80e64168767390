"""Repeated handovers for the site: `./rb drill --repeat N --json` files summed up into measured.json.

    ./rb drill --scenario planned --rate 200 --repeat 10 --json > planned.json
    ./rb drill --scenario keepalived-crash,node-crash --rate 200 --repeat 6 --json > crash.json
    .venv/bin/python benchmarks/handover_summary.py planned.json crash.json
    .venv/bin/python benchmarks/handover_summary.py --save planned.json crash.json  # measured.json

Keeps, per scenario, every run's failed requests, how long two nodes held the
VIP and the time until the service answered again (the drill's `spread`): the
issue's targets are read from them (planned handover: 0 failed in 10 of 10 at
≥ 200 req/s; keepalived SIGKILL on the VIP holder: both nodes hold the VIP
≤ 2 s, failed requests ≤ node-crash's). The page «Resultados medidos» shows
them under «Conmutaciones repetidas».
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from results_io import save_measured

KEYS = ("failed", "requests", "two_holders_s", "takeover_s", "vip_moved_s", "failed_after_restore")


def per_run(s: dict, key: str) -> list:
    """Every run's value of a figure (a single run: its own value)."""
    spread = (s.get("spread") or {}).get(key)
    return list(spread["values"]) if spread else [s.get(key)]


def handover_figures(docs: list[dict], when: str) -> dict:
    scenarios = [s for doc in docs for s in doc["scenarios"]]
    rates = {doc["rate"] for doc in docs}
    durations = {doc["duration_s"] for doc in docs}
    if len(rates) != 1 or len(durations) != 1:
        raise SystemExit("los ficheros deben ser del mismo ritmo y duración")
    return {
        "when": when,
        "rate": rates.pop(),
        "duration_s": durations.pop(),
        "scenarios": [{"name": s["name"], "title": s["title"], "runs": s.get("runs", 1),
                       **{key: per_run(s, key) for key in KEYS}} for s in scenarios],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--save", action="store_true", help="write measured.json's «handover»")
    opts = parser.parse_args()
    docs = [json.loads(f.read_text()) for f in opts.files]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(max(f.stat().st_mtime for f in opts.files)))
    figures = handover_figures(docs, when)
    print(json.dumps(figures, indent=1, ensure_ascii=False))
    if opts.save:
        save_measured("handover", figures)


if __name__ == "__main__":
    main()
