"""Run a function inside a named network namespace, in a new thread of this process.

`ip netns exec NAME cmd` opens /run/netns/NAME, calls setns(2) on it and
execs cmd. `run_in_netns(NAME, fn, *args, timeout=...)` does the same
setns in one new thread and calls fn there, without starting a second
program (verify's lab client probe saves a Python start-up this way).

Why no connection can leave from this machine's own namespace:

- Linux keeps namespaces per thread: setns(fd, CLONE_NEWNET) moves only the
  thread that calls it. The main thread and every other thread of the
  process stay in the host's namespace, before, during and after.
- A thread starts in the namespaces of the thread that creates it, so every
  thread fn starts (the workers of a ThreadPoolExecutor fn creates, say) is
  in the named namespace too, and every socket any of them opens lives there.
- fn runs only when entering succeeded and was confirmed: setns returned 0
  AND the thread's own /proc/thread-self/ns/net is the very namespace file
  that was opened (same device and inode). Any failure on the way (no such
  namespace, no permission, no /proc) raises NetnsError and fn is never
  called.
- The thread is a brand new `threading.Thread`, never a pool's: it ends when
  fn returns, so no later work can run in a thread that changed namespace.

What fn must not do: hand work to threads or pools that existed before it
(their threads are in the host's namespace) or use sockets opened outside.
Only the network namespace changes: files, /sys and /etc are this process's
(`ip netns exec` also bind-mounts /etc/netns/NAME/*), which is enough for
code that talks to IP addresses.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..errors import RunbookError

T = TypeVar("T")

NETNS_DIR = Path("/run/netns")  # where `ip netns add` keeps the named namespaces
CLONE_NEWNET = 0x40000000  # <linux/sched.h>
THREAD_NETNS = "/proc/thread-self/ns/net"


class NetnsError(RunbookError, OSError):
    """The named network namespace could not be entered (Spanish message); fn did not run."""


class NetnsTimeoutError(NetnsError, TimeoutError):
    """fn did not finish in time inside the namespace (its daemon thread is left behind)."""


def netns_path(name: str) -> Path:
    if not name or "/" in name or name in (".", ".."):
        raise NetnsError(f"nombre de espacio de nombres de red no válido: {name!r}")
    return NETNS_DIR / name


_libc = None


def setns(fd: int) -> int:
    """setns(fd, CLONE_NEWNET) for the calling thread, through libc (Python 3.11 has no os.setns);
    0 or an errno. transport.py's lab sockets use it too."""
    global _libc
    import ctypes

    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) == 0:
        return 0
    return ctypes.get_errno() or -1


def _enter(fd: int, name: str) -> None:
    """Move the calling thread into the namespace of fd, and prove it did."""
    wanted = os.fstat(fd)
    err = setns(fd)
    if err:
        reason = os.strerror(err) if err > 0 else "error desconocido"
        raise NetnsError(f'no se puede entrar en el espacio de nombres de red "{name}": {reason}')
    now = os.stat(THREAD_NETNS)
    if (now.st_dev, now.st_ino) != (wanted.st_dev, wanted.st_ino):
        raise NetnsError(f'no se pudo comprobar la entrada en el espacio de nombres de red "{name}"')


def run_in_netns(name: str, fn: Callable[..., T], *args: Any, timeout: float) -> T:
    """fn(*args) in a new thread that joined network namespace `name`; its result or exception.

    Raises NetnsError (fn not called) when the namespace cannot be entered,
    NetnsTimeoutError when fn has not returned after `timeout` seconds.
    """
    path = netns_path(name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise NetnsError(f'no se puede abrir el espacio de nombres de red "{name}": {exc.strerror}') from exc
    outcome: dict[str, Any] = {}
    done = threading.Event()
    abandoned = threading.Event()

    def enter_and_run() -> None:
        try:
            try:
                _enter(fd, name)
            finally:
                # The thread owns fd: closing it here (not in the caller after
                # a timeout) means setns can never see a reused descriptor.
                os.close(fd)
            if not abandoned.is_set():
                outcome["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, who raises it
            outcome["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=enter_and_run, name=f"netns-{name}", daemon=True)
    try:
        thread.start()
    except BaseException:
        os.close(fd)
        raise
    if not done.wait(timeout):
        abandoned.set()
        raise NetnsTimeoutError(
            f'sin respuesta en {timeout:g} s dentro del espacio de nombres de red "{name}"')
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
