"""The rehearsal's site file: made from your site, checked, written to its state dir, read back.

The derived site is never in site_data/: it lives in the rehearsal's state
dir (`/var/lib/runbook/rh-SITE/SITE.yaml`), next to the lab's ssh_config and
secret, and is made again by every `./rb rehearse`. `./rb lab.ssh --site
SITE` and `./rb lab.down --site SITE` find it here (lab_site).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..lab.errors import LabError
from .mapping import address_map, derive, site_file

HEADER = """\
# Ensayo del sitio {name} en el laboratorio de esta máquina, escrito por ./rb rehearse a partir
# de {source}. No lo edites: cada ensayo lo vuelve a escribir. La misma forma que tu sitio
# (nombres, interfaces, servicios, puertos, comprobaciones, VRRP) en direcciones de documentación:
{addresses}
"""


@dataclass(frozen=True)
class Rehearsal:
    site: object  # the derived lab site (validated)
    plan: object  # its plan, built before anything starts
    text: str  # its file, as written
    path: Path
    addresses: dict[str, str]  # your address -> its lab address


def prepare(site, source: str) -> Rehearsal:
    """The rehearsal of a validated site; RehearsalError / LabError (exit 2) if the lab cannot hold it.

    Nothing is written or started: the derived site goes through the same loader as any site file,
    the lab's layout (names of namespaces, what each backend answers) and the planner.
    """
    from ..data.load import load_procedure, site_from_text
    from ..lab.layout import layout
    from ..plan.build import build_plan

    data = site.model_dump(mode="json")
    for service in data.get("services", []):
        # A tcp service's retry_on is HAProxy's default, never written: written, the model refuses it.
        if service.get("mode") == "tcp":
            service.get("resilience", {}).pop("retry_on", None)
    derived = derive(data)
    addresses = address_map(data)
    path = site_file(site.name)
    text = site_text(derived, addresses, source)
    lab_site = site_from_text(site.name, text, str(path))
    layout(lab_site)
    return Rehearsal(lab_site, build_plan(lab_site, load_procedure()), text, path, addresses)


def site_text(derived: dict, addresses: dict[str, str], source: str) -> str:
    lines = "\n".join(f"#   {yours} → {lab}" for yours, lab in addresses.items())
    header = HEADER.format(name=derived["name"], source=source, addresses=lines)
    return header + yaml.safe_dump(derived, sort_keys=False, allow_unicode=True, width=100)


def write(rehearsal: Rehearsal) -> None:
    rehearsal.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = rehearsal.path.with_suffix(".tmp")
    tmp.write_text(rehearsal.text, encoding="utf-8")
    os.replace(tmp, rehearsal.path)


def lab_site(site):
    """The site itself if it is a lab; else the rehearsal of it, if there is one (LabError 2 if not)."""
    if site.lab is not None:
        return site
    path = site_file(site.name)
    if not path.exists():
        raise LabError(f"el sitio {site.name!r} no es un laboratorio y no tiene ningún ensayo en {path}: "
                       f"ensáyalo con ./rb rehearse {site.name}", code=2)
    from ..data.load import load_site

    return load_site(site.name, path.parent)
