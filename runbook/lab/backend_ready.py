"""Wait until the lab's backends answer as the LAN sees them; tell each memcached who it is.

Run by the lab in its client namespace, standard library only:
`ip netns exec <client ns> python3 -I backend_ready.py '<json>'`. For every
backend, in parallel and until the deadline:

- each memcached stores the key naming the backend (`set`, then `get` reads
  it back): from then on a client can ask any memcached who it is;
- each web application sends `GET <entry>` to its login page with a 302,
  and the login page answers 200 with HTML, both naming the backend in
  `X-Backend` (Horizon's shape: `redirect` is the login page); or, without
  a `redirect`, answers `GET <entry>` with its `status`, naming the backend.

Input: {"timeout", "source", "key", "backends": [{"name", "address",
"http": [{"port", "entry", "status", "redirect"}], "memcached": [port]}]}.
Prints {backend name: problem or null}; exit code 1 if any is not ready.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ATTEMPT_TIMEOUT = 1.0
PAUSE = 0.05


def web_problem(cfg: dict, backend: dict, app: dict) -> str | None:
    conn = http.client.HTTPConnection(
        backend["address"], app["port"], timeout=ATTEMPT_TIMEOUT, source_address=(cfg["source"], 0)
    )
    try:
        seen = []
        horizon = bool(app["redirect"])
        steps = ((app["entry"], 302), (app["redirect"], 200)) if horizon else ((app["entry"], app["status"]),)
        for path, status in steps:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            who = response.getheader("X-Backend")
            seen.append(f"GET {path} → {response.status} ({who or 'sin X-Backend'})")
            if response.status != status or who != backend["name"]:
                return "; ".join(seen)
            if horizon and status == 302 and response.getheader("Location") != app["redirect"]:
                return f"GET {path} → Location {response.getheader('Location')}"
            if horizon and status == 200 and "text/html" not in (response.getheader("Content-Type") or ""):
                return f"GET {path}: no es una página HTML"
        return None
    finally:
        conn.close()


def memcached_problem(cfg: dict, backend: dict, port: int) -> str | None:
    key, value = cfg["key"], backend["name"].encode()
    request = f"set {key} 0 0 {len(value)}\r\n".encode() + value + f"\r\nget {key}\r\nquit\r\n".encode()
    with socket.create_connection(
        (backend["address"], port), timeout=ATTEMPT_TIMEOUT, source_address=(cfg["source"], 0)
    ) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    expected = f"STORED\r\nVALUE {key} 0 {len(value)}\r\n".encode() + value + b"\r\nEND\r\n"
    return None if answer == expected else f"memcached :{port} respondió {answer[:80]!r}"


def one_backend(cfg: dict, backend: dict) -> str | None:
    checks = [lambda a=app: web_problem(cfg, backend, a) for app in backend["http"]]
    checks += [lambda p=port: memcached_problem(cfg, backend, p) for port in backend["memcached"]]
    deadline = time.monotonic() + cfg["timeout"]
    problem = None
    while checks:
        try:
            problem = checks[0]()
        except (OSError, http.client.HTTPException) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if problem is None:
            checks.pop(0)
        elif time.monotonic() > deadline:
            return problem
        else:
            time.sleep(PAUSE)
    return None


def main() -> None:
    cfg = json.loads(sys.argv[1])
    backends = cfg["backends"]
    with ThreadPoolExecutor(max_workers=max(1, len(backends))) as pool:
        problems = dict(zip([b["name"] for b in backends],
                            pool.map(lambda b: one_backend(cfg, b), backends), strict=True))
    json.dump(problems, sys.stdout)
    sys.exit(1 if any(problems.values()) else 0)


if __name__ == "__main__":
    main()
