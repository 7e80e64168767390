"""The copies deploy keeps of a managed file, and how open they may be.

Deploy writes a new file next to its target first (`.<name>.runbook-tmp`)
and keeps the old one as `.<name>.runbook-bak` (hidden, so directories read
with a glob never pick them up). Both hold the same kind of content as the
file itself — a password, for haproxy.cfg — so neither may ever be more
open than the file: the executor creates them with the file's mode, and
deploy's facts and verify's file check flag any that is more open.
"""

from __future__ import annotations

import posixpath


def backup_path(path: str) -> str:
    directory, name = posixpath.split(path)
    return posixpath.join(directory, f".{name}.runbook-bak")


def temp_path(path: str) -> str:
    directory, name = posixpath.split(path)
    return posixpath.join(directory, f".{name}.runbook-tmp")


def copy_paths(path: str) -> tuple[str, str]:
    return backup_path(path), temp_path(path)


def too_open(mode: int, owner: str, group: str, want_mode: int, want_owner: str, want_group: str) -> bool:
    """True when a copy lets someone read or write what the managed file would not let them."""
    if mode & ~want_mode & 0o7777:
        return True
    if owner not in (want_owner, "root"):  # its owner may read it whatever the mode says
        return True
    return group != want_group and bool(mode & 0o070)

