"""Debian 13's own haproxy and keepalived, to check rendered configs with both releases' binaries.

The host is Debian 12: its haproxy (2.6) and keepalived (2.2) are the
`validators` of tests/unit. Debian 13's (haproxy 3.0, keepalived 2.3) come
from the trixie lab base (runbook/lab/base.py builds it when missing): the
packages of its local repository are unpacked once into a tree beside the
base, and each check runs chrooted in a read-only overlay of that tree on the
base rootfs with a tmpfs on top (keepalived watches its maintenance file, so
/etc/keepalived must be writable), mounted in a private mount namespace
(`unshare -m`), so nothing stays mounted and two checks may run at once.
Unpacking runs no maintainer script: the haproxy user and group that
haproxy's postinst would add are added to the tree's passwd and group.
"""

from __future__ import annotations

import fcntl
import shlex
import subprocess
import uuid
from pathlib import Path

from runbook.lab.base import REPO_IN_IMAGE, ensure_base

SUITE = "trixie"
READY = "listo"


def validators_tree(log=lambda message: None) -> tuple[Path, Path]:
    """(base rootfs, tree with Debian 13's haproxy, keepalived and psmisc unpacked)."""
    rootfs = ensure_base(log, SUITE)
    tree = rootfs.parent / "validators13"
    if (tree / READY).exists():
        return rootfs, tree
    with open(rootfs.parent / ".validators13.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (tree / READY).exists():
            files = tree / "files"
            subprocess.run(["rm", "-rf", str(tree)], check=True)
            files.mkdir(parents=True)
            for deb in sorted((rootfs / REPO_IN_IMAGE).glob("*.deb")):
                subprocess.run(["dpkg-deb", "-x", str(deb), str(files)], check=True)
            (files / "tmp").mkdir(exist_ok=True)
            (files / "etc").mkdir(exist_ok=True)
            passwd = (rootfs / "etc/passwd").read_text() + "haproxy:x:990:990::/var/lib/haproxy:/usr/sbin/nologin\n"
            group = (rootfs / "etc/group").read_text() + "haproxy:x:990:\n"
            (files / "etc/passwd").write_text(passwd)
            (files / "etc/group").write_text(group)
            (tree / READY).write_text("haproxy keepalived psmisc\n")
    return rootfs, tree


def run13(argv: list[str], files: dict[str, str], netns: str | None = None) -> subprocess.CompletedProcess:
    """Run `argv` with Debian 13's programs; `files` (name -> text) appear in /tmp first.

    Each {name} in argv is replaced by that file's path inside the chroot.
    """
    rootfs, tree = validators_tree()
    run_dir = tree / "runs" / uuid.uuid4().hex
    (run_dir / "top").mkdir(parents=True)
    (run_dir / "root").mkdir()
    (run_dir / "in").mkdir()
    try:
        top, root = run_dir / "top", run_dir / "root"
        for name, text in files.items():
            (run_dir / "in" / name).write_text(text, encoding="utf-8")
        writes = [f"mkdir -p {top}/upper/tmp {top}/work", f"cp -a {run_dir}/in/. {top}/upper/tmp/"]
        argv = [a.format(**{name: f"/tmp/{name}" for name in files}) for a in argv]
        script = " && ".join([
            f"mount -t tmpfs tmpfs {top}", *writes,
            f"mount -t overlay overlay -o lowerdir={tree / 'files'}:{rootfs},upperdir={top}/upper,"
            f"workdir={top}/work {root}",
            f"exec chroot {root} {shlex.join(argv)}",
        ])
        prefix = ["ip", "netns", "exec", netns] if netns else []
        return subprocess.run([*prefix, "unshare", "-m", "--propagation", "private", "sh", "-c", script],
                              capture_output=True, text=True, timeout=60)
    finally:
        subprocess.run(["rm", "-rf", str(run_dir)], check=False)
