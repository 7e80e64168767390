"""A constant-rate HTTP load through the VIP; run inside the lab's client namespace.

Standard library only and self-contained: the drill runs it as
`ip netns exec <client ns> python3 -I load_client.py '<json>'`, so every
connection leaves from the lab client's own addresses and can only reach the
lab (the namespace has no route out).

Input: {"vip", "port", "protocol", "path", "rate", "duration", "max_requests",
"timeout", "sources": [addr...], "expect": [[low, high]...]} (no sources: the
machine's own address). One new connection per request (as a browser opening
Horizon after a failover would, or a client of a TCP service connecting anew).
Protocol "http" (the default): HTTP/1.0 GET, a status within `expect` (the
service's health check; without it, 2xx/3xx) counted as success; "memcached":
the `version` command, a `VERSION ...` line counted as success.

Output: JSON lines on stdout, one per request once it is over:
{"t": send time (epoch s), "lat": seconds until answer or failure, "ok",
"status": HTTP status (memcached: 200 for an answer) or null, "error": null
or a Spanish reason}; then a last line {"end": epoch s, "sent": n}. It stops
by itself after `duration` seconds or `max_requests` requests, whichever
comes first, or on SIGTERM/SIGINT, and always waits for (or times out) the requests still in flight.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time


def describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "sin respuesta (tiempo agotado)"
    if isinstance(exc, ConnectionRefusedError):
        return "conexión rechazada"
    if isinstance(exc, ConnectionResetError):
        return "conexión cortada"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


async def one_request(cfg: dict, source: str | None) -> dict:
    sent = time.time()
    record: dict = {"t": round(sent, 6), "status": None, "error": None}
    writer = None

    async def exchange() -> int:
        nonlocal writer
        local = (source, 0) if source else None  # no sources: this machine's own address
        reader, writer = await asyncio.open_connection(cfg["vip"], cfg["port"], local_addr=local)
        if cfg.get("protocol", "http") == "memcached":
            writer.write(b"version\r\n")
            await writer.drain()
            line = await reader.readline()
            if not line.startswith(b"VERSION "):
                raise ConnectionResetError("respuesta vacía o no memcached")
            return 200
        writer.write(
            f"GET {cfg['path']} HTTP/1.0\r\nHost: {cfg['vip']}\r\nUser-Agent: runbook-drill\r\n\r\n".encode()
        )
        await writer.drain()
        line = await reader.readline()
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            raise ConnectionResetError("respuesta vacía o no HTTP")
        await reader.read()  # the whole answer: a success means a complete response
        return int(parts[1])

    try:
        status = await asyncio.wait_for(exchange(), cfg["timeout"])
        expect = cfg.get("expect") or [[200, 399]]
        record.update(status=status, ok=any(low <= status <= high for low, high in expect))
        if not record["ok"]:
            record["error"] = f"HTTP {status}"
    except (TimeoutError, OSError) as exc:
        record.update(ok=False, error=describe(exc))
    finally:
        if writer is not None:
            writer.close()
    record["lat"] = round(time.time() - sent, 6)
    return record


async def run(cfg: dict) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    out = sys.stdout
    interval = 1.0 / cfg["rate"]
    started = time.monotonic()
    deadline = started + cfg["duration"]
    tasks: set[asyncio.Task] = set()

    def done(task: asyncio.Task) -> None:
        tasks.discard(task)
        out.write(json.dumps(task.result()) + "\n")

    sent = 0
    while sent < cfg["max_requests"] and not stop.is_set():
        # Constant rate on a fixed schedule: a slow answer never delays the next request.
        due = started + sent * interval
        if due >= deadline:
            break
        delay = due - time.monotonic()
        if delay > 0:
            try:
                await asyncio.wait_for(stop.wait(), delay)
                break
            except TimeoutError:
                pass
        source = cfg["sources"][sent % len(cfg["sources"])] if cfg["sources"] else None
        task = asyncio.create_task(one_request(cfg, source))
        task.add_done_callback(done)
        tasks.add(task)
        sent += 1
    if tasks:
        await asyncio.wait(set(tasks))
    out.write(json.dumps({"end": round(time.time(), 6), "sent": sent}) + "\n")
    out.flush()


def main() -> None:
    asyncio.run(run(json.loads(sys.argv[1])))


if __name__ == "__main__":
    main()
