"""pytest fixtures for tests that need the lab of real Debian nodes.

`lab` (session scope) brings a fresh lab up once per test session (taking
down any lab left running) and down at the end. It is a LabSession: `lab.site`, `lab.status` (what `up` returned),
`lab.paths` (ssh_config, known_hosts, key, state_dir); `status, site = lab`
also works. Use `lab_fresh` when a test needs nodes that nobody has touched
yet (it recreates the lab: every node back to a fresh server, ~2 s warm).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LAB_SITE = "lab"


@dataclass
class LabSession:
    site: object
    status: dict
    paths: dict[str, Path] = field(default_factory=dict)

    def __iter__(self):
        return iter((self.status, self.site))

    def refresh(self) -> dict:
        from runbook import lab as lab_api

        self.status = lab_api.status(self.site)
        return self.status


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("el laboratorio necesita root (espacios de red, montajes, contenedores)")


@pytest.fixture(scope="session")
def lab():
    _require_root()
    from runbook import lab as lab_api
    from runbook.load import load_site

    site = load_site(LAB_SITE)
    # Start from fresh nodes even if a lab was left running (deployed, or
    # stale after a crash): the lab's own tests look at untouched servers.
    lab_api.down(site)
    status = lab_api.up(site)
    session = LabSession(site=site, status=status, paths=lab_api.lab_paths(site))
    try:
        yield session
    finally:
        lab_api.down(site)


@pytest.fixture
def lab_fresh(lab):
    """The session's lab, recreated so that every node is a fresh server."""
    from runbook import lab as lab_api

    lab_api.down(lab.site)
    lab.status = lab_api.up(lab.site)
    return lab
