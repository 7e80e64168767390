"""The drill on a site that is not the lab (only with --yes): faults and VIP sampling over SSH.

The nodes are real machines: no namespace to read from this host, no cable to
pull. Each fault runs its command over the site's own SSH connections (the
ones deploy and verify use). The VIP is sampled by one long-lived SSH session
per node that prints `ip -4 -o addr show dev <lan>` every few hundredths of a
second for a bounded time: no SSH handshake per sample, and the loop ends by
itself on the node even if this machine goes away. Samples carry this
machine's receive time (one clock for everything, as on the lab).
"""

from __future__ import annotations

import shlex
import threading
import time

from ..facts.net import Ipv4Addresses
from ..remote import transport
from .sampler import Sample, vip_in
from .scenarios import DrillError

BLOCK_END = "@@fin@@"  # printed after each reading, ends one node's sample
REMOTE_INTERVAL_S = 0.02


def sampling_loop(dev: str, seconds: float, interval: float = REMOTE_INTERVAL_S) -> str:
    """The shell loop each node runs: one reading per interval, for `seconds` at most."""
    return (f"end=$(( $(date +%s) + {int(seconds) + 1} )); "
            f"while [ $(date +%s) -lt $end ]; do ip -4 -o addr show dev {shlex.quote(dev)}; "
            f"echo {BLOCK_END}; sleep {interval:g}; done")


class _NodeStream:
    """File-like sink for one node's sampling output: each finished block updates its state."""

    def __init__(self, sampler: RemoteVipSampler, node: str):
        self.sampler, self.node, self.buffer = sampler, node, ""

    def write(self, text: str) -> None:
        self.buffer += text
        while BLOCK_END + "\n" in self.buffer:
            block, self.buffer = self.buffer.split(BLOCK_END + "\n", 1)
            self.sampler.reading(self.node, vip_in(block, self.sampler.vip))

    def flush(self) -> None:
        pass


class RemoteVipSampler:
    """Same interface as VipSampler (`samples`, `rate_hz`, a context manager), fed over SSH."""

    def __init__(self, connections: dict, dev: str, vip: str, seconds: float):
        self.connections, self.dev, self.vip, self.seconds = connections, dev, vip, seconds
        self.samples: list[Sample] = []
        self._state: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(node,), daemon=True,
                                          name=f"vip-sampler-{node}") for node in connections]
        self.errors: dict[str, str] = {}

    def _run(self, node: str) -> None:
        try:
            self.connections[node].run(sampling_loop(self.dev, self.seconds), hide=True, warn=True,
                                       out_stream=_NodeStream(self, node))
        except Exception as exc:  # noqa: BLE001 - reported after the scenario
            self.errors[node] = str(exc) or type(exc).__name__

    def reading(self, node: str, holds: bool) -> None:
        with self._lock:
            self._state[node] = holds
            if len(self._state) == len(self.connections):  # every node read at least once
                holders = tuple(n for n in self.connections if self._state[n])
                self.samples.append(Sample(t=time.time(), holders=holders))

    def __enter__(self) -> RemoteVipSampler:
        for thread in self._threads:
            thread.start()
        deadline = time.monotonic() + 10
        while not self.samples and time.monotonic() < deadline:  # the first full reading
            time.sleep(0.02)
        if not self.samples:
            why = "; ".join(f"{n}: {e}" for n, e in self.errors.items()) or "sin respuesta"
            raise DrillError(f"no se pudo leer la IP virtual en los nodos por SSH: {why}")
        return self

    def __exit__(self, *exc) -> None:
        # The loops end by themselves (bounded on the node); stop waiting for them here.
        for conn in self.connections.values():
            transport_channel_close(conn)
        for thread in self._threads:
            thread.join(timeout=5)

    @property
    def rate_hz(self) -> float:
        """Per node: readings arrive from every node in turn, so divide by the node count."""
        if len(self.samples) < 2:
            return 0.0
        span = self.samples[-1].t - self.samples[0].t
        return (len(self.samples) - 1) / span / len(self.connections) if span > 0 else 0.0


def transport_channel_close(conn) -> None:
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - closing a broken connection is not an error here
        pass


class RemoteCluster:
    """The faults of scenarios.Cluster that make sense on real nodes, over the site's SSH."""

    def __init__(self, site):
        self.site = site
        self._nodes = {n.name: n for n in site.nodes}
        self._conns: dict = {}

    def _conn(self, node: str):
        if node not in self._conns:
            try:
                self._conns[node] = transport.connect(self.site, self._nodes[node])
            except transport.NodeUnreachableError as exc:
                raise DrillError(str(exc)) from None
        return self._conns[node]

    def node_command(self, node: str, command: str) -> float:
        """Run a shell command on a node; return the node's clock just before it ran."""
        done = self._conn(node).run(f"date +%s.%N; {command}", hide=True, warn=True, in_stream=False)
        if done.exited != 0:
            why = (done.stderr or done.stdout).strip()[-300:]
            raise DrillError(f"{node}: «{command}» falló (código {done.exited}): {why}")
        return float(done.stdout.split()[0])

    def node_link(self, node: str, up: bool) -> float:
        raise DrillError("en un sitio real no se corta el enlace de un nodo (no se podría restablecer)")

    def backend_link(self, backend: str, up: bool) -> float:
        raise DrillError("en un sitio real el simulacro no desconecta backends")

    def holders(self) -> tuple[str, ...]:
        command = Ipv4Addresses(self.site.network.lan.interface).command()
        found = []
        for node in self._nodes:
            out = self._conn(node).run(command, hide=True, warn=True,
                                       in_stream=False).stdout
            if vip_in(out, str(self.site.vip)):
                found.append(node)
        return tuple(found)

    def sampler(self, seconds: float) -> RemoteVipSampler:
        # Sampling sessions of their own: a fault's command must not wait behind a sampling loop.
        conns = {}
        for name, node in self._nodes.items():
            try:
                conns[name] = transport.connect(self.site, node)
            except transport.NodeUnreachableError as exc:
                raise DrillError(str(exc)) from None
        return RemoteVipSampler(conns, self.site.network.lan.interface, str(self.site.vip), seconds)

    def close(self) -> None:
        transport.close_all(self._conns)
        self._conns = {}
