"""pytest fixtures for tests that need the lab of real Debian nodes, by the state they need.

A lab test names the state it needs and the fixture brings the lab there
from whatever ran before (another module, another order, a failed test):

- `lab`: the session's lab, running; nodes in any state (a test that only
  looks at the lab itself: SSH, namespaces, backends, `lab.status`).
- `lab_up_not_deployed`: running, and nobody has deployed or changed
  anything on the nodes since it was last recreated (every node a fresh
  server). Recreates the lab (down + up) only when some other test may have
  touched it. Tests that use it promise to leave the nodes as they found them.
- `lab_fresh`: recreated right now (down + up), for a test that itself
  takes fresh nodes somewhere (a first deploy, the walk through the pages).
- `lab_converged`: the cluster as the plan says, every verify check green;
  deploys (and waits for verify) only when verify is not already green.

Module fixtures (one setup for several tests) use the same steps through
`recreate(lab)` and `converge(lab)`. Every lab test that did not promise to
leave the nodes untouched marks the lab touched when it ends (see
tests/lab/conftest.py), so the next test that needs fresh nodes recreates them.

The session starts from a recreated lab (taking down any lab left running,
deployed or stale) and takes it down at the end. A LabSession has
`lab.site`, `lab.status` (what `up` returned), `lab.paths` (ssh_config,
known_hosts, key, state_dir); `status, site = lab` also works.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LAB_SITE = "lab"
CONVERGE_TIMEOUT_S = 90  # a first deploy of fresh nodes takes ~20 s, then VRRP and backends settle


@dataclass
class LabSession:
    site: object
    status: dict
    paths: dict[str, Path] = field(default_factory=dict)
    plan: object = None
    # False while every node is still the fresh server `up` made: no test has
    # deployed or changed anything since (see `lab_up_not_deployed`).
    touched: bool = False
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


def recreate(lab: LabSession) -> LabSession:
    """Every node back to a fresh server: down + up (~2 s with the base image warm)."""
    from runbook import lab as lab_api

    lab_api.down(lab.site)
    lab.status = lab_api.up(lab.site)
    lab.touched, lab.proven_by = False, None
    return lab


def ensure_running(lab: LabSession) -> LabSession:
    """The lab up, whatever a test left (e.g. down after a failure). `up` of a lab
    that is not running recreates it: its nodes are fresh again."""
    from runbook import lab as lab_api

    if not lab.refresh()["running"]:
        lab.status = lab_api.up(lab.site)
        lab.touched, lab.proven_by = False, None
    return lab


def vip_holders(lab: LabSession) -> list[str]:
    """The lab nodes that have the VIP on an interface right now."""
    from runbook import lab as lab_api

    vip = f" {lab.site.vip}/"
    return [node.name for node in lab.site.nodes
            if vip in lab_api.node_run(lab.site, node.name, ["ip", "-o", "-4", "addr", "show"], timeout=30).stdout]


def failing_checks(report) -> set[tuple[str, str]]:
    """(check, node or "clúster") of every failed or broken result of a verify report."""
    from runbook.checks import Status

    return {(r.check, r.where) for r in report.results if r.status in (Status.FAILED, Status.ERROR)}


def deploy_lab(plan, **options):
    """One in-process deploy of the lab (what `./rb deploy --json` prints is its `to_json()`)."""
    from runbook.deploy import DeployOptions, deploy
    from runbook.plan.secrets import read_secrets

    return deploy(plan, read_secrets(plan.site), DeployOptions(**options))


def converge(lab: LabSession, trusted: bool = False) -> LabSession:
    """The lab as the plan says: nothing to do when verify is green (or `trusted`),
    else one deploy and a wait until verify is green."""
    from runbook.plan.build import load_plan
    from runbook.verify import run_verify

    ensure_running(lab)
    lab.plan = plan = load_plan(LAB_SITE)
    lab.touched = True
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


@pytest.fixture(scope="session")
def lab():
    _require_root()
    from runbook import lab as lab_api
    from runbook.data.load import load_site

    site = load_site(LAB_SITE)
    session = LabSession(site=site, status={}, paths=lab_api.lab_paths(site))
    # Start from fresh nodes even if a lab was left running (deployed, or
    # stale after a crash).
    recreate(session)
    try:
        yield session
    finally:
        lab_api.down(site)


@pytest.fixture
def lab_up_not_deployed(lab):
    """The lab running with every node as `up` made it (recreated only if a test may have touched it)."""
    ensure_running(lab)
    if lab.touched:
        recreate(lab)
    return lab


@pytest.fixture
def lab_fresh(lab):
    """The session's lab, recreated now so that every node is a fresh server."""
    return recreate(lab)


@pytest.fixture
def lab_converged(lab, request):
    items = request.session.items
    previous = items[items.index(request.node) - 1].nodeid if request.node in items[1:] else None
    return converge(lab, trusted=previous is not None and lab.proven_by == previous)
