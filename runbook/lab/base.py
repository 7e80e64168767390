"""The base tree every node boots from: Debian 12 or 13 + a local apt repository.

Built once per release with debootstrap and cached under
/var/cache/runbook/base-<hash>/, where <hash> covers the whole recipe (suite,
mirror, package lists, the setup script). Changing any of them builds a new
base; nodes mount it read-only as the lower layer of their overlay.

The local repository holds the closure of haproxy, keepalived, psmisc and nftables. For
the host's own release (bookworm) the host's apt computes and downloads it;
for another release, an apt configuration of its own (sources of that
release, its own lists and cache under the build directory) does.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .errors import LabError, PrerequisiteError
from .layout import CACHE_DIR
from .sysutil import mounts_under, unmount

# The site's `os` → the Debian suite its lab nodes boot.
SUITES = {"debian12": "bookworm", "debian13": "trixie"}
SUITE = SUITES["debian12"]  # the host's release: its apt serves the repository
MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# What a fresh Debian server has: systemd, sshd, ifupdown, iproute2, procps
# (sysctl), curl and nc for checks, python3 (Debian's standard system
# utilities bring it; Ansible needs it on the managed nodes) and netbase
# (/etc/protocols: nft reads the names vrrp and icmp there; priority important). NOT haproxy,
# keepalived, psmisc or nftables: deploy installs those, from the local repository below.
BASE_PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "ifupdown",
    "procps", "iputils-ping", "curl", "netcat-openbsd", "less", "python3", "netbase",
)
REPO_PACKAGES = ("haproxy", "keepalived", "psmisc", "nftables")
REPO_IN_IMAGE = "var/local/lab-repo"
SETUP_SCRIPT = Path(__file__).with_name("setup-base.sh")
# Bump when the way the base is assembled (this file) changes.
FORMAT = 1


def suite_of(os_name: str) -> str:
    return SUITES[os_name]


def repo_sources(suite: str) -> list[str]:
    """The apt sources the local repository of another release is downloaded from."""
    signed = f"deb [signed-by={KEYRING}]"
    return [f"{signed} {MIRROR} {suite} main", f"{signed} {MIRROR} {suite}-updates main",
            f"{signed} {SECURITY_MIRROR} {suite}-security main"]


def recipe(suite: str = SUITE) -> dict:
    made = {
        "format": FORMAT,
        "suite": suite,
        "mirror": MIRROR,
        "packages": sorted(BASE_PACKAGES),
        "repo_packages": sorted(REPO_PACKAGES),
        "setup_sha256": hashlib.sha256(SETUP_SCRIPT.read_bytes()).hexdigest(),
    }
    if suite != SUITE:
        made["repo_sources"] = repo_sources(suite)
    return made


def recipe_hash(suite: str = SUITE) -> str:
    blob = json.dumps(recipe(suite), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def base_dir(suite: str = SUITE) -> Path:
    return CACHE_DIR / f"base-{recipe_hash(suite)}"


def ensure_base(log=print, suite: str = SUITE) -> Path:
    """The rootfs of the current recipe of `suite`, built first if missing."""
    target = base_dir(suite)
    rootfs = target / "rootfs"
    if (target / "recipe.json").exists():
        return rootfs
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # One builder at a time (tests and CLI may race); the loser reuses the result.
    with open(CACHE_DIR / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("esperando a que termine otra construcción de la imagen base")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "recipe.json").exists():
            return rootfs
        global _LOCK_FD
        # A high descriptor: debootstrap reuses fds 3-5 for its own output.
        _LOCK_FD = fcntl.fcntl(lock.fileno(), fcntl.F_DUPFD_CLOEXEC, 100)
        try:
            _build(target, log, suite)
        finally:
            os.close(_LOCK_FD)
            _LOCK_FD = None
        _prune_old(target)  # under the lock: never removes a build in progress
    return rootfs


# The builders' children inherit the cache lock: if `lab.up` is killed during
# a build, an orphaned debootstrap keeps the lock until it exits, so the next
# build cannot start on top of a tree that is still being written.
_LOCK_FD: int | None = None


def _children_fds() -> tuple[int, ...]:
    return (_LOCK_FD,) if _LOCK_FD is not None else ()


def _remove_tree(path: Path) -> None:
    """rmtree that first unmounts what debootstrap may have left mounted."""
    for point in mounts_under(path):
        unmount(point)
    if not mounts_under(path):
        shutil.rmtree(path, ignore_errors=True)


def _build(target: Path, log, suite: str = SUITE) -> None:
    for tool in ("debootstrap", "apt-ftparchive"):
        if shutil.which(tool) is None:
            pkg = "debootstrap" if tool == "debootstrap" else "apt-utils"
            raise PrerequisiteError(
                f"falta {tool}: instálalo con «apt-get install {pkg}» para construir la imagen base"
            )
    tmp = target.with_name(target.name + ".tmp")
    _remove_tree(tmp)
    tmp.mkdir(parents=True)
    started = time.monotonic()
    log(f"construyendo la imagen base {target.name} (debootstrap, ~1 min la primera vez)")
    # debootstrap (the slow part) and the repository download run in parallel.
    with ThreadPoolExecutor(2) as pool:
        boot = pool.submit(_debootstrap, tmp / "rootfs", tmp / "debootstrap.log", suite)
        repo = pool.submit(local_repo, tmp / "repo", tmp / "repo.log", suite, tmp / "apt")
        boot.result()
        count = repo.result()
    shutil.move(tmp / "repo", tmp / "rootfs" / REPO_IN_IMAGE)
    _run(["sh", str(SETUP_SCRIPT), str(tmp / "rootfs")], "preparar la imagen base")
    shutil.rmtree(tmp / "apt", ignore_errors=True)
    (tmp / "recipe.json").write_text(json.dumps(recipe(suite), indent=2) + "\n")
    os.rename(tmp, target)
    log(f"imagen base lista en {time.monotonic() - started:.0f} s ({count} paquetes en el repositorio local)")


def _debootstrap(rootfs: Path, logfile: Path, suite: str) -> None:
    argv = [
        "debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
        suite, str(rootfs), MIRROR,
    ]
    with open(logfile, "w") as out:
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT,
                              pass_fds=_children_fds())
    if proc.returncode != 0:
        tail = logfile.read_text(errors="replace").strip().splitlines()[-5:]
        raise LabError("debootstrap falló:\n  " + "\n  ".join(tail))


def _apt_options(suite: str, root: Path, logfile: Path) -> list[str]:
    """apt options for `suite`: none for the host's release; else a tree of its own, updated now."""
    if suite == SUITE:
        return []
    for sub in ("etc/apt/sources.list.d", "etc/apt/preferences.d", "var/lib/apt/lists/partial",
                "var/cache/apt/archives/partial", "var/lib/dpkg"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "etc/apt/sources.list").write_text("\n".join(repo_sources(suite)) + "\n")
    (root / "var/lib/dpkg/status").write_text("")
    options = [f"-oDir::Etc={root}/etc/apt", f"-oDir::State={root}/var/lib/apt",
               f"-oDir::Cache={root}/var/cache/apt", f"-oDir::State::status={root}/var/lib/dpkg/status",
               "-oAPT::Get::List-Cleanup=0"]
    with open(logfile, "w") as out:
        proc = subprocess.run(["apt-get", *options, "update"], stdout=out, stderr=subprocess.STDOUT,
                              pass_fds=_children_fds())
    if proc.returncode != 0:
        raise LabError(f"apt-get update de {suite} falló (detalles en {logfile})")
    return options


def local_repo(repo: Path, logfile: Path, suite: str = SUITE, apt_root: Path | None = None,
               packages: tuple[str, ...] = REPO_PACKAGES) -> int:
    """Download the closure of `packages` for `suite` and index it (the base's, or the lab servers')."""
    repo.mkdir(parents=True)
    options = _apt_options(suite, apt_root or repo.with_name("apt"), logfile)
    deps = _run(
        ["apt-cache", *options, "depends", "--recurse", "--no-recommends", "--no-suggests",
         "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *packages],
        "calcular las dependencias del repositorio local",
    )
    # Lines starting with a letter are package names; "<virtual>" ones are not.
    names = sorted({ln.strip() for ln in deps.splitlines() if ln[:1].isalnum()})
    with open(logfile, "a") as out:
        proc = subprocess.run(["apt-get", *options, "download", *names], cwd=repo, stdout=out,
                              stderr=subprocess.STDOUT, pass_fds=_children_fds())
    if proc.returncode != 0:
        raise LabError(f"apt-get download falló (detalles en {logfile})")
    packages = _run(["apt-ftparchive", "packages", "."], "indexar el repositorio", cwd=repo)
    (repo / "Packages").write_text(packages)
    # A Release file keeps apt-get update quiet about an unsigned flat repo.
    release = _run(["apt-ftparchive", "release", "."], "indexar el repositorio", cwd=repo)
    (repo / "Release").write_text(release)
    return len(names)


def _run(argv: list[str], what: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise LabError(f"no se pudo {what}: {proc.stderr.strip()[-500:]}")
    return proc.stdout


def _suite_of_base(base: Path) -> str | None:
    try:
        return json.loads((base / "recipe.json").read_text()).get("suite")
    except (OSError, ValueError, AttributeError):
        return None


def _prune_old(keep: Path) -> None:
    """Remove bases of older recipes of the same release (400 MB each) unless a node still uses one.
    The base of the other release is kept: a lab of each may be up at once."""
    mounts = Path("/proc/self/mountinfo").read_text()
    suite = _suite_of_base(keep)
    for old in CACHE_DIR.glob("base-*"):
        if (old != keep and old.is_dir() and f"{old}/rootfs" not in mounts
                and _suite_of_base(old) in (suite, None)):
            _remove_tree(old)
