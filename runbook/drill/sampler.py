"""Who holds the VIP, sampled on every node from this machine (no SSH in the loop).

Each sample reads every node's LAN addresses with the VIP fact's own
command and parser (`Ipv4Addresses(dev).local(netns)`: `ip -n <node netns>
-4 -o addr show dev <lan>`): the lab's nodes are network namespaces, so the
host reads their addresses directly, tens of times per second, without
disturbing the nodes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ..facts.net import Ipv4Addresses, ipv4_addresses, vip_held

SAMPLE_INTERVAL_S = 0.02  # 50 Hz target; the achieved rate is reported


@dataclass
class Sample:
    t: float  # epoch seconds (same clock as the load client)
    holders: tuple[str, ...]  # nodes with the VIP on their LAN interface


def vip_in(out: str, vip: str) -> bool:
    """Whether `ip -4 -o addr show` output (read over SSH on a real site) lists the VIP."""
    return vip_held(ipv4_addresses(out), vip)


def holders_now(netns_by_node: dict[str, str], dev: str, vip: str) -> tuple[str, ...]:
    fact = Ipv4Addresses(dev)
    return tuple(node for node, netns in netns_by_node.items() if vip_held(fact.local(netns), vip))


@dataclass
class VipSampler:
    netns_by_node: dict[str, str]
    dev: str
    vip: str
    interval: float = SAMPLE_INTERVAL_S
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vip-sampler", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            begun = time.time()
            holders = holders_now(self.netns_by_node, self.dev, self.vip)
            self.samples.append(Sample(t=(begun + time.time()) / 2, holders=holders))
            self._stop.wait(max(0.0, self.interval - (time.time() - begun)))

    def __enter__(self) -> VipSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def rate_hz(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        return (len(self.samples) - 1) / (self.samples[-1].t - self.samples[0].t)
