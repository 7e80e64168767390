"""Fixtures of the tests that need root and the lab of real Debian nodes.

Each lab test declares the state it needs (`lab`, `lab_up_not_deployed`,
`lab_fresh`, `lab_converged`: see tests/support/lab_fixtures.py) and gets
it whatever ran before. The module order below only saves transitions
(fewer recreations and deploys); `pytest --lab-order=reverse` runs the
modules the other way round to prove that no test depends on it.
"""

import pytest
from support.lab_fixtures import (  # noqa: F401 - fixtures, registered by name
    ensure_running,
    lab,
    lab_converged,
    lab_fresh,
    lab_up_not_deployed,
)

# Cheapest order: the tests of fresh nodes first, then deploy's (fresh, then
# converged), the tests that need the converged cluster, the walk through the
# pages and the export (each recreates the lab), the sized labs (their own lab).
_LAB_ORDER = ("test_lab.py", "test_deploy_lab.py", "test_verify_lab.py", "test_backends_lab.py",
              "test_secrets_lab.py", "test_tampering_lab.py", "test_drill_lab.py", "test_soak_lab.py", "test_outputs_lab.py",
              "test_export_lab.py",
              "test_lab_sizes.py", "test_rehearse_lab.py")


def pytest_collection_modifyitems(session, config, items):
    reverse = config.getoption("lab_order") == "reverse"

    def rank(item) -> int:
        name = item.path.name
        if name not in _LAB_ORDER:
            return 0
        place = _LAB_ORDER.index(name) + 1
        return len(_LAB_ORDER) + 1 - place if reverse else place

    items.sort(key=rank)  # stable: keeps the order inside each module


@pytest.fixture(autouse=True)
def _lab_bookkeeping(request):
    """Before a lab test: the lab is running. After it: touched, unless the test
    promised to leave fresh nodes as they were (`lab_up_not_deployed`)."""
    if "lab" not in request.fixturenames:
        yield
        return
    session = request.getfixturevalue("lab")
    ensure_running(session)
    yield
    if "lab_up_not_deployed" not in request.fixturenames:
        session.touched = True
