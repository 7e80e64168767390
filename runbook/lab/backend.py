"""A lab backend: HTTP and memcached-like responders that say who they are.

Run by the host's python3 inside the backend's network namespace
(`ip netns exec NS python3 backend.py ...`); standard library only, so it
needs nothing installed. HTTP answers 200 on every path with a body that
names the backend (tests see which backend served a request); the TCP ports
speak a minimal memcached text protocol (version, get, set, delete, quit).
"""

from __future__ import annotations

import argparse
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VERSION = "1.6.0-lab"


def http_handler(name: str):
    class Handler(BaseHTTPRequestHandler):
        server_version = f"runbook-lab-backend/{name}"

        def do_GET(self):  # noqa: N802 (http.server's naming)
            body = f"{name}\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Backend", name)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args):
            pass  # HAProxy checks every 2 s: keep the log for real problems

    return Handler


def memcached_handler(name: str, store: dict, lock: threading.Lock):
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                words = line.decode(errors="replace").split()
                if not words:
                    self._send("ERROR")
                    continue
                cmd, args = words[0].lower(), words[1:]
                if cmd == "version":
                    self._send(f"VERSION {VERSION}-{name}")
                elif cmd in ("get", "gets"):
                    with lock:
                        found = [(k, store[k]) for k in args if k in store]
                    out = b"".join(
                        f"VALUE {k} {flags} {len(data)}\r\n".encode() + data + b"\r\n"
                        for k, (flags, data) in found
                    )
                    self.wfile.write(out + b"END\r\n")
                elif cmd == "set" and len(args) >= 4 and args[3].isdigit():
                    data = self.rfile.read(int(args[3]) + 2)[:-2]
                    with lock:
                        store[args[0]] = (args[1], data)
                    if "noreply" not in args[4:]:
                        self._send("STORED")
                elif cmd == "delete" and args:
                    with lock:
                        existed = store.pop(args[0], None) is not None
                    self._send("DELETED" if existed else "NOT_FOUND")
                elif cmd == "stats":
                    self._send(f"STAT version {VERSION}-{name}\r\nSTAT curr_items {len(store)}\r\nEND")
                elif cmd == "quit":
                    return
                else:
                    self._send("ERROR")

        def _send(self, text: str) -> None:
            self.wfile.write(text.encode() + b"\r\n")

    return Handler


class TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--http", action="append", default=[], type=int, metavar="PORT")
    parser.add_argument("--tcp", action="append", default=[], type=int, metavar="PORT")
    parser.add_argument("--ready", help="file created once every port listens")
    opts = parser.parse_args()

    servers = []
    for port in opts.http:
        ThreadingHTTPServer.allow_reuse_address = True
        ThreadingHTTPServer.daemon_threads = True
        servers.append(ThreadingHTTPServer(("0.0.0.0", port), http_handler(opts.name)))
    store: dict = {}
    lock = threading.Lock()
    for port in opts.tcp:
        servers.append(TCPServer(("0.0.0.0", port), memcached_handler(opts.name, store, lock)))
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    if opts.ready:
        Path(opts.ready).write_text("ok\n")
    if servers:
        servers[0].serve_forever()


if __name__ == "__main__":
    main()
