"""Time and memory of `./rb plan` on every case of the hostile-input corpus.

Run from the repository root (no lab, no root needed):

    .venv/bin/python benchmarks/bench_hostile.py            # every case once, one at a time
    .venv/bin/python benchmarks/bench_hostile.py --runs 3   # worst of three per case

Per case: wall time, CPU time (user + system) and peak memory (ru_maxrss of
the command, from wait4), exit code. The issue's limits are 5 s and 300 MB
per case. Results go to benchmarks/results/hostile-<time>.json (gitignored).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

from results_io import summary, write_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.hostile_cases import CORPUS, materialize, run_cli  # noqa: E402

LIMIT_S, LIMIT_MB = 5.0, 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in CORPUS:
            directory = Path(tmp) / case.id
            materialize(case, directory)
            runs = [run_cli(["plan", "--site", case.site], directory) for _ in range(args.runs)]
            worst = max(runs, key=lambda r: r.seconds)
            cases.append({
                "case": case.id, "class": case.klass, "exit_code": worst.code, "expected": case.code,
                "wall_s": round(max(r.seconds for r in runs), 3),
                "cpu_s": round(max(r.cpu_seconds for r in runs), 3),
                "max_rss_mb": round(max(r.max_rss_mb for r in runs), 1),
            })
    walls = [c["wall_s"] for c in cases]
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        "cases": len(cases),
        "wrong_exit": [c["case"] for c in cases if c["exit_code"] != c["expected"]],
        "wall_s": summary(walls),
        "cpu_s": summary([c["cpu_s"] for c in cases]),
        "max_rss_mb": max(c["max_rss_mb"] for c in cases),
        "slowest": sorted(cases, key=lambda c: -c["wall_s"])[:5],
        "over_limits": [c for c in cases if c["wall_s"] > LIMIT_S or c["max_rss_mb"] > LIMIT_MB],
        "per_case": cases,
    }
    out = write_results("hostile", result)
    print(f"{len(cases)} casos · peor {max(walls):.2f} s ({result['slowest'][0]['case']}) · "
          f"CPU máx {result['cpu_s']['max']:.2f} s · memoria máx {result['max_rss_mb']:.0f} MB · "
          f"código inesperado: {result['wrong_exit'] or 'ninguno'} · {out}")


if __name__ == "__main__":
    main()
