"""What each lab backend runs: Debian's real nginx and memcached.

Pure: paths, command lines and file contents from the layout; `backends.py`
writes the files and starts the daemons.

Every HTTP service of the lab is served by nginx shaped like Horizon (a
Django application mounted at the service's health-check path) where the
health check accepts Horizon's answers (2xx and 3xx: the lab's); elsewhere
(a rehearsed site whose check expects 200 on /healthz) the path answers the
status the check expects, with a line of text. Horizon's shape: an
anonymous `GET /horizon` gets a 302 to the login page
(`/horizon/auth/login/?next=/horizon/`, a relative Location as Django
sends), and the login page answers 200 with an HTML form. Every response
carries `X-Backend: <name>` so that a client, verify and the tests can
tell which server answered. Like Horizon with its ALLOWED_HOSTS set, it
answers 400 to a request whose Host is not the VIP, the health check's host
or its own address, or that has no Host at all (a bare HTTP/1.0 health
check): a check without the right Host marks every backend DOWN, here as
in production. Every TCP service is a real memcached; once it listens the
lab stores the key `BACKEND_KEY` with the backend's name.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from .layout import BackendLayout

NGINX_USER = "www-data"  # created by Debian's nginx-common
MEMCACHED_USER = "memcache"  # created by Debian's memcached; it refuses to run as root
# The values of Debian's /etc/memcached.conf: what a controller runs by default.
MEMCACHED_MAX_CONNECTIONS = 1024
MEMCACHED_MEMORY_MB = 64
NGINX_TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


@dataclass(frozen=True)
class HttpApp:
    """An application at `entry` (the service's health-check path) answering `status` there.

    302: Django-like, Horizon's shape (the login page behind the redirect answers 200). Any other
    status is answered at `entry` itself, with a short text naming the backend: a site whose check
    expects 200 on /healthz gets exactly that (./rb rehearse).
    """

    port: int
    entry: str
    status: int = 302

    @property
    def horizon(self) -> bool:
        return self.status == 302

    @property
    def base(self) -> str:
        return self.entry.rstrip("/")

    @property
    def login(self) -> str:
        return f"{self.base}/auth/login/"

    @property
    def redirect(self) -> str:
        """Where an anonymous visitor of the entry path is sent (Django's LOGIN_URL?next=)."""
        return f"{self.login}?next={self.base}/"


@dataclass(frozen=True)
class Daemon:
    label: str  # unique within the backend: "nginx", "memcached-11211"
    program: str  # the process name (comm) the daemon runs as
    argv: tuple[str, ...]
    ports: tuple[int, ...]


def http_apps(backend: BackendLayout) -> list[HttpApp]:
    return [HttpApp(port, path, status) for port, path, status in backend.http]


def nginx_conf_path(backend: BackendLayout) -> Path:
    return backend.dir / "nginx.conf"


def html_root(backend: BackendLayout) -> Path:
    return backend.dir / "html"


def daemons(backend: BackendLayout) -> list[Daemon]:
    """The daemons of one backend: one nginx for all its HTTP ports, one memcached per TCP port."""
    found = []
    if backend.http:
        argv = ("nginx", "-e", str(backend.log), "-c", str(nginx_conf_path(backend)))
        found.append(Daemon("nginx", "nginx", argv, tuple(sorted({p for p, _, _ in backend.http}))))
    for port in backend.tcp:
        argv = (
            "memcached", "-u", MEMCACHED_USER, "-l", str(backend.address.ip), "-p", str(port),
            "-U", "0", "-c", str(MEMCACHED_MAX_CONNECTIONS), "-m", str(MEMCACHED_MEMORY_MB),
        )
        found.append(Daemon(f"memcached-{port}", "memcached", argv, (port,)))
    return found


def nginx_conf(backend: BackendLayout) -> str:
    d = backend.dir
    lines = [
        f"# Laboratorio de runbook: servidor web de {backend.name}, con la forma de Horizon.",
        "daemon off;  # the lab keeps the master's pid and kills it by namespace",
        "worker_processes 1;",
        f"user {NGINX_USER};",
        f"pid {d / 'nginx.pid'};",
        f"error_log {backend.log} warn;",
        "events { worker_connections 512; }",
        "http {",
        "    default_type application/octet-stream;",
        f"    access_log {d / 'access.log'};",
        *(f"    {kind}_temp_path {d / 'tmp' / kind};" for kind in NGINX_TEMP_DIRS),
        "    absolute_redirect off;  # Django sends a relative Location",
    ]
    by_port: dict[int, list[HttpApp]] = {}
    for app in http_apps(backend):
        by_port.setdefault(app.port, []).append(app)
    for port, apps in sorted(by_port.items()):
        lines += [
            # Django answers 400 to a Host outside ALLOWED_HOSTS, and to none at all.
            "    server {",
            f"        listen {backend.address.ip}:{port} default_server;",
            f"        add_header X-Backend {backend.name} always;",
            "        return 400;",
            "    }",
            "    server {",
            f"        listen {backend.address.ip}:{port};",
            f"        server_name {' '.join(backend.hosts)};",
            f"        root {html_root(backend)};",
            f"        add_header X-Backend {backend.name} always;",
            "        charset utf-8;  # text/html; charset=utf-8, as Django",
        ]
        for app in apps:
            if not app.horizon:
                # A 204 has no body; any other status says who answered, on one line.
                body = "" if app.status == 204 else f' "{app.status} {backend.name}\\n"'
                lines.append(f"        location = {app.entry} {{ default_type text/plain; "
                             f"return {app.status}{body}; }}")
                continue
            entries = [app.base or "/"] + ([f"{app.base}/"] if app.base else [])
            for entry in entries:
                lines.append(f"        location = {entry} {{ return 302 {app.redirect}; }}")
            lines.append(f"        location {app.login} {{ }}  # its index.html, the login page")
        lines += ["        location / { return 404; }", "    }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def login_page(backend: BackendLayout, app: HttpApp) -> str:
    name = html.escape(backend.name)
    action = html.escape(app.login, quote=True)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="es">\n<head><meta charset="utf-8">'
        "<title>Iniciar sesión - OpenStack Dashboard</title></head>\n<body>\n"
        "<h1>Iniciar sesión</h1>\n"
        f'<form method="post" action="{action}">\n'
        '  <label>Usuario <input name="username"></label>\n'
        '  <label>Contraseña <input name="password" type="password"></label>\n'
        "  <button>Conectar</button>\n</form>\n"
        f"<p>Laboratorio de runbook: ha respondido {name}.</p>\n"
        "</body>\n</html>\n"
    )


def files(backend: BackendLayout) -> dict[Path, str]:
    """Every file the backend's daemons read, by path."""
    out: dict[Path, str] = {}
    if backend.http:
        out[nginx_conf_path(backend)] = nginx_conf(backend)
        for app in http_apps(backend):
            if app.horizon:
                out[html_root(backend) / app.login.strip("/") / "index.html"] = login_page(backend, app)
    return out
