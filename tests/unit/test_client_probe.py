"""verify's client probe, without a network: how it reads answers and follows redirects.

The probe runs in the lab's client namespace against the real nginx and
memcached (see test_backends_lab.py); here its rules are pinned down with a
scripted connection, including the one that keeps it on the lab: a redirect
to another address is reported, never followed.
"""

from __future__ import annotations

from email.message import Message

import pytest

from runbook.verify import client_probe as probe

CFG = {"vip": "198.51.100.150", "timeout": 2.0, "backend_key": "runbook:backend"}
HORIZON = {"name": "horizon", "mode": "http", "port": 80, "path": "/horizon", "expect": [[200, 399]],
           "cookie": "SERVERID", "balance": "source", "backends": ["zeus", "hades"]}
LOGIN = "/horizon/auth/login/?next=/horizon/"


class Response:
    def __init__(self, status: int, headers: dict[str, str], cookies: tuple[str, ...] = ()) -> None:
        self.status = status
        self.msg = Message()
        for cookie in cookies:
            self.msg["Set-Cookie"] = cookie
        self._headers = headers
        self.will_close = False

    def read(self, amount: int = -1) -> bytes:
        return b"<html></html>"

    def getheader(self, name: str) -> str | None:
        return self._headers.get(name)


class ScriptedConnection:
    """Stands in for http.client.HTTPConnection: answers by path, records every request."""

    script: dict[str, Response] = {}
    made: list = []  # (host, port, source) of every connection opened
    requests_seen: list = []  # (method, path, headers) of every request

    def __init__(self, host, port, timeout, source_address) -> None:
        self.made.append((host, port, source_address[0]))
        self._last = None

    def request(self, method, path, headers=None) -> None:
        type(self).requests_seen.append((method, path, dict(headers or {})))
        self._last = path

    def getresponse(self) -> Response:
        return self.script[self._last]

    def close(self) -> None:
        pass


@pytest.fixture
def scripted(monkeypatch):
    def install(script: dict[str, Response]) -> type[ScriptedConnection]:
        conn = type("Conn", (ScriptedConnection,), {"script": script, "made": [], "requests_seen": []})
        monkeypatch.setattr(probe.http.client, "HTTPConnection", conn)
        return conn

    return install


def test_horizon_redirect_to_login_is_followed_like_a_browser(scripted):
    conn = scripted({
        "/horizon": Response(302, {"Location": LOGIN, "X-Backend": "zeus"}, ("SERVERID=zeus; path=/",)),
        LOGIN: Response(200, {"X-Backend": "zeus", "Content-Type": "text/html"}),
    })
    answer = probe.http_request(CFG, HORIZON, "198.51.100.200")
    assert answer == {"source": "198.51.100.200", "status": 200, "ok": True, "backend": "zeus",
                      "answer": f"GET /horizon → 302 → 200 {LOGIN}"}
    # The sticky cookie goes back with the second request, as a browser sends it.
    assert conn.requests_seen == [("GET", "/horizon", {}), ("GET", LOGIN, {"Cookie": "SERVERID=zeus"})]
    assert conn.made == [("198.51.100.150", 80, "198.51.100.200")]


def test_a_status_the_health_check_refuses_fails(scripted):
    scripted({"/horizon": Response(503, {})})
    answer = probe.http_request(CFG, HORIZON, "198.51.100.200")
    assert answer["ok"] is False and answer["answer"] == "GET /horizon → 503"


def test_a_redirect_is_not_an_end_page_even_if_the_check_accepts_it(scripted):
    # 302 passes HAProxy's check, but a browser must land on a page: a loop is a failure.
    scripted({"/horizon": Response(302, {"Location": "/horizon"})})
    answer = probe.http_request(CFG, HORIZON, "198.51.100.200")
    assert answer["ok"] is False and answer["status"] == 302
    assert answer["answer"].count("302") == probe.MAX_REDIRECTS + 1


@pytest.mark.parametrize("location", [
    "http://192.168.1.12/horizon/auth/login/",  # another address (the published site's, say)
    "http://198.51.100.150:8080/horizon/",  # same address, another port
    "https://198.51.100.150/horizon/",  # another scheme
])
def test_a_redirect_off_this_address_is_reported_never_followed(scripted, location):
    conn = scripted({"/horizon": Response(302, {"Location": location, "X-Backend": "zeus"})})
    answer = probe.http_request(CFG, HORIZON, "198.51.100.200")
    assert answer["ok"] is False and answer["error"] == f"redirige fuera de http://198.51.100.150:80: {location}"
    assert [path for _, path, _ in conn.requests_seen] == ["/horizon"]
    assert len(conn.made) == 1


def test_a_redirect_answered_by_another_server_breaks_stickiness(scripted):
    scripted({
        "/horizon": Response(302, {"Location": LOGIN, "X-Backend": "zeus"}, ("SERVERID=zeus",)),
        LOGIN: Response(200, {"X-Backend": "hades"}),
    })
    answer = probe.http_request(CFG, HORIZON, "198.51.100.200")
    assert answer["ok"] is False and answer["backend"] is None
    assert answer["error"] == "la redirección la atendió otro servidor: zeus → hades"


def test_absolute_location_on_the_vip_is_followed():
    assert probe.same_origin_target("http://198.51.100.150:80/horizon",
                                    "http://198.51.100.150:80/horizon/auth/login/?next=/") == "/horizon/auth/login/?next=/"
    assert probe.same_origin_target("http://198.51.100.150:80/a/b", "c?x=1") == "/a/c?x=1"


def test_who_answered_prefers_the_sticky_cookie_and_ignores_strangers():
    assert probe.who_answered({"SERVERID": "hades"}, "zeus", HORIZON) == "hades"
    assert probe.who_answered({}, "zeus", HORIZON) == "zeus"
    assert probe.who_answered({}, "apolo", HORIZON) is None
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
