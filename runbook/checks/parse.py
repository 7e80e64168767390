"""Pure readers of the site's own rendered configs (what verify expects to find).

What a node answers is parsed by its fact (`runbook/facts/`); these read
names the checks need out of the configs the plan renders.
"""

from __future__ import annotations

import re


def haproxy_stats_socket(config: str) -> str | None:
    """The admin socket path declared in haproxy.cfg (`stats socket PATH ...`)."""
    match = re.search(r"^\s*stats\s+socket\s+(\S+)", config, re.MULTILINE)
    return match.group(1) if match else None


def keepalived_config_names(config: str) -> tuple[list[str], list[str]]:
    """(vrrp_script names, vrrp_instance names) declared in a keepalived.conf."""
    scripts = re.findall(r"^\s*vrrp_script\s+(\S+)", config, re.MULTILINE)
    instances = re.findall(r"^\s*vrrp_instance\s+(\S+)", config, re.MULTILINE)
    return scripts, instances
