"""Requests a LAN client makes through the VIP; run inside the lab's client namespace.

Standard library only and self-contained: `verify` runs it as
`ip netns exec <client ns> python3 -I client_probe.py '<json>'`, so every
connection starts from the lab client's own addresses and can only reach
the lab (the namespace has no route out). Prints one JSON object.

Input: {"vip", "timeout", "sources": [addr...], "services": [{"name", "mode",
"port", "path", "expect_status", "cookie", "balance", "backends": [names]}],
"stats": [{"node", "address", "port", "uri"}]}
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

REPEAT = 2  # requests per source address under `balance source` (same backend twice?)


def http_request(cfg: dict, service: dict, source: str) -> dict:
    answer = {"source": source}
    conn = http.client.HTTPConnection(
        cfg["vip"], service["port"], timeout=cfg["timeout"], source_address=(source, 0)
    )
    try:
        conn.request("GET", service["path"], headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read(65536).decode("utf-8", "replace")
        backend = None
        cookie = service.get("cookie")
        for header in response.msg.get_all("Set-Cookie") or []:
            if cookie and header.startswith(f"{cookie}="):
                backend = header.split("=", 1)[1].split(";", 1)[0]
        backend = backend or response.getheader("X-Backend")
        if backend is None and body.strip() in service["backends"]:
            backend = body.strip()
        answer.update(
            status=response.status,
            ok=response.status == service["expect_status"],
            backend=backend if backend in service["backends"] else None,
            answer=f"HTTP {response.status}",
        )
    except (OSError, http.client.HTTPException) as exc:
        answer.update(ok=False, error=describe(exc))
    finally:
        conn.close()
    return answer


def memcached_request(cfg: dict, service: dict, source: str) -> dict:
    answer = {"source": source}
    try:
        with socket.create_connection(
            (cfg["vip"], service["port"]), timeout=cfg["timeout"], source_address=(source, 0)
        ) as sock:
            sock.sendall(b"version\r\n")
            line = b""
            while not line.endswith(b"\r\n") and len(line) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                line += chunk
            sock.sendall(b"quit\r\n")
        text = line.decode("utf-8", "replace").strip()
        backend = next((b for b in service["backends"] if text.endswith(f"-{b}")), None)
        answer.update(ok=text.startswith("VERSION "), backend=backend, answer=text[:80] or "(vacío)")
    except OSError as exc:
        answer.update(ok=False, error=describe(exc))
    return answer


def describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "sin respuesta (tiempo agotado)"
    if isinstance(exc, ConnectionRefusedError):
        return "conexión rechazada"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def probe_service(cfg: dict, service: dict, pool: ThreadPoolExecutor) -> list:
    request = http_request if service["mode"] == "http" else memcached_request
    if service["balance"] == "source":
        # Every client address, each a few times: the same backend every time.
        def one_source(source: str) -> list:
            return [request(cfg, service, source) for _ in range(REPEAT)]

        return [a for answers in pool.map(one_source, cfg["sources"]) for a in answers]
    # Round robin / leastconn: consecutive requests from one client.
    count = REPEAT * len(service["backends"])
    return [request(cfg, service, cfg["sources"][0]) for _ in range(count)]


def probe_stats(cfg: dict, target: dict) -> dict:
    conn = http.client.HTTPConnection(
        target["address"], target["port"], timeout=cfg["timeout"], source_address=(cfg["sources"][0], 0)
    )
    try:
        conn.request("GET", target["uri"], headers={"Connection": "close"})
        return {"status": conn.getresponse().status}
    except (OSError, http.client.HTTPException) as exc:
        return {"status": None, "error": describe(exc)}
    finally:
        conn.close()


def main() -> None:
    cfg = json.loads(sys.argv[1])
    # Two pools: a service task waits on its per-address requests, so they must
    # not compete for the same workers (that could deadlock).
    with ThreadPoolExecutor(max_workers=8) as outer, ThreadPoolExecutor(max_workers=32) as inner:
        services = {s["name"]: outer.submit(probe_service, cfg, s, inner) for s in cfg["services"]}
        stats = {t["node"]: outer.submit(probe_stats, cfg, t) for t in cfg["stats"]}
        out = {
            "services": {name: f.result() for name, f in services.items()},
            "stats": {node: f.result() for node, f in stats.items()},
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
