"""Requests a LAN client makes through the VIP; run inside the lab's client namespace.

Standard library only, with runbook.errors.
`verify` calls `probe(request)` in a thread of its own process that joined
the lab client's namespace (runbook/remote/netns.py): every connection starts from
the lab client's own addresses and can only reach the lab (the namespace
has no route out).

HTTP requests behave like a browser: redirects on the same address and port
are followed (a real Horizon sends an anonymous visitor to its login page),
cookies are sent back, and the answer is good when every status is one the
service's health check accepts and the last one is not a redirect. Who
answered comes from the sticky cookie HAProxy inserts or from the backend's
`X-Backend` header; for memcached, from the key the lab stores in each one.

Input: {"vip", "timeout", "backend_key", "sources": [addr...], "services": [{"name",
"mode", "port", "path", "expect": [[low, high]...], "cookie", "balance",
"backends": [names]}], "stats": [{"node", "address", "port", "uri"}]}

HTTP is spoken here over a plain socket (HTTP/1.1, as http.client speaks
it) rather than through http.client, whose import alone (email, ssl) cost
verify more CPU than all its requests: the probe only ever talks plain HTTP
to the lab.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

from ..errors import RunbookError

REPEAT = 2  # requests per source address under `balance source` (same backend twice?)
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
MAX_LINE = 65536  # longest status or header line read (http.client's limit)
MAX_HEADERS = 100  # most header lines in one answer (http.client's limit)
MAX_BODY = 65536  # body bytes read and thrown away; past this the connection is not reused
CUT = "el servidor cortó la respuesta a medias"


class BadAnswerError(RunbookError):
    """An answer that is not HTTP/1.x as this probe reads it, or a request it will not send.

    Its Spanish message is shown as the request's error; any other exception
    is a bug of the probe and is not dressed up as an answer.
    """


class Response:
    """Status and headers of one answer (names lower-cased, every value kept in order)."""

    def __init__(self, version: str, status: int, headers: list[tuple[str, str]]) -> None:
        self.version, self.status, self.headers = version, status, headers

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]

    def getheader(self, name: str) -> str | None:
        """Every value of the header joined by ", " (http.client's getheader), or None."""
        return ", ".join(values) if (values := self.get_all(name)) else None

    def first(self, name: str) -> str | None:
        values = self.get_all(name)
        return values[0] if values else None

    @property
    def bodiless(self) -> bool:
        """1xx, 204 and 304 never have a body, whatever their headers say."""
        return self.status in (204, 304) or 100 <= self.status < 200

    @property
    def chunked(self) -> bool:
        codings = self.getheader("Transfer-Encoding")
        return (not self.bodiless and codings is not None
                and codings.rsplit(",", 1)[-1].strip().lower() == "chunked")

    @property
    def length(self) -> int | None:
        """Body length in bytes, None when it is chunked or runs until the server closes."""
        if self.bodiless:
            return 0
        if self.first("Transfer-Encoding") is not None:
            return None  # chunked, or (any other coding last) delimited by the close
        values = {v.strip() for v in self.get_all("Content-Length")}
        if not values:
            return None
        if len(values) > 1 or not all(v.isdigit() for v in values):
            raise BadAnswerError(f"Content-Length no válido: {', '.join(sorted(values))}")
        return int(values.pop())

    @property
    def will_close(self) -> bool:
        """http.client's rule: the server ends the connection after this answer."""
        connection = (self.first("Connection") or "").lower()
        if self.version == "HTTP/1.1":
            closes = "close" in connection
        else:  # HTTP/1.0 keeps the connection only when it says so
            closes = not (self.first("Keep-Alive") or "keep-alive" in connection
                          or "keep-alive" in (self.first("Proxy-Connection") or "").lower())
        # After 101 the connection speaks another protocol: never reused here.
        return closes or self.status == 101 or (not self.chunked and self.length is None)


def read_line(reader, what: str) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise BadAnswerError(f"{what} demasiado larga")
    return line


def read_head(reader) -> Response:
    """The status line and headers of the final answer (1xx interim answers are skipped)."""
    while True:
        line = read_line(reader, "línea de estado")
        if not line:
            raise BadAnswerError("el servidor cerró la conexión sin responder")
        text = line.decode("iso-8859-1").rstrip("\r\n")
        parts = text.split(None, 2)
        if (len(parts) < 2 or parts[0] not in ("HTTP/1.0", "HTTP/1.1")
                or len(parts[1]) != 3 or not parts[1].isdigit() or parts[1][0] == "0"):
            raise BadAnswerError(f"respuesta HTTP mal formada: {text[:80]!r}")
        headers = read_headers(reader)
        response = Response(parts[0], int(parts[1]), headers)
        # 101 switches protocols: it is final (and will_close drops the connection).
        if not 100 <= response.status < 200 or response.status == 101:
            return response


def read_headers(reader) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    while (line := read_line(reader, "cabecera")) not in (b"\r\n", b"\n", b""):
        if len(headers) >= MAX_HEADERS:
            raise BadAnswerError(f"más de {MAX_HEADERS} cabeceras")
        text = line.decode("iso-8859-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and headers:  # obsolete line folding: continues the value
            name, value = headers.pop()
            headers.append((name, f"{value} {text.strip()}"))
            continue
        name, colon, value = text.partition(":")
        if not colon or not name or name != name.strip():
            raise BadAnswerError(f"cabecera mal formada: {text[:80]!r}")
        headers.append((name.lower(), value.strip()))
    return headers


def read_exactly(reader, amount: int) -> bytes:
    data = reader.read(amount)
    if len(data) < amount:
        raise BadAnswerError(CUT)
    return data


def drain_body(reader, response: Response) -> bool:
    """Read the body and throw it away, at most MAX_BODY bytes of it.

    True when the whole body was read (the connection can carry the next
    request); False when it is longer than MAX_BODY or runs until the server
    closes, and the connection must be dropped.
    """
    if response.chunked:
        read = 0
        while (size := chunk_size(read_line(reader, "línea de bloque"))) > 0:
            read += size
            if read > MAX_BODY:
                return False
            read_exactly(reader, size + 2)  # the data and its CRLF
        while (line := read_line(reader, "cabecera final")) not in (b"\r\n", b"\n"):  # trailers
            if not line:
                raise BadAnswerError(CUT)
        return True
    length = response.length
    if length is None:
        reader.read(MAX_BODY)  # until the server closes (or enough of it)
        return False
    if length > MAX_BODY:
        return False
    read_exactly(reader, length)
    return True


def chunk_size(line: bytes) -> int:
    if not line:
        raise BadAnswerError(CUT)
    size = line.split(b";", 1)[0].strip()
    if not size or any(c not in b"0123456789abcdefABCDEF" for c in size):
        raise BadAnswerError(f"bloque chunked mal formado: {line[:40]!r}")
    return int(size, 16)


class Connection:
    """One HTTP/1.1 client connection from a source address, opened again when the server ends it.

    Requests are written as http.client writes them: the request line, Host
    (`host`, or `host:port` off port 80), Accept-Encoding: identity, then the
    caller's headers.
    """

    def __init__(self, host: str, port: int, timeout: float, source: str) -> None:
        self.address, self.timeout, self.source = (host, port), timeout, source
        shown = f"[{host}]" if ":" in host else host
        self.host = shown if port == 80 else f"{shown}:{port}"
        self.sock: socket.socket | None = None
        self.reader = None

    def send(self, path: str, headers: dict[str, str]) -> None:
        if not path.isascii() or any(c <= " " or c == "\x7f" for c in path):
            raise BadAnswerError(f"ruta no válida: {path!r}")
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}", "Accept-Encoding: identity"]
        for name, value in headers.items():
            if "\r" in value or "\n" in value:
                raise BadAnswerError(f"valor no válido en la cabecera {name}: {value!r}")
            lines.append(f"{name}: {value}")
        if self.sock is None:
            self.sock = socket.create_connection(self.address, self.timeout, (self.source, 0))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.reader = self.sock.makefile("rb")
        self.sock.sendall("\r\n".join(lines + ["", ""]).encode("iso-8859-1"))

    def get(self, path: str, headers: dict[str, str]) -> Response:
        """Send a GET and read its whole answer; the connection stays open only if reusable."""
        self.send(path, headers)
        response = read_head(self.reader)
        if not drain_body(self.reader, response) or response.will_close:
            self.close()
        return response

    def close(self) -> None:
        if self.sock is not None:
            self.reader.close()
            self.sock.close()
            self.sock = self.reader = None


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
    conn = Connection(cfg["vip"], service["port"], cfg["timeout"], source)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
            response = conn.get(path, headers)
            statuses.append(response.status)
            set_cookies = cookies_from(response.get_all("Set-Cookie"))
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
    except (OSError, BadAnswerError) as exc:
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
    conn = Connection(target["address"], target["port"], cfg["timeout"], cfg["sources"][0])
    try:
        # Only the status matters: the page itself is never read.
        conn.send(target["uri"], {"Connection": "close"})
        return {"status": read_head(conn.reader).status}
    except (OSError, BadAnswerError) as exc:
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
