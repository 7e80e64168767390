"""Numbers the prose quotes, read from the configuration files the plan renders.

Pages explain timings ("cada 2 s, tras 3 fallos") and limits (maxconn). Those
values live in the templates, not in the site data, so the pages take them
from the rendered files themselves: a template change cannot leave the prose
behind, and a template that no longer has the setting fails the build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import RunbookError
from ..plan.steps import FileAction, Plan


class ConfigValueError(RunbookError, ValueError):
    """A value the pages quote is missing from the rendered configuration."""


@dataclass(frozen=True)
class TrackScript:
    name: str
    interval: int  # seconds between runs
    fall: int  # failures in a row that put the VRRP instance in FAULT
    rise: int  # successes in a row that bring it back


@dataclass(frozen=True)
class ServerChecks:
    inter: float  # seconds between health checks
    fall: int
    rise: int


@dataclass(frozen=True)
class MaintenanceFile:
    path: str  # the file keepalived watches (track_file)
    weight: int  # what a 1 in it adds to the node's priority (negative: lowers it)


@dataclass(frozen=True)
class ConfigFacts:
    track: TrackScript
    checks: ServerChecks
    global_maxconn: int
    maintenance: MaintenanceFile
    # The line of each `listen` block's `bind` in haproxy.cfg (HAProxy's alerts cite it).
    bind_lines: dict[str, int]
    # The lines of keepalived.conf that name the LAN interface (keepalived -t cites them
    # when the interface does not exist): the instance's `interface` and the VIP's `dev`.
    interface_lines: tuple[int, ...]


def _file(plan: Plan, name: str) -> str:
    node = plan.site.vip_owner.name
    for action in plan.actions(node):
        if isinstance(action, FileAction) and action.path.rsplit("/", 1)[-1] == name:
            return action.content
    raise ConfigValueError(f"el plan no escribe ningún {name}")


def _number(pattern: str, text: str, what: str) -> str:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise ConfigValueError(f"no encuentro {what} en la configuración generada")
    return match.group(1)


def _seconds(value: str) -> float:
    """HAProxy time: `2s`, `2000` (ms by default), `500ms`."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", value)
    if match is None:
        raise ConfigValueError(f"tiempo de HAProxy no reconocido: {value!r}")
    number, unit = float(match.group(1)), match.group(2) or "ms"
    return number * {"ms": 0.001, "s": 1, "m": 60}[unit]


def config_facts(plan: Plan) -> ConfigFacts:
    keepalived = _file(plan, "keepalived.conf")
    script = re.search(r"^vrrp_script\s+(\S+)\s*\{(.*?)^\}", keepalived, re.MULTILINE | re.DOTALL)
    if script is None:
        raise ConfigValueError("no encuentro el bloque vrrp_script en keepalived.conf")
    body = script.group(2)
    track = TrackScript(
        name=script.group(1),
        interval=int(_number(r"^\s*interval\s+(\d+)", body, "interval del vrrp_script")),
        fall=int(_number(r"^\s*fall\s+(\d+)", body, "fall del vrrp_script")),
        rise=int(_number(r"^\s*rise\s+(\d+)", body, "rise del vrrp_script")),
    )
    haproxy = _file(plan, "haproxy.cfg")
    default_server = _number(r"^\s*default-server\s+(.*)$", haproxy, "default-server en haproxy.cfg")
    checks = ServerChecks(
        inter=_seconds(_number(r"\binter\s+(\S+)", default_server, "inter en default-server")),
        fall=int(_number(r"\bfall\s+(\d+)", default_server, "fall en default-server")),
        rise=int(_number(r"\brise\s+(\d+)", default_server, "rise en default-server")),
    )
    global_section = _number(r"^global\n((?:[ \t]+.*\n)+)", haproxy, "la sección global de haproxy.cfg")
    maxconn = int(_number(r"^\s*maxconn\s+(\d+)", global_section, "maxconn en la sección global"))
    tracked = re.search(r"^track_file\s+\S+\s*\{(.*?)^\}", keepalived, re.MULTILINE | re.DOTALL)
    if tracked is None:
        raise ConfigValueError("no encuentro el bloque track_file en keepalived.conf")
    maintenance = MaintenanceFile(
        path=_number(r'^\s*file\s+"([^"]+)"', tracked.group(1), "el fichero del track_file"),
        weight=int(_number(r"^\s*weight\s+(-?\d+)", tracked.group(1), "weight del track_file")),
    )
    iface = plan.site.network.lan.interface
    interface_lines = tuple(
        n for n, line in enumerate(keepalived.splitlines(), start=1)
        if line.split()[:2] == ["interface", iface] or line.split()[-2:] == ["dev", iface]
    )
    if not interface_lines:
        raise ConfigValueError(f"keepalived.conf no nombra la interfaz {iface}")
    return ConfigFacts(track=track, checks=checks, global_maxconn=maxconn, bind_lines=_bind_lines(haproxy),
                       interface_lines=interface_lines, maintenance=maintenance)


def _bind_lines(haproxy: str) -> dict[str, int]:
    out: dict[str, int] = {}
    proxy = None
    for number, line in enumerate(haproxy.splitlines(), start=1):
        words = line.split()
        if words[:1] in (["listen"], ["frontend"]) and len(words) > 1:
            proxy = words[1]
        elif words[:1] == ["bind"] and proxy is not None:
            out.setdefault(proxy, number)
    return out
