"""Fabric/paramiko connections to a site's nodes, built only from the site's data.

Since the OpenSSH transport (sshmux.py) carries every command of verify and
deploy, this one is kept for what needs paramiko: deploy's file uploads
(SFTP, opened only when a file must change) and the failover drill. A
Fabric `Connection` is an invoke `Context`, so the executor is written
against `.run()`/`.put()` and never cares which transport is behind it.
Host keys are always checked: Fabric's default is to accept unknown keys,
which we turn off. Paramiko's errors are told apart by their text, and a
connection's gateway is replaced after Fabric made it: pinned fabric<4
(pyproject.toml, with the paramiko it brings).

A lab node is reached through its namespace: the lab's ssh_config says so
with `ProxyCommand ip netns exec <ns> nc %h %p`. Running that command costs
two processes per connection (tens of milliseconds, more on a busy
machine), so where we may (root) the TCP connection is made by a thread
that enters that same namespace, with the same effect: the socket lives in
the lab's namespace, which has no route out. Elsewhere the ProxyCommand runs.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import fabric
import paramiko

from . import target as refusal
from .netns import setns
from .target import CONNECT_TIMEOUT, LAB_PROXY, NodeUnreachableError, SshTarget, close_all, target

if TYPE_CHECKING:
    from ..data.records import Node, Site

__all__ = ["CONNECT_TIMEOUT", "LAB_PROXY", "NodeUnreachableError", "SshTarget", "close_all", "connect",
           "namespace_socket", "target"]


def connect(site: Site, node: Node) -> fabric.Connection:
    """Open one connection to the node (reused for all its work)."""
    t = target(site, node)
    refusal.require_config(t)
    overrides = {"load_ssh_configs": t.config is None}
    config = fabric.Config(runtime_ssh_path=str(t.config) if t.config else None, overrides=overrides)
    connect_kwargs: dict = {}
    if t.identity is not None:
        connect_kwargs["key_filename"] = [str(t.identity)]
    conn = fabric.Connection(
        t.host,
        user=t.user,
        port=t.port,
        config=config,
        connect_timeout=CONNECT_TIMEOUT,
        connect_kwargs=connect_kwargs,
    )
    _strict_host_keys(conn)
    if site.lab is not None and not conn.gateway:
        raise refusal.no_lab_proxy(t)
    try:
        _through_lab_namespace(conn)
        conn.open()
    except paramiko.BadHostKeyException:
        raise refusal.changed_host_key(t) from None
    except paramiko.SSHException as exc:
        text = str(exc)
        if "not found in known_hosts" in text:
            raise refusal.unknown_host_key(t) from None
        if "Authentication failed" in text or isinstance(exc, paramiko.AuthenticationException):
            raise refusal.auth_refused(t) from None
        raise refusal.ssh_failed(t, text) from None
    except (TimeoutError, OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise refusal.cannot_connect(t, reason) from None
    return conn


def _through_lab_namespace(conn: fabric.Connection) -> None:
    """Replace the lab's ProxyCommand by a socket opened inside its namespace, when we can."""
    match = LAB_PROXY.fullmatch(conn.gateway.strip()) if isinstance(conn.gateway, str) else None
    if match is None:
        return
    namespace, host, port = match.group(1), match.group(2), int(match.group(3))
    sock = namespace_socket(namespace, host, port)
    if sock is not None:
        conn.connect_kwargs["sock"] = sock
        conn.gateway = None  # Fabric would start the ProxyCommand otherwise


def namespace_socket(namespace: str, host: str, port: int) -> socket.socket | None:
    """A TCP connection made from inside network namespace `namespace`; None if we may not enter it.

    setns() moves only the calling thread, so a short-lived thread enters
    the namespace and connects; the socket stays in that namespace for its
    whole life, whichever thread uses it. Connection errors are raised
    (OSError), as they would be from the ProxyCommand.
    """
    outcome: dict = {}

    def enter_and_connect() -> None:
        try:
            fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            outcome["error"] = exc
            return
        try:
            refused = setns(fd)
            if refused:
                outcome["refused"] = refused
                return
        finally:
            os.close(fd)
        try:
            outcome["sock"] = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=enter_and_connect, name=f"netns-{namespace}")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    if "refused" in outcome:
        if outcome["refused"] in (errno.EPERM, errno.EACCES, errno.ENOSYS):
            return None  # not root: the ProxyCommand (ip netns exec) says why, as before
        raise OSError(outcome["refused"], os.strerror(outcome["refused"]))
    return outcome["sock"]


def _strict_host_keys(conn: fabric.Connection) -> None:
    # Known hosts come from the ssh_config's UserKnownHostsFile when it has one
    # (the lab writes its own), else from the user's ~/.ssh/known_hosts.
    client = conn.client
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    files = conn.ssh_config.get("userknownhostsfile", "~/.ssh/known_hosts").split()
    for name in files:
        path = Path(os.path.expanduser(name))
        if path.is_file():
            client.get_host_keys().load(str(path))


