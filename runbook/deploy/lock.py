"""One deploy per site at a time, on this machine.

An `flock` on `/run/lock/runbook-deploy-<site>.lock` (`RUNBOOK_LOCK_DIR`
moves it). The kernel drops the lock when the process dies, so a crashed
deploy never leaves a stale lock behind; the file only records the pid of
the holder for the refusal message. `--check` takes no lock: it changes
nothing (while a deploy is running it may show a half-applied state).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import BadInputError


class LockBusyError(BadInputError):
    """Another deploy holds the site's lock; the message is Spanish."""


def lock_dir() -> Path:
    if "RUNBOOK_LOCK_DIR" in os.environ:
        return Path(os.environ["RUNBOOK_LOCK_DIR"])
    run_lock = Path("/run/lock")
    if run_lock.is_dir() and os.access(run_lock, os.W_OK):
        return run_lock
    import tempfile  # rare: no writable /run/lock

    return Path(tempfile.gettempdir())


def lock_path(site: str) -> Path:
    return lock_dir() / f"runbook-deploy-{site}.lock"


@contextmanager
def deploy_lock(site: str) -> Iterator[Path]:
    path = lock_path(site)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "desconocido"
            raise LockBusyError(f"ya hay un despliegue en curso para el sitio {site} (pid {holder})"
                                ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing releases the flock
