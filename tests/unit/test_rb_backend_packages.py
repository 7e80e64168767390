"""./rb on a machine without the lab's backend packages: it installs nginx and memcached
and disables the services their packages bring, but never a service the machine already had.

Stand-ins for dpkg-query, apt-get and systemctl on PATH record what the
wrapper asks for; nothing is installed and nothing is stopped here.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("nginx", "memcached")


def _stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def _run_wrapper(tmp_path: Path, installed: tuple[str, ...]) -> tuple[str, str]:
    stubs = tmp_path / "bin"
    stubs.mkdir()
    log = tmp_path / "calls"
    lines = "".join(f"{p} install ok installed\\n" for p in installed)
    _stub(stubs, "dpkg-query", f"printf '{lines}'\n")
    _stub(stubs, "apt-get", f'echo "apt-get $*" >> {log}\n')
    _stub(stubs, "systemctl", f'echo "systemctl $*" >> {log}\n')
    # RB_CHECK_INSTALL: the real checkout has checked its packages before; ask for the check anyway.
    env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}", "RB_CHECK_INSTALL": "1"}
    proc = subprocess.run([str(REPO / "rb"), "--version"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return (log.read_text() if log.exists() else ""), proc.stderr


@pytest.mark.root(reason="el wrapper solo instala paquetes como root")
def test_fresh_machine_gets_nginx_and_memcached_with_their_services_disabled(tmp_path):
    calls, said = _run_wrapper(tmp_path, installed=())
    install = next(line for line in calls.splitlines() if " install " in line)
    assert all(f" {p}" in install for p in PACKAGES)
    for service in ("haproxy", "keepalived", *PACKAGES):
        assert f"systemctl disable --now {service}\n" in calls
    assert "instalando paquetes de Debian:" in said


@pytest.mark.root(reason="el wrapper solo instala paquetes como root")
def test_an_nginx_the_machine_already_had_is_left_running(tmp_path):
    calls, _ = _run_wrapper(tmp_path, installed=("nginx", "haproxy", "keepalived"))
    install = next(line for line in calls.splitlines() if " install " in line)
    assert " memcached" in install and " nginx" not in install
    assert "systemctl disable --now memcached\n" in calls
    assert "nginx" not in calls.replace(install, "")  # neither installed nor disabled
