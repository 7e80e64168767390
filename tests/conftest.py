"""Shared by every test folder (tests/unit, tests/site, tests/lab).

Helpers are imported explicitly from tests/support/ (on the path through the
`pythonpath` setting in pyproject.toml). The built site is a fixture here
because a unit test checks one link against it too.

A test says what it needs beyond Python and this repository with a marker
(declared in pyproject.toml), so `./rb test --fast` can leave it out
and a machine without it skips it, saying why:
- `root`: root, but not the lab (network namespaces, files owned by root);
- `validators`: the real programs that check a configuration
  (haproxy -c, keepalived -t, nginx -t), named in the marker;
- `lab` (tests/lab) and `browser` (headless Chromium).
Both `root` and `validators` take the programs the test runs as arguments
(skipped when one is missing) and an optional `reason`.
"""

import os
import shutil

import pytest
from support.site_fixtures import built_site  # noqa: F401 - a session fixture, registered by name


def pytest_addoption(parser):
    parser.addoption("--lab-order", choices=("usual", "reverse"), default="usual",
                     help="order of the lab's test modules (reverse: to prove that no test depends on it)")


def pytest_runtest_setup(item):
    """Skip a test whose `root` or `validators` need this machine does not meet."""
    for mark in (*item.iter_markers("root"), *item.iter_markers("validators")):
        missing = [tool for tool in mark.args if shutil.which(tool) is None]
        if mark.name == "root" and os.geteuid() != 0:
            pytest.skip(mark.kwargs.get("reason", "necesita root"))
        if missing:
            pytest.skip(mark.kwargs.get("reason", f"necesita {', '.join(missing)}"))
