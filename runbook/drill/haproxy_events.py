"""When HAProxy marked a server DOWN and UP, read from the node's journal.

HAProxy reports every change of a server's state on its standard error
(`[WARNING] ... Server horizon/zeus is DOWN, reason: ...`), which systemd
keeps in the journal with the node's clock: on the lab, the same clock as
the load (one kernel). `journalctl -o short-unix` gives each line's time in
epoch seconds; the same change may also arrive through syslog, so repeated
states are folded into the first one.
"""

from __future__ import annotations

import re
import shlex

LINE_RE = re.compile(r"^(?P<t>\d+(?:\.\d+)?) .*?\bServer (?P<service>[^/\s]+)/(?P<server>\S+?),? is "
                     r"(?P<state>DOWN|UP)\b")


def journal_command(since: float) -> str:
    """HAProxy's journal lines since an epoch time, each stamped with its epoch time."""
    return "journalctl --no-pager -q -o short-unix -t haproxy --since " + shlex.quote(f"@{since:.0f}")


def transitions(text: str, service: str, server: str) -> list[tuple[float, str]]:
    """[(epoch seconds, "DOWN" | "UP")] of one server, in order, each a change of state."""
    found: list[tuple[float, str]] = []
    for line in text.splitlines():
        m = LINE_RE.match(line.strip())
        if not m or m["service"] != service or m["server"] != server:
            continue
        if found and found[-1][1] == m["state"]:
            continue
        found.append((float(m["t"]), m["state"]))
    return found


def marked(events: list[tuple[float, str]], fault: float, restore: float) -> dict:
    """Seconds from the fault to the first DOWN, and from the restore to the first UP after it."""
    down = next((t for t, state in events if state == "DOWN" and t >= fault), None)
    up = next((t for t, state in events if state == "UP" and down is not None and t > down), None)
    return {
        "marked_down_s": None if down is None else round(down - fault, 3),
        "marked_up_s": None if up is None else round(up - restore, 3),
    }
