"""How a lab node is dialled: inside the lab's namespace, never from the host's.

The lab's ssh_config routes every node through `ip netns exec <ns> nc %h %p`.
transport.py makes that same connection from a thread that entered the
namespace (no two processes per connection); these tests pin what it
accepts as the lab's ProxyCommand and that it never falls back to the
host's network. The real connections are proven by the lab tests.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess

import pytest

from runbook.remote import transport


class FakeConnection:
    def __init__(self, gateway):
        self.gateway = gateway
        self.connect_kwargs: dict = {}


def test_the_labs_proxycommand_is_replaced_by_a_socket_in_its_namespace(monkeypatch):
    seen = []
    made = socket.socket()
    monkeypatch.setattr(transport, "namespace_socket", lambda *a: seen.append(a) or made)
    conn = FakeConnection("ip netns exec rb-lab nc 192.0.2.10 22")
    transport._through_lab_namespace(conn)
    assert seen == [("rb-lab", "192.0.2.10", 22)]
    assert conn.connect_kwargs == {"sock": made} and conn.gateway is None
    made.close()


@pytest.mark.parametrize("gateway", [
    None,
    "ssh -W %h:%p bastion",  # someone's own jump host: Fabric runs it as configured
    "ip netns exec rb-lab nc 192.0.2.10 22; curl example.org",  # not the lab's line: left alone
    "ip netns exec ../../etc nc 192.0.2.10 22",  # not a namespace name
])
def test_any_other_gateway_is_left_to_fabric(monkeypatch, gateway):
    monkeypatch.setattr(transport, "namespace_socket", lambda *a: pytest.fail("socket opened"))
    conn = FakeConnection(gateway)
    transport._through_lab_namespace(conn)
    assert conn.gateway == gateway and conn.connect_kwargs == {}


def test_without_root_the_proxycommand_stays(monkeypatch):
    monkeypatch.setattr(transport, "namespace_socket", lambda *a: None)  # setns refused
    conn = FakeConnection("ip netns exec rb-lab nc 192.0.2.10 22")
    transport._through_lab_namespace(conn)
    assert conn.gateway == "ip netns exec rb-lab nc 192.0.2.10 22" and conn.connect_kwargs == {}


def test_a_missing_namespace_is_an_error_not_a_connection_from_the_host(monkeypatch):
    def no_connect(*_a, **_k):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_connect)
    with pytest.raises(FileNotFoundError):
        transport.namespace_socket("rb-no-existe-este-laboratorio", "192.0.2.10", 22)


@pytest.mark.root("ip", reason="crear espacios de red necesita root")
def test_the_socket_is_made_inside_the_namespace_and_the_caller_stays_outside():
    # A fresh namespace has only a loopback, and it is down: dialling 127.0.0.1
    # there is "network unreachable", where the host's loopback would answer
    # or refuse. And setns() moved only the helper thread.
    name = f"rbtest-transport-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        own = os.readlink("/proc/thread-self/ns/net")
        with pytest.raises(OSError) as info:
            transport.namespace_socket(name, "127.0.0.1", 9)
        assert info.value.errno == errno.ENETUNREACH
        assert os.readlink("/proc/thread-self/ns/net") == own
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=True)
