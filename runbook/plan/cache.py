"""A validated plan kept on disk, so that `./rb verify` and `./rb deploy` do not rebuild it.

Loading and planning a site costs most of a second of a short command:
pydantic validates both YAML files, Jinja2 renders every template, and the
imports of both come first. The result depends only on files, so it is kept
(pickled) under a key that is a hash of every one of them, read in full each
time:

- the site's YAML file and procedure.yaml (RUNBOOK_DATA_DIR is honoured);
- every file of the templates in use (RUNBOOK_TEMPLATE_DIR too);
- every file of the runbook package itself (the models, the planner, the
  rules that check the data), and the installed distributions (their
  `*.dist-info` names: pydantic's or Jinja2's version);
- the Python version, the working folder (error messages name files relative
  to it) and where the files were found.

Any change of any byte is another key: the plan is built again by
`load_site`/`build_plan`, so bad data gives exactly the same one-line error
(file, line, field, exit code 2) as without a cache; only a plan that was
built without error is ever stored. Anything unusual (a data file that is
not a regular file, an unreadable cache, a cache folder that another user
could write) means: no cache, the normal path. RUNBOOK_PLAN_CACHE=0 turns it
off; RUNBOOK_CACHE_DIR moves it (default: $XDG_CACHE_HOME/runbook or
~/.cache/runbook). Each site and data folder has one file there
(`plan-SITE-SLOT.pickle`), replaced atomically, and only the newest
MAX_FILES are kept.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..data.renamed import uses_old_keys
from ..names import NAME_RE, PUBLISHED_SITE, data_dir, template_dir

if TYPE_CHECKING:
    from .steps import Plan

FORMAT = b"runbook-plan-cache 5\n"
MAX_FILES = 32
MAX_DATA_BYTES = 1 << 20  # yaml_strict's own limit: bigger files take the normal path (and its error)
PACKAGE_DIR = Path(__file__).resolve().parent


def cache_dir() -> Path | None:
    if os.environ.get("RUNBOOK_PLAN_CACHE", "1") in ("0", ""):
        return None
    explicit = os.environ.get("RUNBOOK_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "runbook"


def cached_plan(site_name: str | None, build: Callable[[], Plan]) -> Plan:
    """The plan of `site_name` from the cache when every input is unchanged, else `build()` (and store it)."""
    name = PUBLISHED_SITE if site_name is None else site_name
    folder = cache_dir()
    key = _key(name) if folder is not None else None
    if folder is None or key is None:
        return build()
    path = folder / f"plan-{name}-{key[0]}.pickle"
    found = _read(path, key[1])
    if found is not None:
        return found
    plan = build()  # raises the usual DataError/PlanError on bad input: nothing is stored then
    if _key(name) == key:  # a file edited while the plan was built: not stored under the old key
        _write(folder, path, key[1], plan)
    return plan


# ------------------------------------------------------------------------- key


def _key(name: str) -> tuple[str, bytes] | None:
    """(slot, digest): the slot names the site and where its files are; the digest, their every byte."""
    if not isinstance(name, str) or not NAME_RE.match(name) or name == "procedure":
        return None  # the normal path names the problem
    data = data_dir()
    templates = template_dir()
    where = "\0".join((name, str(data.absolute()), str(templates.absolute()), os.getcwd()))
    slot = hashlib.sha256(where.encode()).hexdigest()[:16]
    digest = hashlib.sha256(FORMAT)
    digest.update(where.encode() + b"\0")
    digest.update(f"{sys.version}\0{sys.implementation.cache_tag}\0".encode())
    try:
        for path in (data / f"{name}.yaml", data / "procedure.yaml"):
            raw = _data_file(path)
            if uses_old_keys(raw):
                return None  # loaded every time, so that its notice is printed every time
            digest.update(raw + b"\0")
        _tree(digest, templates)
        _tree(digest, PACKAGE_DIR)
    except (OSError, ValueError):
        return None
    for entry in _distributions():
        digest.update(entry.encode() + b"\0")
    return slot, digest.digest()


def _data_file(path: Path) -> bytes:
    info = path.stat()  # follows a symlink, as the loader does
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_DATA_BYTES:
        raise ValueError(path)  # a FIFO or a huge file: the loader's error, never a hang here
    return path.read_bytes()


def _tree(digest, root: Path) -> None:
    """Every regular file under `root` (but compiled bytecode), by relative name and content."""
    if not root.is_dir():
        raise ValueError(root)
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for file in sorted(files):
            path = os.path.join(folder, file)
            if file.endswith((".pyc", ".pyo")) or not os.path.isfile(path):
                continue
            digest.update(os.path.relpath(path, root).encode() + b"\0")
            digest.update(_data_file(Path(path)) + b"\0")


def _distributions() -> list[str]:
    """Names (with versions) of the installed distributions: an upgrade of pydantic is another key."""
    found = []
    for entry in sys.path:
        if os.path.basename(entry) in ("site-packages", "dist-packages") and os.path.isdir(entry):
            found += sorted(f"{entry}/{n}" for n in os.listdir(entry) if n.endswith(".dist-info"))
    return found


# ----------------------------------------------------------------------- store


def _trusted(folder: Path) -> bool:
    """Only a folder of ours that nobody else can write holds pickles we load."""
    try:
        info = folder.stat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022


def _read(path: Path, digest: bytes) -> Plan | None:
    """The plan in the file for `digest`; None when it is not there."""
    if not _trusted(path.parent):
        return None
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.geteuid() or handle.read(len(FORMAT)) != FORMAT:
                return None
            if handle.read(len(digest)) != digest:
                return None  # the inputs changed: built again, and this file replaced
            return pickle.load(handle)
    except Exception:  # noqa: BLE001 - missing, truncated, from an older runbook: built again
        return None


def _write(folder: Path, path: Path, digest: bytes, plan: Plan) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted(folder):
            return
        import tempfile  # only when a plan is stored: its import (shutil, bz2, lzma) costs every read

        handle = tempfile.NamedTemporaryFile(dir=folder, prefix=".plan-", delete=False)
        try:
            with handle:
                handle.write(FORMAT + digest)
                pickle.dump(plan, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(handle.name, path)
        except BaseException:
            os.unlink(handle.name)
            raise
        _prune(folder)
    except Exception:  # noqa: BLE001 - a read-only or full disk: the plan is still right, just not kept
        return


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("plan-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[MAX_FILES:]:
        old.unlink(missing_ok=True)
