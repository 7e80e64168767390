"""Fixtures shared by the unit tests (tests/support/ holds them)."""

import os
import sys
from pathlib import Path

import pytest
from support.fake_ssh import fake_ssh, masters  # noqa: F401 - fixtures, registered by name


@pytest.fixture
def tripwire(tmp_path):
    """Stand-in ip/ssh/nc/curl that record any call: the refusals must open nothing."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("ip", "ssh", "nc", "curl"):
        (bin_dir / tool).write_text(f"#!/bin/sh\necho {tool} \"$@\" >> {log}\nexit 1\n")
        (bin_dir / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin"}
    return env, log
