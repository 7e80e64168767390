"""Fixtures of the tests that need root and the lab of real Debian nodes."""

from support.lab_fixtures import lab, lab_converged, lab_fresh  # noqa: F401 - fixtures, registered by name

# Lab modules share one lab per session. The lab's own tests look at fresh
# nodes ("eth1 down before deploy"), deploy's start from fresh nodes and
# leave a converged cluster, verify's and the backends' (through HAProxy) need
# that converged cluster, the tampering catalogue breaks and heals it (its
# `lab_converged` fixture deploys when needed, but must not run before the
# fresh-node tests): run them in that order whatever their file names say.
# The walk through the outputs the site documents recreates fresh nodes for
# itself; the export's tests recreate the lab; the sized labs run beside it,
# last.
_LAB_ORDER = ("test_lab.py", "test_deploy_lab.py", "test_verify_lab.py", "test_backends_lab.py",
              "test_secrets_lab.py", "test_tampering_lab.py", "test_drill_lab.py", "test_outputs_lab.py",
              "test_export_lab.py",
              "test_lab_sizes.py")


def pytest_collection_modifyitems(session, config, items):
    def rank(item) -> int:
        name = item.path.name
        return _LAB_ORDER.index(name) + 1 if name in _LAB_ORDER else 0

    items.sort(key=rank)  # stable: keeps the order inside each module
