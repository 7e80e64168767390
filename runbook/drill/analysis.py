"""The drill's figures, computed from what was recorded: pure functions, no lab.

Inputs are plain data: requests as dicts {"t": send time, "lat": seconds,
"ok": bool} (epoch seconds, one clock for everything) and VIP samples
(`Sample(t, holders)`). Definitions (also on the results page):

- error window: a run of consecutive failed requests (in send order); it
  lasts from the first failure's send time to the send time of the next
  success (or the last failure's end, if no success followed);
- takeover_s: fault → the service answers again: the earliest answer of a
  successful request sent after the last request that failed because of the
  fault (in flight at the fault or sent before the restore); 0.0 when no
  request failed, None when the service had not come back before the restore;
- vip_moved_s: fault → first sample with the VIP on a node other than the
  one that held it before the fault (None: it never moved);
- failed_at_vip_change: failed requests still open while the VIP went from one
  holder to another (between the last sample before and the first after): the
  connections a handover cuts (the new holder answers their packets with a RST);
- added_p50_s / added_p99_s: the latency percentile of the requests sent in the
  fault window [fault, restore), minus the same percentile before the fault (a
  failed request counts with the time it took to fail).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .sampler import Sample


@dataclass(frozen=True)
class ErrorWindow:
    start: float
    end: float
    failed: int

    @property
    def seconds(self) -> float:
        return self.end - self.start


def _end(r: dict) -> float:
    return r["t"] + r["lat"]


def error_windows(records: Sequence[dict]) -> list[ErrorWindow]:
    windows: list[ErrorWindow] = []
    first: dict | None = None
    last: dict | None = None
    count = 0
    for r in sorted(records, key=lambda r: r["t"]):
        if not r["ok"]:
            if first is None:
                first = r
            last, count = r, count + 1
        elif first is not None:
            windows.append(ErrorWindow(first["t"], r["t"], count))
            first, count = None, 0
    if first is not None and last is not None:
        windows.append(ErrorWindow(first["t"], _end(last), count))
    return windows


def longest_error_window(records: Sequence[dict]) -> float:
    return max((w.seconds for w in error_windows(records)), default=0.0)


def fault_failures(records: Sequence[dict], fault: float, restore: float) -> list[dict]:
    """Failed requests caused by the fault: still running at the fault, sent before the restore."""
    return [r for r in records if not r["ok"] and _end(r) >= fault and r["t"] < restore]


def takeover(records: Sequence[dict], fault: float, restore: float) -> float | None:
    failures = fault_failures(records, fault, restore)
    if not failures:
        return 0.0
    last_failure = max(r["t"] for r in failures)
    answers = [_end(r) for r in records if r["ok"] and r["t"] > last_failure]
    if not answers or min(answers) > restore:
        return None
    return min(answers) - fault


def holder_before(samples: Sequence[Sample], fault: float) -> str | None:
    """The single node holding the VIP in the last sample before the fault."""
    before = [s for s in samples if s.t < fault]
    if not before or len(before[-1].holders) != 1:
        return None
    return before[-1].holders[0]


def vip_moved(samples: Sequence[Sample], fault: float, old: str | None) -> tuple[float | None, str | None]:
    """(seconds from the fault to the VIP on another node, that node)."""
    for s in samples:
        if s.t >= fault:
            others = [n for n in s.holders if n != old]
            if others:
                return s.t - fault, others[0]
    return None, None


def two_holders_s(samples: Sequence[Sample]) -> float:
    """How long more than one node held the VIP (sum of sample intervals)."""
    total = 0.0
    for a, b in zip(samples, samples[1:], strict=False):
        if len(a.holders) > 1:
            total += b.t - a.t
    return total


def timeline(records: Sequence[dict], start: float, bin_s: float = 0.25) -> list[dict]:
    """Per time bin (by send time, from `start`): requests/s answered well and failed."""
    if not records:
        return []
    bins = int((max(r["t"] for r in records) - start) / bin_s) + 1
    ok, bad = [0] * bins, [0] * bins
    for r in records:
        index = max(0, int((r["t"] - start) / bin_s))
        (ok if r["ok"] else bad)[index] += 1
    return [
        {"t": round(i * bin_s, 3), "ok_rps": round(ok[i] / bin_s, 1), "failed_rps": round(bad[i] / bin_s, 1)}
        for i in range(bins)
    ]


def failed_at_vip_change(records: Sequence[dict], samples: Sequence[Sample]) -> int:
    """Failed requests open across a change of holders (from the sample before it to the one after)."""
    # Only a handover from one holder to another: a VIP that nobody holds fails requests anyway.
    changes = [(a.t, b.t) for a, b in zip(samples, samples[1:], strict=False)
               if a.holders != b.holders and a.holders and b.holders]
    return sum(1 for r in records if not r["ok"]
               and any(r["t"] <= after and _end(r) >= before for before, after in changes))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by nearest rank: a value that was measured; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def added_latency(records: Sequence[dict], fault: float, restore: float) -> dict:
    """Latency of the requests sent in the fault window [fault, restore), against those sent before it.

    A failed request counts with the time it took to fail (at most the client's timeout):
    what its user waited. `added_p50_s`/`added_p99_s` are the window's percentile minus the
    same percentile before the fault (never below 0).
    """
    before = [r["lat"] for r in records if r["t"] < fault]
    during = [r["lat"] for r in records if fault <= r["t"] < restore]
    out: dict = {}
    for q in (50, 99):
        base, window = percentile(before, q), percentile(during, q)
        out[f"latency_before_p{q}_s"] = base
        out[f"latency_fault_p{q}_s"] = window
        out[f"added_p{q}_s"] = None if base is None or window is None else max(0.0, window - base)
    return out
