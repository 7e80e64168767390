"""Start the lab's backends: backend.py in each backend's namespace."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .errors import LabError
from .layout import BackendLayout, LabLayout

SCRIPT = Path(__file__).with_name("backend.py")


def start(lay: LabLayout) -> dict[str, int]:
    pids = {}
    for backend in lay.backends:
        backend.ready.parent.mkdir(parents=True, exist_ok=True)
        backend.log.parent.mkdir(parents=True, exist_ok=True)
        backend.ready.unlink(missing_ok=True)
        argv = ["ip", "netns", "exec", backend.netns, sys.executable, str(SCRIPT),
                "--name", backend.name, "--ready", str(backend.ready)]
        argv += [a for port, _path in backend.http for a in ("--http", str(port))]
        argv += [a for port in backend.tcp for a in ("--tcp", str(port))]
        with open(backend.log, "ab") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        pids[backend.name] = proc.pid
    wait_ready(lay.backends)
    return pids


def wait_ready(backends: tuple[BackendLayout, ...], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(backends)
    while waiting and time.monotonic() < deadline:
        waiting = [b for b in waiting if not b.ready.exists()]
        if waiting:
            time.sleep(0.02)
    if waiting:
        b = waiting[0]
        tail = b.log.read_text(errors="replace").strip().splitlines()[-5:] if b.log.exists() else []
        raise LabError(f"el backend {b.name} no arrancó:\n  " + "\n  ".join(tail))
