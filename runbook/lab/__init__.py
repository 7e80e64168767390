"""The lab: real Debian 12 nodes (systemd-nspawn) on this machine.

Public API (everything takes the lab site, `load_site("lab")`):

    up(site, log=None) -> dict          bring the lab up (idempotent), return status
    down(site, log=None) -> None        remove everything the lab created
    status(site) -> dict                nodes, client, backends, paths
    client_run(site, argv, **kw)        run argv in the client namespace
    node_run(site, node, argv, **kw)    run argv on a node over SSH
    set_link(site, node, up)            cut/restore a node's LAN link
    stop_daemon(site, backend, port)    stop a backend's daemon (as its unit would)
    start_daemon(site, backend, port)   start it again, wait until it answers
    lab_paths(site) -> dict             ssh_config, known_hosts, key, state_dir

Errors are LabError (Spanish message, `.code` 1) or PrerequisiteError (2).
"""

from __future__ import annotations

from .errors import LabError, PrerequisiteError

# The lifecycle (and all it imports: backends, nodes, the base image) is
# loaded on first use: verify and deploy import the lab's layout and names
# only, and should not pay for the machinery that builds the lab.
_LIFECYCLE = ("client_run", "down", "lab_paths", "node_run", "set_link", "start_daemon", "status",
              "stop_daemon", "up")


def __getattr__(name: str):
    if name in _LIFECYCLE:
        from . import lifecycle

        return getattr(lifecycle, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LabError",
    "PrerequisiteError",
    "client_run",
    "down",
    "lab_paths",
    "node_run",
    "set_link",
    "start_daemon",
    "status",
    "stop_daemon",
    "up",
]
