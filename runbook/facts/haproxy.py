"""HAProxy's own view of its servers: `show stat` on its admin socket."""

from __future__ import annotations

import csv
import io
import shlex
from dataclasses import dataclass

from .base import Fact, FactCommandError, FactError, Probe


@dataclass(frozen=True)
class ServerStat:
    proxy: str
    server: str
    status: str  # UP, DOWN, MAINT, "UP 1/3", "no check"...
    check_status: str  # e.g. L7OK, L4CON, L4TOUT
    check_desc: str

    @property
    def up(self) -> bool:
        return self.status == "UP" or self.status.startswith("UP ")


def show_stat(text: str) -> list[ServerStat]:
    """HAProxy's `show stat` CSV (header starts with '# ') -> the server rows."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ValueError("la salida de «show stat» no tiene la cabecera CSV de HAProxy")
    reader = csv.DictReader(io.StringIO("\n".join([lines[0][2:], *lines[1:]])))
    rows = []
    for row in reader:
        if row.get("svname") in ("FRONTEND", "BACKEND") or not row.get("svname"):
            continue
        rows.append(
            ServerStat(
                proxy=row.get("pxname", ""),
                server=row.get("svname", ""),
                status=row.get("status", ""),
                check_status=row.get("check_status", ""),
                check_desc=row.get("check_desc", ""),
            )
        )
    return rows


@dataclass(frozen=True)
class HaproxyStat(Fact[list[ServerStat]]):
    socket: str

    @property
    def key(self) -> str:
        return "haproxy-show-stat"

    def command(self) -> str:
        # perl-base is Essential in Debian: always there, unlike socat or python3.
        # No module is loaded (IO::Socket::UNIX costs ~25 ms of CPU, Socket ~15,
        # bare perl ~3): AF_UNIX and SOCK_STREAM are 1 on Linux, except
        # SOCK_STREAM on MIPS, where the connect fails and Socket is asked.
        script = (
            '$a = pack("S Z*", 1, $ARGV[0]);'
            " socket(S, 1, 1, 0) && connect(S, $a) or do { require Socket;"
            " socket(S, 1, Socket::SOCK_STREAM(), 0) && connect(S, $a) }"
            ' or die "no se puede abrir $ARGV[0]: $!\\n";'
            ' syswrite(S, "show stat\\n"); print while <S>;'
        )
        return f"perl -e {shlex.quote(script)} {shlex.quote(self.socket)}"

    def parse(self, probe: Probe) -> list[ServerStat]:
        if probe.exit_code != 0:
            raise FactCommandError(
                f"no se pudo leer el socket de HAProxy {self.socket}: {probe.output.strip()[:200]}"
            )
        try:
            return show_stat(probe.output)
        except ValueError as exc:
            raise FactError(str(exc)) from None
