"""What every benchmark shares: a summary of timings and where results go."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"  # not in git
MEASURED = Path(__file__).resolve().parent / "measured.json"  # the figures the site shows (in git)


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": min(values), "max": max(values)}


def write_results(name: str, result: dict) -> Path:
    """Save one run as benchmarks/results/<name>-<UTC time>.json and return the path."""
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return out


def save_measured(section: str, figures: dict) -> None:
    """Write one section of measured.json (the site reads it), the others left as they are."""
    measured = json.loads(MEASURED.read_text())
    measured[section] = figures
    MEASURED.write_text(json.dumps(measured, indent=1, ensure_ascii=False) + "\n")
    print(f"escrito: {MEASURED}", file=sys.stderr)
