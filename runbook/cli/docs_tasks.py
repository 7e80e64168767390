"""`invoke docs`: the Spanish site, built from the plan (see runbook/site/plugin.py).

`--site SITE` builds that site's runbook (its values in every command, file
and check); without it, the published site. mkdocs.yml reads the site from
RUNBOOK_DOCS_SITE (`site: !ENV [RUNBOOK_DOCS_SITE, olimpo]`), which these
tasks set for MkDocs. The site is built into a fresh directory beside the
target (`site/`, or `site-SITE/` for another site) and swapped in only when
the build succeeded: a failed build leaves the last good site in place.
Exit codes: 2 bad data or an unknown site (checked before MkDocs starts,
nothing is written), 1 any other failure of the build.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from ..names import LAB_SITE, PUBLISHED_SITE, REPO_ROOT
from .common import FAILED, fail, out, plan_or_exit
from .errors import task

MKDOCS = os.path.join(os.path.dirname(sys.executable), "mkdocs")
CONFIG = REPO_ROOT / "mkdocs.yml"
# Material prints a long banner about its future on every build; it is noise here.
QUIET = {"NO_MKDOCS_2_WARNING": "1"}
SITE_ENV = "RUNBOOK_DOCS_SITE"  # read by mkdocs.yml: the site the runbook is built for
RENAME_EXCHANGE = 2  # linux/fs.h
SITE_HELP = f"sitio cuyo runbook construir (por defecto, el publicado: {PUBLISHED_SITE})"


def check_data(site: str | None = None) -> str:
    """Everything the MkDocs plugin reads, checked first: bad data is exit 2, before any write.

    Returns the name of the site to build."""
    from ..data.load import load_site

    name = plan_or_exit(site).site.name
    if name == PUBLISHED_SITE:
        load_site(LAB_SITE)  # the lab page, only in the published site, shows the lab's own values
    return name


def default_dest(site: str) -> Path:
    """`site/` for the published site; `site-SITE/` for another, so that neither replaces the other."""
    return REPO_ROOT / ("site" if site == PUBLISHED_SITE else f"site-{site}")


def mkdocs_env(site: str) -> dict[str, str]:
    return {**QUIET, SITE_ENV: site}


@task(default=True, help={"site": SITE_HELP,
                          "dest": "carpeta de salida (por defecto, site/; para otro sitio, site-SITIO/)"})
def build(c, site=None, dest=None):
    """Construye la web con --strict: cualquier aviso o desajuste con el plan es un error.

    Sin --site, la del sitio publicado; con --site SITIO, el runbook de ese sitio, con sus
    valores en cada orden, fichero y comprobación."""
    import shutil  # here, with tempfile: with ctypes they cost ~10 ms of every ./rb start
    import tempfile

    name = check_data(site)
    target = Path(dest) if dest else default_dest(name)
    if not target.parent.is_dir():
        raise fail(f"no existe la carpeta {target.parent}")
    if target.exists() and not target.is_dir():
        raise fail(f"{target} existe y no es una carpeta")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-nuevo-", dir=target.parent))
    try:
        result = c.run(
            f"{shlex.quote(MKDOCS)} build --strict --clean -f {shlex.quote(str(CONFIG))} "
            f"-d {shlex.quote(str(staging))}",
            env=mkdocs_env(name),
            pty=False,
            warn=True,
            in_stream=False,  # MkDocs reads nothing from us
        )
        if not result.ok:
            kept = f"; se conserva la web anterior en {target}" if target.is_dir() else ""
            raise fail(f"la web no se pudo construir (el motivo está en los mensajes de MkDocs){kept}",
                       FAILED)
        os.chmod(staging, 0o755)  # mkdtemp made it private; the site is meant to be served
        swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    out(f"Web del sitio {name} en {target}/index.html")


def swap_in(new: Path, target: Path) -> None:
    """Put `new` where `target` is, atomically when the kernel can (renameat2 RENAME_EXCHANGE)."""
    import shutil

    if not target.exists():
        os.rename(new, target)
        return
    if _exchange(new, target):
        shutil.rmtree(new)  # now holds the old site
        return
    old = target.with_name(f".{target.name}-anterior-{os.getpid()}")
    os.rename(target, old)
    os.rename(new, target)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), RENAME_EXCHANGE) == 0


@task(help={"site": SITE_HELP, "port": "puerto en 127.0.0.1 (por defecto, 8000)"})
def serve(c, site=None, port=8000):
    """Sirve la web en http://127.0.0.1:PUERTO y la reconstruye al editar páginas o datos.

    Con --site SITIO, el runbook de ese sitio."""
    name = check_data(site)
    c.run(f"{shlex.quote(MKDOCS)} serve --strict -f {shlex.quote(str(CONFIG))} -a 127.0.0.1:{int(port)}",
          env=mkdocs_env(name), pty=False)
