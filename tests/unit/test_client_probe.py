"""verify's client probe against real HTTP servers on loopback: what it reports and how it follows redirects.

The probe runs in the lab's client namespace against the real HAProxy,
nginx and memcached (see test_backends_lab.py); here each server is a
scripted TCP server on 127.0.0.1 (never any other address) that writes the
exact bytes of its answer. http.client reads them; these tests pin down what
the probe makes of it: redirects followed on one kept-alive connection
(or a new one when the server ends it), cookies sent back, who answered,
malformed answers and silence as Spanish errors, and where http.client
reads an answer differently from a strict reader (1xx, Content-Length).
A redirect to another address is reported, never followed.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from dataclasses import dataclass

import pytest

from runbook.verify import client_probe as probe

SOURCE = "127.0.0.1"
LOGIN = "/horizon/auth/login/?next=/horizon/"


@dataclass
class Reply:
    raw: bytes  # exactly what the server writes
    close: bool = False  # the server closes the connection after writing it
    delay: float = 0.0  # seconds before answering


def answer(status: str, *headers: str, body: bytes = b"", version: str = "HTTP/1.1", length: bool = True,
           close: bool = False) -> Reply:
    lines = [f"{version} {status}", *headers] + ([f"Content-Length: {len(body)}"] if length else [])
    return Reply("\r\n".join([*lines, "", ""]).encode() + body, close=close)


def chunked(status: str, *headers: str, chunks: tuple[bytes, ...], trailer: str = "") -> Reply:
    body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n" + trailer.encode() + b"\r\n"
    lines = [f"HTTP/1.1 {status}", *headers, "Transfer-Encoding: chunked"]
    return Reply("\r\n".join([*lines, "", ""]).encode() + body)


class Server(socketserver.ThreadingTCPServer):
    """Answers each request by its path; records (connection number, raw request head)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, routes: dict[str, Reply]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes, self.seen, self.connections = routes, [], 0
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def paths(self) -> list[str]:
        return [head.split(b" ")[1].decode() for _, head in self.seen]

    def connection_of_each_request(self) -> list[int]:
        return [number for number, _ in self.seen]

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up (timeout tests) is expected


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server: Server = self.server
        with server.lock:
            server.connections += 1
            number = server.connections
        while line := self.rfile.readline():
            head = line
            while (header := self.rfile.readline()) not in (b"\r\n", b""):
                head += header
            with server.lock:
                server.seen.append((number, head + b"\r\n"))
            reply = server.routes[line.split(b" ")[1].decode()]
            time.sleep(reply.delay)
            self.wfile.write(reply.raw)
            if reply.close:
                return


@pytest.fixture
def serve():
    servers = []

    def start(routes: dict[str, Reply]) -> Server:
        server = Server(routes)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def cfg(timeout: float = 2.0) -> dict:
    return {"vip": "127.0.0.1", "timeout": timeout, "backend_key": "runbook:backend", "sources": [SOURCE]}


def horizon(server: Server, path: str = "/horizon") -> dict:
    return {"name": "horizon", "mode": "http", "port": server.port, "path": path, "expect": [[200, 399]],
            "cookie": "SERVERID", "balance": "source", "backends": ["zeus", "hades"]}


def get(server: Server, path: str = "/horizon", timeout: float = 2.0) -> dict:
    return probe.http_request(cfg(timeout), horizon(server, path), SOURCE)


def test_horizon_redirect_to_login_is_followed_like_a_browser_on_one_connection(serve):
    server = serve({
        "/horizon": answer("302 Found", f"Location: {LOGIN}", "X-Backend: zeus", "Set-Cookie: SERVERID=zeus; path=/",
                           body=b"<a href=login>login</a>"),
        LOGIN: answer("200 OK", "X-Backend: zeus", "Content-Type: text/html", body=b"<html></html>"),
    })
    assert get(server) == {"source": SOURCE, "status": 200, "ok": True, "backend": "zeus",
                           "answer": f"GET /horizon → 302 → 200 {LOGIN}"}
    # Keep-alive as a browser (and http.client) does it: one connection, the cookie sent back.
    assert server.connection_of_each_request() == [1, 1]
    host = f"127.0.0.1:{server.port}"
    assert [head for _, head in server.seen] == [
        f"GET /horizon HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\n\r\n".encode(),
        f"GET {LOGIN} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\nCookie: SERVERID=zeus\r\n\r\n".encode(),
    ]


def test_chunked_bodies_are_read_and_the_connection_reused(serve):
    server = serve({
        "/horizon": chunked("302 Found", "Location: /horizon/", "X-Backend: hades",
                            chunks=(b"<html>", b"x" * 3000, b"</html>"), trailer="X-Trailer: 1\r\n"),
        "/horizon/": chunked("200 OK", "X-Backend: hades", chunks=(b"login",)),
    })
    answer_ = get(server)
    assert answer_["ok"] is True and answer_["backend"] == "hades"
    assert answer_["answer"] == "GET /horizon → 302 → 200 /horizon/"
    assert server.connection_of_each_request() == [1, 1]


def test_a_body_delimited_by_the_close_is_read_and_the_next_request_reconnects(serve):
    server = serve({
        "/horizon": answer("302 Found", "Location: /horizon/", body=b"moved", length=False, close=True),
        "/horizon/": answer("200 OK", "X-Backend: zeus", body=b"page", length=False, close=True),
    })
    answer_ = get(server)
    assert answer_["ok"] is True and answer_["answer"] == "GET /horizon → 302 → 200 /horizon/"
    assert server.connection_of_each_request() == [1, 2]


def test_connection_close_from_the_server_forces_a_new_connection(serve):
    server = serve({
        "/horizon": answer("302 Found", "Location: /horizon/", "Connection: close", body=b"moved", close=True),
        "/horizon/": answer("200 OK", "X-Backend: zeus"),
    })
    assert get(server)["ok"] is True
    assert server.connection_of_each_request() == [1, 2]


@pytest.mark.parametrize(("keep_alive", "connections"), [
    ((), [1, 2]),  # HTTP/1.0 closes unless it says otherwise
    (("Connection: Keep-Alive",), [1, 1]),
    (("Keep-Alive: timeout=5",), [1, 1]),
])
def test_an_http_1_0_server_keeps_the_connection_only_when_it_says_so(serve, keep_alive, connections):
    close = not keep_alive
    server = serve({
        "/horizon": answer("302 Found", "Location: /horizon/", *keep_alive, version="HTTP/1.0", close=close),
        "/horizon/": answer("200 OK", "X-Backend: zeus", *keep_alive, version="HTTP/1.0", close=close),
    })
    assert get(server) == {"source": SOURCE, "status": 200, "ok": True, "backend": "zeus",
                           "answer": "GET /horizon → 302 → 200 /horizon/"}
    assert server.connection_of_each_request() == connections


def test_several_set_cookie_headers_all_go_back_and_names_are_case_insensitive(serve):
    server = serve({
        "/horizon": answer("302 Found", f"location: {LOGIN}", "set-cookie: SERVERID=zeus; path=/",
                           "SET-COOKIE: csrftoken=abc; HttpOnly", "x-backend: zeus"),
        LOGIN: answer("200 OK", "X-BACKEND: zeus"),
    })
    assert get(server)["backend"] == "zeus"
    assert server.seen[1][1].endswith(b"Cookie: SERVERID=zeus; csrftoken=abc\r\n\r\n")


def test_a_long_body_is_read_whole_and_the_connection_kept(serve):
    # The whole body is read (http.client checks it is complete), so the next answer is the next request's.
    big = b"x" * 200_000
    server = serve({
        "/horizon": answer("302 Found", "Location: /horizon/", body=big),
        "/horizon/": chunked("302 Found", "Location: /horizon/login", chunks=(big, big)),
        "/horizon/login": answer("200 OK", "X-Backend: zeus"),
    })
    assert get(server)["answer"] == "GET /horizon → 302 → 302 → 200 /horizon/login"
    assert server.connection_of_each_request() == [1, 1, 1]


def test_an_interim_100_continue_is_skipped(serve):
    server = serve({
        "/horizon": Reply(b"HTTP/1.1 100 Continue\r\n\r\n" + answer("302 Found", "Location: /horizon/").raw),
        "/horizon/": answer("200 OK", "X-Backend: zeus"),
    })
    assert get(server)["answer"] == "GET /horizon → 302 → 200 /horizon/"
    assert server.connection_of_each_request() == [1, 1]


@pytest.mark.parametrize("interim", [
    b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
])
def test_any_other_1xx_is_taken_as_the_answer_and_fails(serve, interim):
    # http.client skips only 100 Continue: a 103 (or 101) is the status the probe reports, never a page.
    server = serve({"/horizon": Reply(interim + answer("200 OK", "X-Backend: zeus").raw)})
    status = int(interim.split()[1])
    assert get(server) == {"source": SOURCE, "status": status, "ok": False, "backend": None,
                           "answer": f"GET /horizon → {status}"}


@pytest.mark.parametrize(("reply", "status"), [
    (answer("304 Not Modified", "Content-Length: 5", "X-Backend: zeus", length=False), 304),
    (answer("204 No Content", "Content-Length: 5", "X-Backend: zeus", length=False), 204),
])
def test_204_and_304_have_no_body_whatever_their_headers_say(serve, reply, status):
    # Nothing follows them: waiting for a body would be a timeout instead of the answer.
    server = serve({"/horizon": reply})
    assert get(server) == {"source": SOURCE, "status": status, "ok": True, "backend": "zeus",
                           "answer": f"GET /horizon → {status}"}


def test_a_304_that_says_its_body_is_chunked_waits_for_that_body(serve):
    # http.client's reading (the probe read no body after a 304 when it read HTTP itself).
    server = serve({"/horizon": answer("304 Not Modified", "Transfer-Encoding: chunked", length=False)})
    assert get(server, timeout=0.2) == {"source": SOURCE, "ok": False, "error": "sin respuesta (tiempo agotado)"}


def test_a_content_length_that_is_not_a_number_is_read_as_a_body_until_the_close(serve):
    # http.client's reading (the probe refused the answer when it read HTTP itself).
    server = serve({"/horizon": Reply(b"HTTP/1.1 200 OK\r\nX-Backend: zeus\r\nContent-Length: ten\r\n\r\nbody",
                                      close=True)})
    assert get(server) == {"source": SOURCE, "status": 200, "ok": True, "backend": "zeus",
                           "answer": "GET /horizon → 200"}


def test_a_status_the_health_check_refuses_fails(serve):
    server = serve({"/horizon": answer("503 Service Unavailable", body=b"<h1>503</h1>")})
    assert get(server) == {"source": SOURCE, "status": 503, "ok": False, "backend": None,
                           "answer": "GET /horizon → 503"}


def test_a_redirect_is_not_an_end_page_even_if_the_check_accepts_it(serve):
    # 302 passes HAProxy's check, but a browser must land on a page: a loop is a failure.
    server = serve({"/horizon": answer("302 Found", "Location: /horizon")})
    answer_ = get(server)
    assert answer_["ok"] is False and answer_["status"] == 302
    assert answer_["answer"].count("302") == probe.MAX_REDIRECTS + 1
    assert server.connection_of_each_request() == [1] * (probe.MAX_REDIRECTS + 1)


@pytest.mark.parametrize("location", [
    "http://192.168.1.12/horizon/auth/login/",  # another address (the published site's, say)
    "http://127.0.0.1:1/horizon/",  # same address, another port
    "https://127.0.0.1/horizon/",  # another scheme
])
def test_a_redirect_off_this_address_is_reported_never_followed(serve, location):
    server = serve({"/horizon": answer("302 Found", f"Location: {location}", "X-Backend: zeus")})
    answer_ = get(server)
    assert answer_["ok"] is False
    assert answer_["error"] == f"redirige fuera de http://127.0.0.1:{server.port}: {location}"
    assert server.paths() == ["/horizon"]


def test_a_redirect_answered_by_another_server_breaks_stickiness(serve):
    server = serve({
        "/horizon": answer("302 Found", f"Location: {LOGIN}", "X-Backend: zeus", "Set-Cookie: SERVERID=zeus"),
        LOGIN: answer("200 OK", "X-Backend: hades"),
    })
    answer_ = get(server)
    assert answer_["ok"] is False and answer_["backend"] is None
    assert answer_["error"] == "la redirección la atendió otro servidor: zeus → hades"


@pytest.mark.parametrize(("reply", "error"), [
    (Reply(b"SSH-2.0-OpenSSH_9.2\r\n", close=True), "respuesta HTTP mal formada: 'SSH-2.0-OpenSSH_9.2'"),
    (Reply(b"HTTP/1.1 2OO OK\r\n\r\n", close=True), "respuesta HTTP mal formada: 'HTTP/1.1 2OO OK'"),
    (Reply(b"HTTP/2 200\r\n\r\n", close=True), "respuesta HTTP mal formada: 'HTTP/2'"),
    (Reply(b"HTTP/1.1 200 OK\r\nX-Backend zeus\r\nContent-Length: 0\r\n\r\n"),
     "cabecera mal formada: 'X-Backend zeus'"),
    (Reply(b"HTTP/1.1 200 OK\r\n" + b"X-Filler: 1\r\n" * 101 + b"\r\n", close=True),
     "respuesta HTTP no válida: got more than 100 headers"),
    (Reply(b"HTTP/1.1 200 OK\r\nX-Long: " + b"x" * 70000 + b"\r\n\r\n", close=True),
     "línea demasiado larga en la respuesta"),
    (Reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", close=True),
     "el servidor cortó la respuesta a medias"),
    (Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part", close=True),
     "el servidor cortó la respuesta a medias"),
    (Reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", close=True),
     "el servidor cortó la respuesta a medias"),
    (Reply(b"", close=True), "el servidor cerró la conexión sin responder"),
    (answer("302 Found", "Location: /a b"), "ruta no válida: '/a b'"),
    (Reply(b"HTTP/1.1 302 Found\r\nLocation: /a\xf1o\r\nContent-Length: 0\r\n\r\n"), "ruta no válida: '/año'"),
])
def test_a_broken_answer_is_a_clear_error_not_a_traceback(serve, reply, error):
    server = serve({"/horizon": reply})
    assert get(server) == {"source": SOURCE, "ok": False, "error": error}


def test_a_bug_in_the_probe_is_not_shown_as_the_servers_answer(serve, monkeypatch):
    # Only a socket error, an http.client exception or a BadAnswerError is the server's doing; a bug
    # must surface as itself, so that verify reports the client probe as failing (gather.probe_client).
    server = serve({"/horizon": answer("200 OK")})

    def broken(*args, **kwargs):
        raise ValueError("a bug of the probe")

    monkeypatch.setattr(probe, "cookies_from", broken)
    with pytest.raises(ValueError, match="a bug of the probe"):
        get(server)


def test_a_server_that_does_not_answer_in_time(serve):
    server = serve({"/horizon": Reply(answer("200 OK").raw, delay=1.0)})
    assert get(server, timeout=0.2) == {"source": SOURCE, "ok": False, "error": "sin respuesta (tiempo agotado)"}


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_stats_reads_only_the_status_and_asks_to_close(serve):
    server = serve({"/stats": answer("401 Unauthorized", "WWW-Authenticate: Basic realm=stats", body=b"x" * 100000)})
    target = {"node": "hera", "address": "127.0.0.1", "port": server.port, "uri": "/stats"}
    assert probe.probe_stats(cfg(), target) == {"status": 401}
    assert server.seen[0][1].endswith(b"Accept-Encoding: identity\r\nConnection: close\r\n\r\n")
    refused = dict(target, port=unused_port())
    assert probe.probe_stats(cfg(), refused) == {"status": None, "error": "conexión rechazada"}


def test_absolute_location_on_the_vip_is_followed():
    assert probe.same_origin_target("http://198.51.100.150:80/horizon",
                                    "http://198.51.100.150:80/horizon/auth/login/?next=/") == "/horizon/auth/login/?next=/"
    assert probe.same_origin_target("http://198.51.100.150:80/a/b", "c?x=1") == "/a/c?x=1"
    # Port 80 written or left out is the same place (nginx's absolute redirects leave it out).
    assert probe.same_origin_target("http://198.51.100.150:80/horizon",
                                    "http://198.51.100.150/horizon/auth/login/") == "/horizon/auth/login/"
    assert probe.same_origin_target("http://198.51.100.150:80/horizon", "https://198.51.100.150:80/") is None
    assert probe.same_origin_target("http://198.51.100.150:80/horizon", "http://198.51.100.150:8o/") is None


def test_who_answered_prefers_the_sticky_cookie_and_ignores_strangers():
    service = {"cookie": "SERVERID", "backends": ["zeus", "hades"]}
    assert probe.who_answered({"SERVERID": "hades"}, "zeus", service) == "hades"
    assert probe.who_answered({}, "zeus", service) == "zeus"
    assert probe.who_answered({}, "apolo", service) is None
    assert probe.cookies_from(["SERVERID=zeus; path=/", "csrftoken=abc; HttpOnly"]) == {
        "SERVERID": "zeus", "csrftoken": "abc"}


@pytest.mark.parametrize(("reply", "expected"), [
    ("VERSION 1.6.18\r\nVALUE runbook:backend 0 4\r\nzeus\r\nEND\r\n",
     (True, "zeus", "VERSION 1.6.18; runbook:backend = zeus")),
    ("VERSION 1.6.18\r\nEND\r\n", (True, None, "VERSION 1.6.18; sin runbook:backend")),
    ("ERROR\r\n", (False, None, "ERROR\r\n")),
    ("", (False, None, "(vacío)")),
])
def test_memcached_reply(reply, expected):
    assert probe.read_memcached(reply, "runbook:backend") == expected
