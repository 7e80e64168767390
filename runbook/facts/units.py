"""systemd units: loaded, active, enabled."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from .base import Fact, Probe


def systemctl_show(text: str) -> dict[str, dict[str, str]]:
    """`systemctl show -p Id,... UNIT...` -> {unit name without .service: {Property: value}}."""
    units: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if "Id" in props:
            units[props["Id"].removesuffix(".service")] = props
    return units


@dataclass(frozen=True)
class UnitState(Fact["dict[str, str] | None"]):
    """One unit's own properties, asked by its name alone (never `is-active a b`,
    which succeeds when *one* of them is active); None when systemd does not report it."""

    unit: str

    @property
    def key(self) -> str:
        return f"unidad:{self.unit}"

    def command(self) -> str:
        unit = shlex.quote(f"{self.unit}.service")
        return f"systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState {unit}"

    def parse(self, probe: Probe) -> dict[str, str] | None:
        return systemctl_show(probe.output).get(self.unit)
