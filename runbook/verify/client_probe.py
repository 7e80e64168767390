"""Requests a LAN client makes through the VIP; run inside the lab's client namespace.

Standard library only (http.client for HTTP, a socket for memcached), with
runbook.errors. `verify` calls `probe(request)` in a thread of its own
process that joined the lab client's namespace (runbook/remote/netns.py):
every connection starts from the lab client's own addresses and can only
reach the lab (the namespace has no route out).

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
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

from ..errors import RunbookError

REPEAT = 2  # requests per source address under `balance source` (same backend twice?)
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)


class BadAnswerError(RunbookError):
    """An answer http.client reads but the probe refuses, or a redirect to a path that cannot be sent.

    Its Spanish message is shown as the request's error, as are http.client's
    own exceptions (see describe); any other exception is a bug of the probe
    and is not dressed up as an answer.
    """


def send(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> None:
    """GET `path`; a path from a Location that http.client will not send is a BadAnswerError."""
    try:
        conn.request("GET", path, headers=headers)
    except (http.client.InvalidURL, UnicodeEncodeError):  # a space or a control character; not ASCII
        raise BadAnswerError(f"ruta no válida: {path!r}") from None


def fetch(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    """Send a GET and read its whole answer, so that the connection can carry the next one."""
    send(conn, path, headers)
    response = conn.getresponse()
    if response.msg.defects:
        # A line that is not a header: http.client drops it and every header after it.
        line = (str(response.msg.get_payload()).splitlines() or [""])[0]
        raise BadAnswerError(f"cabecera mal formada: {line[:80]!r}")
    response.read()
    return response


def accepted(status: int, expect: list) -> bool:
    return any(low <= status <= high for low, high in expect)


def same_origin_target(current: str, location: str) -> str | None:
    """The path+query to request next, or None when Location leaves this host and port.

    `http://vip/` and `http://vip:80/` are the same place: the Host header
    leaves port 80 out, so a server's absolute Location usually does too.
    """
    target = urlsplit(urljoin(current, location))
    here = urlsplit(current)
    if endpoint(target) != endpoint(here) or endpoint(target) is None:
        return None
    return (target.path or "/") + (f"?{target.query}" if target.query else "")


def endpoint(url) -> tuple | None:
    """(scheme, host, port) with the scheme's default port filled in; None if the port is not a number."""
    try:
        port = url.port
    except ValueError:
        return None
    return url.scheme, url.hostname, port or {"http": 80, "https": 443}.get(url.scheme)


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
    # Kept alive across the redirects; http.client opens it again (from `source`) when the server ends it.
    conn = http.client.HTTPConnection(cfg["vip"], service["port"], timeout=cfg["timeout"],
                                      source_address=(source, 0))
    try:
        for _ in range(MAX_REDIRECTS + 1):
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
            response = fetch(conn, path, headers)
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
    except (OSError, http.client.HTTPException, BadAnswerError) as exc:
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
    """The Spanish text of a request's failure: the socket's, http.client's or ours."""
    if isinstance(exc, TimeoutError):
        return "sin respuesta (tiempo agotado)"
    if isinstance(exc, http.client.RemoteDisconnected):  # a BadStatusLine and an OSError: named first
        return "el servidor cerró la conexión sin responder"
    if isinstance(exc, http.client.BadStatusLine):
        return f"respuesta HTTP mal formada: {exc.line.strip()[:80]!r}"
    if isinstance(exc, http.client.UnknownProtocol):
        return f"respuesta HTTP mal formada: {exc.version[:80]!r}"
    if isinstance(exc, http.client.IncompleteRead):  # a body cut short, or a chunk size that is not one
        return "el servidor cortó la respuesta a medias"
    if isinstance(exc, http.client.LineTooLong):
        return "línea demasiado larga en la respuesta"
    if isinstance(exc, http.client.HTTPException):  # "got more than 100 headers", as http.client says it
        return f"respuesta HTTP no válida: {exc}"
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
    conn = http.client.HTTPConnection(target["address"], target["port"], timeout=cfg["timeout"],
                                      source_address=(cfg["sources"][0], 0))
    try:
        # Only the status matters: the page itself is never read.
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
    a thread that joined it (runbook/remote/netns.py), never a host thread reused.
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
