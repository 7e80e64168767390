"""Run the load client in the lab's client namespace and collect its records."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..data.records import status_ranges
from ..lab.layout import layout
from ..verify.gather import lab_only_targets

LOAD_CLIENT = Path(__file__).with_name("load_client.py")
REQUEST_TIMEOUT_S = 1.0  # a request with no answer after this counts as failed
CLIENT_NICE = -10


@dataclass(frozen=True)
class LoadSpec:
    rate: float  # requests per second
    duration: float  # seconds; the client stops by itself after this
    timeout: float = REQUEST_TIMEOUT_S

    @property
    def max_requests(self) -> int:
        return int(self.rate * self.duration) + 1


def load_service(site, mode: str = "http"):
    """The site's first service of that mode (http or tcp): the one the load goes to."""
    service = next((s for s in site.services if s.mode == mode), None)
    if service is None:
        raise ValueError(f"el sitio {site.name} no tiene ningún servicio {mode.upper()} al que enviar carga")
    return service


def client_config(site, spec: LoadSpec, mode: str = "http") -> dict:
    """What the load client does, from the site's data only: its first service of `mode` through the VIP.

    A TCP service is spoken to as memcached (`version`), the TCP service the lab and the
    published site run; an HTTP one with a GET of its health check's path.
    """
    service = load_service(site, mode)
    return {
        "vip": str(site.vip),
        "port": service.port,
        "protocol": "http" if mode == "http" else "memcached",
        "path": service.health_check.path if service.health_check else "/",
        # What counts as an answer: the statuses the service's health check accepts (2xx/3xx if none).
        "expect": status_ranges(service.health_check.expect_status) if service.health_check else [(200, 399)],
        "rate": spec.rate,
        "duration": spec.duration,
        "max_requests": spec.max_requests,
        "timeout": spec.timeout,
        # The lab's client addresses; on another site, this machine's own (no sources).
        "sources": [str(a) for a in site.lab.client.addresses] if site.lab is not None else [],
    }


class LoadRun:
    """The load client running in the background; `finish()` waits and returns its records."""

    def __init__(self, site, spec: LoadSpec, real_site_confirmed: bool = False, mode: str = "http"):
        if site.lab is None and not real_site_confirmed:
            # Never generate traffic from this machine towards a real network unasked (--yes).
            raise ValueError(f"el sitio {site.name} no es un laboratorio: no se genera carga")
        if site.lab is not None and not lab_only_targets(site):
            raise ValueError(f"el sitio {site.name} tiene direcciones fuera del laboratorio: "
                             "no se genera carga")
        self.spec = spec
        cfg = client_config(site, spec, mode)
        self._out = tempfile.TemporaryFile(mode="w+")
        # On the lab, from the client's namespace (it can only reach the lab); elsewhere, from
        # this machine. The client stands for another machine on the LAN: run it ahead of this
        # machine's other work, so that a request it sends late (starved of CPU) is not counted
        # as the service's failure.
        netns = ["ip", "netns", "exec", layout(site).client.netns] if site.lab is not None else []
        argv = [*netns, "nice", "-n", str(CLIENT_NICE), sys.executable, "-I", str(LOAD_CLIENT),
                json.dumps(cfg)]
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                      stderr=subprocess.PIPE, text=True)

    def finish(self) -> list[dict]:
        try:
            _, err = self._proc.communicate(timeout=self.spec.duration + self.spec.timeout + 30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            _, err = self._proc.communicate()
        if self._proc.returncode != 0:
            tail = (err or "").strip().splitlines()[-1:] or ["sin salida"]
            raise RuntimeError(f"el generador de carga falló (código {self._proc.returncode}): {tail[0]}")
        self._out.seek(0)
        lines = [json.loads(line) for line in self._out if line.strip()]
        self._out.close()
        return [r for r in lines if "t" in r]

    def stop(self) -> list[dict]:
        """End the load now (SIGTERM: the client waits for the requests in flight) and return its records."""
        if self._proc.poll() is None:
            self._proc.terminate()
        return self.finish()

    def abort(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=self.spec.timeout + 5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._out.close()
