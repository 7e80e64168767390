"""The soak's figures for the site: several `./rb soak` results files summed up into measured.json.

    .venv/bin/python benchmarks/soak_summary.py /var/lib/runbook/lab/soak/soak-*.json
    .venv/bin/python benchmarks/soak_summary.py --save FILES...   # also writes measured.json["soak"]

Each file is one `./rb soak` run (its seed, its rounds, each round's record).
The summary keeps, per run, the seed, rounds, broken rounds and time per round,
and per fault (over every run) the rounds, failed requests and the longest time
until the VIP served again: the page «Conmutación por error» shows it under
«Fallos encadenados». `fixes` (the causes found and fixed, Spanish) is kept
from the saved file, as it is written by hand.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from results_io import MEASURED, save_measured

from runbook.soak.runner import summary


def soak_figures(docs: list[dict], fixes: list[str]) -> dict:
    rounds = [r for doc in docs for r in doc["rounds"]]
    total = summary(rounds)
    worst = max(rounds, key=lambda r: r["failed"], default=None)
    return {
        "when": max(doc["when"] for doc in docs),
        "machine": docs[-1]["machine"],
        "site": docs[-1]["site"],
        "runs": [{"seed": d["seed"], "rate": d["rate"], "when": d["when"], **{
            k: d["summary"][k] for k in ("rounds", "broken_rounds", "failed", "round_s_mean", "round_s_max")}}
            for d in docs],
        "per_fault": total["per_fault"],
        "worst": None if worst is None else {k: worst[k] for k in ("fault", "failed", "served_again_s")},
        "round_s_mean": total["round_s_mean"],
        "fixes": fixes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--save", action="store_true", help="write measured.json's «soak»")
    opts = parser.parse_args()
    docs = [json.loads(f.read_text()) for f in opts.files]
    measured = json.loads(MEASURED.read_text())
    figures = soak_figures(docs, measured.get("soak", {}).get("fixes", []))
    print(json.dumps(figures, indent=1, ensure_ascii=False))
    if opts.save:
        save_measured("soak", figures)


if __name__ == "__main__":
    main()
