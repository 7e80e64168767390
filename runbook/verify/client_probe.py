"""Requests a LAN client makes through the VIP; run inside the lab's client namespace.

Standard library only and self-contained. `verify` calls `probe(request)`
in a thread of its own process that joined the lab client's namespace
(runbook/netns.py); as a script, `ip netns exec <client ns> python3 -I
client_probe.py '<json>'` prints the same result as one JSON object. Either
way every connection starts from the lab client's own addresses and can
only reach the lab (the namespace has no route out).

HTTP requests behave like a browser: redirects on the same address and port
are followed (a real Horizon sends an anonymous visitor to its login page),
cookies are sent back, and the answer is good when every status is one the
service's health check accepts and the last one is not a redirect. Who
answered comes from the sticky cookie HAProxy inserts or from the backend's
`X-Backend` header; for memcached, from the key the lab stores in each one.

Input: {"vip", "timeout", "backend_key", "sources": [addr...], "services": [{"name",
"mode", "port", "path", "expect": [[low, high]...], "cookie", "balance",
"backends": [names]}], "stats": [{"node", "address", "port", "uri"}]}
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

REPEAT = 2  # requests per source address under `balance source` (same backend twice?)
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)


def accepted(status: int, expect: list) -> bool:
    return any(low <= status <= high for low, high in expect)


def same_origin_target(current: str, location: str) -> str | None:
    """The path+query to request next, or None when Location leaves this host and port."""
    target = urlsplit(urljoin(current, location))
    here = urlsplit(current)
    if (target.scheme, target.netloc) != (here.scheme, here.netloc):
        return None
    return (target.path or "/") + (f"?{target.query}" if target.query else "")


def cookies_from(headers: list[str]) -> dict[str, str]:
    found = {}
    for header in headers:
        pair = header.split(";", 1)[0]
        if "=" in pair:
            name, value = pair.split("=", 1)
            found[name.strip()] = value.strip()
    return found


def who_answered(set_cookies: dict[str, str], header: str | None, service: dict) -> str | None:
    cookie = service.get("cookie")
    backend = set_cookies.get(cookie) if cookie else None
    backend = backend or header
    return backend if backend in service["backends"] else None


def http_request(cfg: dict, service: dict, source: str) -> dict:
    answer = {"source": source}
    origin = f"http://{cfg['vip']}:{service['port']}"
    path, jar, statuses, served_by = service["path"], {}, [], []
    conn = http.client.HTTPConnection(
        cfg["vip"], service["port"], timeout=cfg["timeout"], source_address=(source, 0)
    )
    try:
        for _ in range(MAX_REDIRECTS + 1):
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read(65536)
            statuses.append(response.status)
            set_cookies = cookies_from(response.msg.get_all("Set-Cookie") or [])
            jar.update(set_cookies)
            served_by.append(who_answered(set_cookies, response.getheader("X-Backend"), service))
            location = response.getheader("Location")
            if response.status not in REDIRECTS or not location:
                break
            path = same_origin_target(origin + path, location)
            if path is None:
                answer["error"] = f"redirige fuera de {origin}: {location}"
                break
            if response.will_close:
                conn.close()
        chain = " → ".join(str(s) for s in statuses)
        backends = {b for b in served_by if b}
        answer.update(
            status=statuses[-1],
            ok=all(accepted(s, service["expect"]) for s in statuses)
            and statuses[-1] not in REDIRECTS and len(backends) <= 1 and "error" not in answer,
            backend=next(iter(backends)) if len(backends) == 1 else None,
            answer=f"GET {service['path']} → {chain}" + (f" {path}" if len(statuses) > 1 else ""),
        )
        if len(backends) > 1:
            answer["error"] = "la redirección la atendió otro servidor: " + " → ".join(
                b or "?" for b in served_by)
    except (OSError, http.client.HTTPException) as exc:
        answer.update(ok=False, error=describe(exc))
    finally:
        conn.close()
    return answer


def read_memcached(text: str, key: str) -> tuple[bool, str | None, str]:
    """(well-formed reply to `version` + `get key`, the key's value, a short description)."""
    lines = text.split("\r\n")
    version = lines[0] if lines and lines[0].startswith("VERSION ") else None
    value = None
    if len(lines) >= 3 and lines[1].startswith(f"VALUE {key} "):
        value = lines[2]
    complete = version is not None and "END" in lines[1:]
    shown = f"{version}; {key} = {value}" if value is not None else f"{version}; sin {key}"
    return complete, value, shown if version else (text[:80] or "(vacío)")


def memcached_request(cfg: dict, service: dict, source: str) -> dict:
    answer = {"source": source}
    key = cfg["backend_key"]
    try:
        with socket.create_connection(
            (cfg["vip"], service["port"]), timeout=cfg["timeout"], source_address=(source, 0)
        ) as sock:
            sock.sendall(f"version\r\nget {key}\r\nquit\r\n".encode())
            reply = b""
            while len(reply) < 65536 and (chunk := sock.recv(4096)):
                reply += chunk
        ok, value, shown = read_memcached(reply.decode("utf-8", "replace"), key)
        backend = value if value in service["backends"] else None
        answer.update(ok=ok, backend=backend, answer=shown)
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


def probe(cfg: dict) -> dict:
    """Every request of the input (see the module's docstring): {"services": ..., "stats": ...}.

    The pools are made here, on each call, so their threads are started by
    the calling thread: inside the client namespace when verify runs this in
    a thread that joined it (runbook/netns.py), never a host thread reused.
    """
    # Two pools: a service task waits on its per-address requests, so they must
    # not compete for the same workers (that could deadlock).
    with ThreadPoolExecutor(max_workers=8) as outer, ThreadPoolExecutor(max_workers=32) as inner:
        services = {s["name"]: outer.submit(probe_service, cfg, s, inner) for s in cfg["services"]}
        stats = {t["node"]: outer.submit(probe_stats, cfg, t) for t in cfg["stats"]}
        return {
            "services": {name: f.result() for name, f in services.items()},
            "stats": {node: f.result() for node, f in stats.items()},
        }


def main() -> None:
    json.dump(probe(json.loads(sys.argv[1])), sys.stdout)


if __name__ == "__main__":
    main()
