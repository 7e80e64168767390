"""A lab site with any number of balancers, generated beside the main lab.

Kept out of site_data/ (it is not a site to publish or document): written
into a data folder of its own, used through RUNBOOK_DATA_DIR. It has its own
`namespace` and its own ssh.config folder, so it runs beside the main lab
without touching it; node names differ from the main lab's too (one
systemd-nspawn machine name each on this host).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from runbook.data.load import REPO_ROOT

NAMES = ("atenea", "apolo", "artemisa", "hermes", "demeter", "dioniso")


def write_sized_lab(directory: Path, count: int) -> str:
    """Write lab<count>.yaml and procedure.yaml into `directory`; return the site's name."""
    if not 2 <= count <= len(NAMES):
        raise ValueError(count)
    name = f"lab{count}"
    state = Path(f"/var/lib/runbook/{name}")
    site = yaml.safe_load((REPO_ROOT / "site_data" / "lab.yaml").read_text())
    site["name"] = name
    site["title"] = f"Laboratorio de {count} balanceadores"
    site["vrrp"]["router_id"] = 50 + count
    site["ssh"]["config"] = str(state / "ssh_config")
    site["secrets"]["stats_password"]["file"] = str(state / "secrets" / "stats_password")
    site["lab"]["namespace"] = f"rb-{name}"
    site["nodes"] = [
        {"name": NAMES[i], "lan_address": f"198.51.100.{120 + i}", "management_address": f"192.0.2.{20 + i}",
         "priority": 110 - 5 * i}
        for i in range(count)
    ]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.yaml").write_text(yaml.safe_dump(site, sort_keys=False, allow_unicode=True))
    shutil.copy(REPO_ROOT / "site_data" / "procedure.yaml", directory / "procedure.yaml")
    return name
