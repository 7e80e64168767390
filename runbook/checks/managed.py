"""What the plan manages, as the registry reads it: files, units, sysctl settings, configs.

Everything verify checks is found here in the plan (what procedure.yaml
declares and its templates render), never typed as a constant: a unit is
one a managed file reloads; keepalived's and HAProxy's configurations are
the managed files that declare VRRP instances and an admin socket.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from ..plan.steps import FileAction, Plan, RunAction
from .parse import haproxy_stats_socket, keepalived_config_names

SYSCTL_DIR = "/etc/sysctl.d/"
# A key may name an interface: `net.ipv4.conf.eth1.arp_ignore`, `...conf.br-lan...`, and
# `...conf.eth1/100...` for a VLAN (sysctl's own spelling of a name with a dot).
_SYSCTL_LINE = re.compile(r"^\s*-?\s*([\w./-]+)\s*=\s*(\S+)\s*$")
_PER_INTERFACE = re.compile(r"^net\.ipv[46]\.(?:conf|neigh)\.(.+)\.([^.]+)$")


def managed_files(plan: Plan) -> list[FileAction]:
    """Each managed path once (first node's action), in procedure order."""
    seen: dict[str, FileAction] = {}
    for action in plan.actions():
        if isinstance(action, FileAction) and action.path not in seen:
            seen[action.path] = action
    return list(seen.values())


def file_check_id(path: str) -> str:
    """`/etc/haproxy/haproxy.cfg` -> `fichero-haproxy`: short, stable, readable."""
    base = path.rstrip("/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return f"fichero-{slug or 'sin-nombre'}"


def per_node(plan: Plan, path: str) -> dict[str, FileAction]:
    return {
        n: a for n in plan.node_names for a in plan.actions(n) if isinstance(a, FileAction) and a.path == path
    }


def _declaring(plan: Plan, finds: Callable[[str], object]) -> FileAction | None:
    """The first managed file in which `finds` finds something (by content, never by path)."""
    return next((a for a in managed_files(plan) if finds(a.content)), None)


def keepalived_config(plan: Plan) -> FileAction | None:
    """keepalived's configuration: the managed file that declares VRRP instances."""
    return _declaring(plan, lambda text: keepalived_config_names(text)[1])


def haproxy_config(plan: Plan) -> FileAction | None:
    """HAProxy's configuration: the managed file that declares its admin socket."""
    return _declaring(plan, haproxy_stats_socket)


def step_of(action: FileAction | None) -> str | None:
    return action.step if action else None


def managed_units(plan: Plan) -> tuple[str, ...]:
    """The units the procedure configures (a managed file reloads them), by name."""
    return tuple(sorted({a.service for a in managed_files(plan) if a.service}))


def enabling_step(plan: Plan, unit: str | None) -> str | None:
    """The step that enables `unit` (`systemctl enable ... UNIT`), else the step of its config."""
    for action in plan.actions(plan.node_names[0]):
        if isinstance(action, RunAction) and unit:
            words = shlex.split(action.command, comments=True)
            if "systemctl" in words and "enable" in words and unit in words:
                return action.step
    return step_of(next((a for a in managed_files(plan) if a.service == unit), None))


def persisted_sysctls(plan: Plan) -> list[tuple[str, str, str]]:
    """(key, value, step) of every setting the procedure writes under /etc/sysctl.d/."""
    out = []
    for action in managed_files(plan):
        if action.path.startswith(SYSCTL_DIR):
            for line in action.content.splitlines():
                match = _SYSCTL_LINE.match(line)
                if match:
                    out.append((match.group(1), match.group(2), action.step))
    return out


def sysctl_check_id(key: str) -> str:
    """`net.ipv4.ip_nonlocal_bind` -> `nonlocal-bind-persistente` (IPv4 keys repeat `ip_`).

    A per-interface key keeps its interface, so `all` and `eth1` do not collide:
    `net.ipv4.conf.eth1.arp_ignore` -> `arp-ignore-eth1-persistente`.
    """
    name, interface = sysctl_name(key)
    name = name.removeprefix("ip_") + (f"-{interface}" if interface else "")
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + "-persistente"


def sysctl_name(key: str) -> tuple[str, str | None]:
    """(setting, interface or None): `net.ipv4.conf.eth1.arp_ignore` -> (`arp_ignore`, `eth1`)."""
    match = _PER_INTERFACE.match(key)
    if match:
        return match.group(2), match.group(1).replace("/", ".")
    return key.rsplit(".", 1)[-1], None


def keepalived_names(plan: Plan) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per node: (vrrp_script names, vrrp_instance names) of its rendered keepalived config."""
    config = keepalived_config(plan)
    configs = per_node(plan, config.path) if config else {}
    names = {n: keepalived_config_names(a.content) for n, a in configs.items()}
    return {n: s for n, (s, _) in names.items()}, {n: i for n, (_, i) in names.items()}
