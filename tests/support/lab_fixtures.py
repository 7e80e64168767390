"""pytest fixtures for tests that need the lab of real Debian nodes.

`lab` (session scope) brings a fresh lab up once per test session (taking
down any lab left running) and down at the end. It is a LabSession: `lab.site`, `lab.status` (what `up` returned),
`lab.paths` (ssh_config, known_hosts, key, state_dir); `status, site = lab`
also works. Use `lab_fresh` when a test needs nodes that nobody has touched
yet (it recreates the lab: every node back to a fresh server, ~2 s warm).
`lab_converged` is the lab as the plan says, every verify check green: it
deploys (and waits for verify) only when that is not already so, so a test
that needs a converged lab says so instead of relying on module order.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LAB_SITE = "lab"


@dataclass
class LabSession:
    site: object
    status: dict
    paths: dict[str, Path] = field(default_factory=dict)
    plan: object = None
    # The test that has just proven the lab converged (verify green, then a
    # deploy that changed nothing): `lab_converged` trusts it for the test
    # that runs right after it, and for no other.
    proven_by: str | None = None

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


CONVERGE_TIMEOUT_S = 90  # a first deploy of fresh nodes takes ~20 s, then VRRP and backends settle


def failing_checks(report) -> set[tuple[str, str]]:
    """(check, node or "clúster") of every failed or broken result of a verify report."""
    from runbook.checks import Status

    return {(r.check, r.where) for r in report.results if r.status in (Status.FAILED, Status.ERROR)}


def deploy_lab(plan, **options):
    """One in-process deploy of the lab (what `./rb deploy --json` prints is its `to_json()`)."""
    from runbook.deploy import DeployOptions, deploy
    from runbook.secrets import read_secrets

    return deploy(plan, read_secrets(plan.site), DeployOptions(**options))


@pytest.fixture
def lab_converged(lab, request):
    from runbook.plan import load_plan
    from runbook.verify import run_verify

    lab.plan = plan = load_plan(LAB_SITE)
    items = request.session.items
    previous = items[items.index(request.node) - 1].nodeid if request.node in items[1:] else None
    trusted = previous is not None and lab.proven_by == previous
    if not trusted and run_verify(plan).exit_code != 0:
        result = deploy_lab(plan)
        deadline = time.monotonic() + CONVERGE_TIMEOUT_S
        while (report := run_verify(plan)).exit_code != 0:
            if time.monotonic() > deadline:
                pytest.fail(f"el laboratorio no converge: deploy {result.exit_code} {result.errors}; "
                            f"verify falla en {sorted(failing_checks(report))}")
            time.sleep(1)
    lab.proven_by = None  # from here on, only the test knows what it did to the lab
    return lab
