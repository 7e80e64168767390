"""IPv4 addresses on a node's interfaces, and whether it holds the VIP.

The same command and parser serve over SSH (deploy, verify) and locally in
the lab's network namespaces (`lab.status`, the drill's ~50 Hz sampler).
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass

from .base import Fact, FactCommandError, Probe


def ipv4_addresses(text: str) -> dict[str, list[str]]:
    """`ip -4 -o addr show` -> {interface: ["198.51.100.110/24", ...]}."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] == "inet":
            out.setdefault(parts[1], []).append(parts[3])
    return out


def addresses_only(addresses: dict[str, list[str]]) -> list[str]:
    """Every address without its prefix length, in the order `ip` listed them."""
    return [a.split("/")[0] for addrs in addresses.values() for a in addrs]


def vip_held(addresses: dict[str, list[str]], vip: str) -> bool:
    """The one definition of "this node holds the VIP": it is on one of its interfaces."""
    return vip in addresses_only(addresses)


def vip_condition(vip: str) -> str:
    """The same question as a shell condition, for the Ansible export (no parser there)."""
    return f"ip -o -4 addr show 2>/dev/null | grep -qF -- {shlex.quote(f' inet {vip}/')}"


@dataclass(frozen=True)
class Ipv4Addresses(Fact[dict[str, list[str]]]):
    quick = True  # reads local state only: runs in the shared subshell

    dev: str | None = None  # None: every interface

    @property
    def key(self) -> str:
        return "ipv4" if self.dev is None else f"ipv4:{self.dev}"

    def argv(self, netns: str | None = None) -> list[str]:
        where = ["-n", netns] if netns else []
        return ["ip", *where, "-4", "-o", "addr", "show", *(["dev", self.dev] if self.dev else [])]

    def command(self) -> str:
        return shlex.join(self.argv())

    def parse(self, probe: Probe) -> dict[str, list[str]]:
        if probe.exit_code != 0:
            raise FactCommandError(f"no se pudieron leer las direcciones (código {probe.exit_code}): "
                                f"{probe.output.strip()[:200]}")
        return ipv4_addresses(probe.output)

    def local(self, netns: str) -> dict[str, list[str]]:
        """A lab node's addresses read from this machine through its namespace (no SSH).

        A namespace that is gone (a crashed node) has no addresses: empty, not an error.
        """
        done = subprocess.run(self.argv(netns), capture_output=True, text=True)
        return ipv4_addresses(done.stdout) if done.returncode == 0 else {}
