"""The lab's backends as configured (no lab needed): real nginx and memcached, from the layout.

The daemons themselves are tested running in the lab (test_lab.py,
test_backends_lab.py); here the configuration nginx gets is checked by the
real `nginx -t`, in a scratch network namespace that holds the backend's
address (nginx -t binds its listen sockets).
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from runbook.data.load import load_site
from runbook.lab import backend_config, backends
from runbook.lab.layout import BACKEND_KEY, layout


@pytest.fixture
def lay(tmp_path):
    """The lab's layout with its state dir in tmp_path: nothing of the shared lab is touched."""
    site = load_site("lab")
    site = site.model_copy(update={"ssh": site.ssh.model_copy(update={"config": str(tmp_path / "ssh_config")})})
    return layout(site)


def test_each_backend_runs_nginx_for_http_and_one_memcached_per_tcp_port(lay):
    for backend in lay.backends:
        found = {d.label: d for d in backend_config.daemons(backend)}
        assert set(found) == {"nginx", "memcached-11211"}
        assert found["nginx"].argv[0] == "nginx" and found["nginx"].ports == (80,)
        memcached = found["memcached-11211"].argv
        assert memcached[0] == "memcached"
        # Bound to the backend's own address, never as root (memcached refuses), Debian's limits.
        assert ("-l", str(backend.address.ip)) == memcached[3:5] and ("-p", "11211") == memcached[5:7]
        assert ("-u", "memcache") == memcached[1:3] and "-c" in memcached


def test_horizon_shape(lay):
    app = backend_config.http_apps(lay.backends[0])[0]
    assert (app.entry, app.login, app.redirect) == (
        "/horizon", "/horizon/auth/login/", "/horizon/auth/login/?next=/horizon/")
    root_app = backend_config.HttpApp(8080, "/")
    assert (root_app.login, root_app.redirect) == ("/auth/login/", "/auth/login/?next=/")
    zeus = lay.backends[0]
    files = backend_config.files(zeus)
    page = files[zeus.dir / "html" / "horizon" / "auth" / "login" / "index.html"]
    assert page.startswith("<!DOCTYPE html>") and "ha respondido zeus" in page
    conf = files[zeus.dir / "nginx.conf"]
    assert "add_header X-Backend zeus always;" in conf
    assert "location = /horizon { return 302 /horizon/auth/login/?next=/horizon/; }" in conf
    # Every file the daemon writes stays in the lab's state dir, never in /run or /var/log.
    assert f"pid {zeus.dir}/nginx.pid;" in conf and f"error_log {zeus.log} warn;" in conf


def test_web_backends_answer_only_to_their_allowed_hosts(lay):
    zeus = lay.backends[0]
    # The VIP (what clients and the health check send) and its own address; nothing else.
    assert zeus.hosts == ("198.51.100.150", "198.51.100.12")
    conf = backend_config.nginx_conf(zeus)
    default, app = conf.split("    server {")[1:3]
    assert "listen 198.51.100.12:80 default_server;" in default and "return 400;" in default
    assert "server_name 198.51.100.150 198.51.100.12;" in app and "return 302" in app


def test_ready_request_names_what_each_backend_must_answer(lay):
    request = backends.ready_request(lay)
    assert request["key"] == BACKEND_KEY and request["source"] == str(lay.client.addresses[0].ip)
    zeus = request["backends"][0]
    assert zeus == {"name": "zeus", "address": "198.51.100.12", "memcached": [11211],
                    "http": [{"port": 80, "entry": "/horizon", "status": 302,
                              "redirect": "/horizon/auth/login/?next=/horizon/"}]}


def needs_nginx(test):
    """`nginx -t` runs in a scratch network namespace holding the backend's address: the program, and root."""
    return pytest.mark.validators("nginx", reason="nginx y root necesarios")(
        pytest.mark.root("ip", reason="nginx y root necesarios")(test))


def _nginx_test(backend, conf_text: str | None = None) -> subprocess.CompletedProcess:
    backends.prepare(backend)
    conf = backend_config.nginx_conf_path(backend)
    if conf_text is not None:
        conf.write_text(conf_text)
    netns = f"rb-nt-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        subprocess.run(["ip", "-n", netns, "address", "add", f"{backend.address.ip}/32", "dev", "lo"], check=True)
        subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
        return subprocess.run(["ip", "netns", "exec", netns, "nginx", "-t", "-e", str(backend.log), "-c", str(conf)],
                              capture_output=True, text=True)
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)


@needs_nginx
def test_real_nginx_accepts_each_backend_config(lay):
    for backend in lay.backends:
        result = _nginx_test(backend)
        assert result.returncode == 0, result.stderr
        assert result.stderr.strip().splitlines() == [
            f"nginx: the configuration file {backend_config.nginx_conf_path(backend)} syntax is ok",
            f"nginx: configuration file {backend_config.nginx_conf_path(backend)} test is successful",
        ]  # no warning line either
        assert Path(backend.dir / "tmp" / "proxy").is_dir()


@needs_nginx
def test_nginx_check_can_fail(lay):
    backend = lay.backends[0]
    broken = backend_config.nginx_conf(backend).replace("return 302", "retrun 302", 1)
    result = _nginx_test(backend, broken)
    assert result.returncode != 0
    assert 'unknown directive "retrun"' in result.stderr
