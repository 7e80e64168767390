"""Fixtures shared by the unit tests (tests/support/ holds them)."""

from support.fake_ssh import fake_ssh, masters  # noqa: F401 - fixtures, registered by name
