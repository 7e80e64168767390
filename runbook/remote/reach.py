"""How long reaching a node may take: one deadline that every step of it spends.

Reaching a node is a few steps (wait for another process making the same
master, `ssh -G`, try a master found running, stop it if it is dead, make
a new one), each of which could hang: ssh's own ConnectTimeout does not
cover a ProxyCommand that never answers, and a master found running may
hold a connection that died (its ServerAlive probes end it only after
several seconds). So the project sets the bound itself: every step runs
within what is left of one `Deadline`, and a process that outlives it is
killed with all it started (ssh and its ProxyCommand), never waited for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

REACH_S = 10.0  # seconds to reach a node, whatever the steps; a lab node takes ~0.3 s, a real one ~1 s


class Deadline:
    """A point in time every step of reaching one node must end by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self, at_most: float | None = None) -> float:
        """Seconds left (0 when it is past), capped at `at_most` when given."""
        left = max(0.0, self.end - time.monotonic())
        return left if at_most is None else min(left, at_most)

    def run(self, argv: list[str], *, at_most: float | None = None, input: bytes | None = None,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess:
        """Run argv within the time left (and `at_most`); TimeoutExpired once it is over.

        The process gets a process group of its own: on time out the whole
        group is killed (a ProxyCommand would outlive its ssh otherwise).
        """
        seconds = self.left(at_most)
        if seconds <= 0:
            raise subprocess.TimeoutExpired(argv, 0)
        stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
        with subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr, env=env,
                              start_new_session=True) as proc:
            try:
                out, err = proc.communicate(input, timeout=seconds)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:  # the whole group ended meanwhile
                    pass
                proc.wait()
                raise
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)
