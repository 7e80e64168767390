"""Several runs of one scenario as one: the median and the range of every figure. Pure functions.

The figures of a scenario (numbers: failed requests, seconds, percentiles) become their median
over the runs, and `spread` keeps, for each, the median, the lowest, the highest and every
run's value (None where a run had none: a VIP that never moved). Everything else (timelines,
errors, holders) comes from one representative run: the one whose failed count is nearest the
median. `verify_after` is "ok" only if it was after every run.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def _is_figure(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def figure_keys(runs: Sequence[dict]) -> list[str]:
    """Keys holding a number (or None) in every run, and a number in at least one."""
    keys = [k for k in runs[0] if all(k in r and (_is_figure(r[k]) or r[k] is None) for r in runs)]
    return [k for k in keys if any(_is_figure(r[k]) for r in runs)]


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    m = statistics.median(present)
    return round(m, 3) if isinstance(m, float) else m


def combine(runs: Sequence[dict]) -> dict:
    """One scenario's runs (same name) → one result with medians, `spread` and `runs`."""
    if not runs:
        raise ValueError("no runs")
    keys = figure_keys(runs)
    failed_median = median([r["failed"] for r in runs])
    representative = min(runs, key=lambda r: abs(r["failed"] - failed_median))
    spread = {}
    for key in keys:
        values = [r[key] for r in runs]
        present = [v for v in values if v is not None]
        spread[key] = {"median": median(values), "min": min(present), "max": max(present), "values": values}
    out = dict(representative)
    out.update({key: spread[key]["median"] for key in keys})
    out["verify_after"] = "ok" if all(r["verify_after"] == "ok" for r in runs) else "failed"
    out["runs"] = len(runs)
    out["representative_run"] = runs.index(representative) + 1
    out["spread"] = spread
    return out
