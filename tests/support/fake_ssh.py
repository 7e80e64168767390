"""A stand-in `ssh` on PATH for tests that must see what would travel, with nothing dialled.

It records its arguments and standard input (FAKE_SSH_LOG), then runs the
remote part with the local bash, as sshd would run it on the node
(FAKE_SSH_MODE=silent: runs nothing and answers nothing; changed-key: fails
as ssh does, with FAKE_SSH_STDERR's text and exit status 255). `-O` (a
request to a master's socket) answers at once. FAKE_SSH_HANG names what
never answers, as with a node whose cable was cut: "master" (making one),
"command" (a command, over a master or not), or both, for every host or
FAKE_SSH_HANG_HOST only; such an ssh starts a child first, as a
ProxyCommand would be, and logs both process ids.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from runbook.data.load import load_site
from runbook.data.model import Ssh

FAKE_SSH = """#!/usr/bin/env python3
import json, os, subprocess, sys
args = sys.argv[1:]
data = b"" if "-M" in args or "-G" in args or "-O" in args else sys.stdin.buffer.read()
kind = "master" if "-M" in args else "other" if "-G" in args or "-O" in args else "command"
record = {"argv": args, "stdin": data.decode()}
hang = kind in os.environ.get("FAKE_SSH_HANG", "").split(",") and \
    os.environ.get("FAKE_SSH_HANG_HOST", args[-1]) in args
if hang:
    proxy = subprocess.Popen(["sleep", "3600"])
    record["pids"] = [os.getpid(), proxy.pid]
with open(os.environ["FAKE_SSH_LOG"], "a") as log:
    log.write(json.dumps(record) + "\\n")
if hang:
    proxy.wait()
if "-O" in args:
    sys.exit(0)
mode = os.environ.get("FAKE_SSH_MODE", "local")
if mode == "changed-key":
    sys.stderr.write(open(os.environ["FAKE_SSH_STDERR"]).read())
    sys.exit(255)
if "-M" in args or mode == "silent":  # silent: a node that answers nothing (nothing runs here)
    sys.exit(0)
done = subprocess.run(["bash", "-c", args[-1]], input=data)
sys.exit(done.returncode)
"""

@pytest.fixture
def masters(monkeypatch):
    """A private folder for master sockets, short enough for a socket's path (108 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="rbmux-"))
    monkeypatch.setenv("RUNBOOK_SSH_DIR", str(folder / "m"))
    yield folder / "m"
    shutil.rmtree(folder)


@pytest.fixture
def fake_ssh(tmp_path, monkeypatch, masters):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ssh = bin_dir / "ssh"
    ssh.write_text(FAKE_SSH.replace("/usr/bin/env python3", sys.executable))
    ssh.chmod(0o755)
    log = tmp_path / "ssh.log"
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SSH_LOG", str(log))

    def calls() -> list[dict]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


def real_site(tmp_path):
    """The published site (not a lab): the fake ssh stands in for its nodes, nothing is dialled."""
    site = load_site("olimpo")
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n    UserKnownHostsFile /dev/null\n")
    return site.model_copy(update={"ssh": Ssh(user="admin", port=2222, config=str(config))})


