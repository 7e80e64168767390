"""Shared by every test folder (tests/unit, tests/site, tests/lab).

Helpers are imported explicitly from tests/support/ (on the path through the
`pythonpath` setting in pyproject.toml). The built site is a fixture here
because a unit test checks one link against it too.
"""

from support.site_fixtures import built_site  # noqa: F401 - a session fixture, registered by name


def pytest_addoption(parser):
    parser.addoption("--lab-order", choices=("usual", "reverse"), default="usual",
                     help="order of the lab's test modules (reverse: to prove that no test depends on it)")
