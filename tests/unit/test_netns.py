"""run_in_netns: fn runs in the named network namespace, or never.

The root tests make a throw-away namespace (`ip netns add`) and compare the
namespace of the threads by inode (/proc/thread-self/ns/net against the
file under /run/netns). The refusals need no root: whatever goes wrong on
the way in, fn is not called, so nothing can connect from the host.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runbook.remote import netns
from runbook.remote.netns import NetnsError, NetnsTimeoutError, run_in_netns
from runbook.verify import gather

needs_root = pytest.mark.root("ip", reason="crear espacios de red necesita root")


def thread_netns() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


@pytest.fixture
def scratch_netns():
    name = f"rb-nstest-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=True)


def listening_ports() -> set[int]:
    """TCP ports listening in the calling thread's namespace (read, never dialled)."""
    lines = Path("/proc/thread-self/net/tcp").read_text().splitlines()[1:]
    return {int(f[1].rsplit(":", 1)[1], 16) for f in (line.split() for line in lines) if f[3] == "0A"}


def refuse_to_run(calls: list):
    def fn(*args):
        calls.append(args)
        raise AssertionError("fn ran although the namespace was not entered")

    return fn


# ----------------------------------------------------------------- refusals (no root needed)


def test_a_missing_namespace_raises_and_fn_never_runs():
    calls: list = []
    with pytest.raises(NetnsError) as info:
        run_in_netns("rb-no-such-namespace", refuse_to_run(calls), timeout=5)
    assert str(info.value) == 'no se puede abrir el espacio de nombres de red "rb-no-such-namespace": ' \
                              "No such file or directory"
    assert calls == []


@pytest.mark.parametrize("name", ["", ".", "..", "../../proc/1/ns/net"])
def test_a_name_that_is_not_a_plain_namespace_name_is_refused(name):
    calls: list = []
    with pytest.raises(NetnsError, match="no válido"):
        run_in_netns(name, refuse_to_run(calls), timeout=5)
    assert calls == []


def test_a_file_that_is_not_a_network_namespace_is_refused(monkeypatch, tmp_path):
    # setns(2) itself refuses it (EINVAL, or EPERM without root): fn is not called.
    (tmp_path / "impostor").write_text("")
    monkeypatch.setattr(netns, "NETNS_DIR", tmp_path)
    calls: list = []
    with pytest.raises(NetnsError, match='no se puede entrar en el espacio de nombres de red "impostor"'):
        run_in_netns("impostor", refuse_to_run(calls), timeout=5)
    assert calls == []


def test_a_setns_that_claims_success_without_moving_is_caught(monkeypatch, tmp_path):
    # The second lock: after setns, the thread's own namespace must be the file opened.
    (tmp_path / "impostor").write_text("")
    monkeypatch.setattr(netns, "NETNS_DIR", tmp_path)
    monkeypatch.setattr(netns, "setns", lambda fd: 0)
    calls: list = []
    with pytest.raises(NetnsError, match="no se pudo comprobar la entrada"):
        run_in_netns("impostor", refuse_to_run(calls), timeout=5)
    assert calls == []


def test_probe_client_without_its_namespace_is_unavailable_and_makes_no_request(monkeypatch):
    calls: list = []
    monkeypatch.setattr(gather.client_probe, "probe", refuse_to_run(calls))
    client = gather.probe_client("rb-no-such-namespace", {"services": [], "stats": []})
    assert not client.available and not client.skipped
    assert client.reason == ("el cliente del laboratorio no está disponible: no se puede abrir el espacio "
                             'de nombres de red "rb-no-such-namespace": No such file or directory')
    assert calls == []


# ----------------------------------------------------------------- inside a real namespace (root)


@needs_root
def test_fn_and_the_threads_it_starts_run_in_the_namespace_and_the_caller_stays_out(scratch_netns):
    host = thread_netns()
    target = os.stat(f"/run/netns/{scratch_netns}").st_ino
    assert host != target
    bystander_seen: list = []
    release = threading.Event()

    def bystander() -> None:  # a thread that existed before: it stays in the host's namespace
        release.wait(5)
        bystander_seen.append(thread_netns())

    existing = threading.Thread(target=bystander)
    existing.start()

    def inside() -> dict:
        child: list = []
        t = threading.Thread(target=lambda: child.append(thread_netns()))
        t.start()
        t.join()
        with ThreadPoolExecutor(max_workers=2) as pool:
            workers = list(pool.map(lambda _: thread_netns(), range(4)))
        return {"fn": thread_netns(), "child": child[0], "workers": workers,
                "thread": threading.current_thread()}

    seen = run_in_netns(scratch_netns, inside, timeout=10)
    release.set()
    existing.join()
    assert seen["fn"] == target and seen["child"] == target
    assert seen["workers"] == [target] * 4
    assert thread_netns() == host and bystander_seen == [host]
    assert seen["thread"] is not threading.current_thread() and not seen["thread"].is_alive()


@needs_root
def test_a_socket_made_inside_lives_in_the_namespace(scratch_netns):
    # A fresh namespace has only its loopback, down: 127.0.0.1 is unreachable
    # there, where the host's loopback would answer or refuse.
    def dial() -> None:
        socket.create_connection(("127.0.0.1", 9), timeout=2).close()

    with pytest.raises(OSError) as info:
        run_in_netns(scratch_netns, dial, timeout=10)
    assert info.value.errno == errno.ENETUNREACH


@needs_root
def test_the_result_and_the_exception_of_fn_reach_the_caller(scratch_netns):
    assert run_in_netns(scratch_netns, lambda a, b: a + b, 2, 3, timeout=10) == 5

    def broken() -> None:
        raise KeyError("port")

    with pytest.raises(KeyError, match="port"):
        run_in_netns(scratch_netns, broken, timeout=10)


@needs_root
def test_a_slow_fn_is_a_clear_timeout(scratch_netns):
    release = threading.Event()
    begun = time.monotonic()
    with pytest.raises(NetnsTimeoutError) as info:
        run_in_netns(scratch_netns, release.wait, 10, timeout=0.2)
    release.set()
    assert time.monotonic() - begun < 5
    assert str(info.value) == f'sin respuesta en 0.2 s dentro del espacio de nombres de red "{scratch_netns}"'


@needs_root
def test_probe_client_reports_a_failing_probe_like_the_script_did(scratch_netns):
    # The probe's own exception, as the last line of a traceback: "KeyError: 'services'".
    client = gather.probe_client(scratch_netns, {"timeout": 1.0})
    assert not client.available
    assert client.reason == "el cliente del laboratorio no está disponible: KeyError: 'services'"


@needs_root
def test_probe_client_asks_a_server_that_only_exists_in_the_namespace(scratch_netns):
    # An HTTP server on the namespace's loopback (not reachable from the host):
    # the in-process probe reaches it, so its requests were made in there.
    subprocess.run(["ip", "-n", scratch_netns, "link", "set", "lo", "up"], check=True)
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Backend(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("X-Backend", "zeus")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = run_in_netns(scratch_netns, ThreadingHTTPServer, ("127.0.0.1", 0), Backend, timeout=10)
    port = server.server_address[1]
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        request = {"vip": "127.0.0.1", "timeout": 2.0, "backend_key": "runbook:backend",
                   "sources": ["127.0.0.1"],
                   "services": [{"name": "web", "mode": "http", "port": port, "path": "/", "expect": [[200, 399]],
                                 "cookie": None, "balance": "roundrobin", "backends": ["zeus"]}],
                   "stats": []}
        client = gather.probe_client(scratch_netns, request)
        assert port not in listening_ports()  # the host's own namespace has no such server
    finally:
        server.shutdown()
        server.server_close()
    assert client.available, client.reason
    assert [a["backend"] for a in client.services["web"]] == ["zeus", "zeus"]
    assert all(a["ok"] and a["status"] == 200 for a in client.services["web"])
