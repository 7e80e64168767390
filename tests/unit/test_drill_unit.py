"""The drill without a lab: its figures, its report, its load client, and the CLI's refusals."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from runbook.data.load import load_site
from runbook.drill import analysis, haproxy_events, repeats
from runbook.drill.load import LOAD_CLIENT, LoadSpec, client_config
from runbook.drill.report import KEYS, print_table, to_json
from runbook.drill.sampler import Sample

REPO = Path(__file__).resolve().parents[2]


def req(t: float, ok: bool, lat: float = 0.01) -> dict:
    return {"t": t, "ok": ok, "lat": lat}


# ------------------------------------------------------------------ figures


def test_error_window_runs_from_first_failure_to_next_success():
    records = [req(0.0, True), req(0.1, False, 1.0), req(0.2, False, 1.0), req(0.3, True), req(0.4, False),
               req(0.5, True)]
    windows = analysis.error_windows(records)
    assert [(w.start, w.end, w.failed) for w in windows] == [(0.1, 0.3, 2), (0.4, 0.5, 1)]
    assert analysis.longest_error_window(records) == pytest.approx(0.2)


def test_error_window_at_the_end_lasts_until_the_last_failure_is_over():
    records = [req(0.0, True), req(1.0, False, 1.0), req(2.0, False, 0.5)]
    assert analysis.longest_error_window(records) == pytest.approx(1.5)
    assert analysis.longest_error_window([req(0.0, True)]) == 0.0


def test_records_out_of_order_are_sorted_by_send_time():
    records = [req(0.3, True), req(0.1, False), req(0.0, True), req(0.2, False)]
    assert analysis.longest_error_window(records) == pytest.approx(0.2)


def test_takeover_is_zero_when_no_request_failed_after_the_fault():
    records = [req(t / 10, True) for t in range(50)] + [req(0.05, False, 0.01)]  # failed, over before
    assert analysis.takeover(records, fault=1.0, restore=4.0) == 0.0


def test_takeover_is_the_first_answer_after_the_last_failure():
    # Fault at 1.0; requests fail (1 s timeouts) from 0.9 to 3.0, the next one answers after 20 ms.
    records = [req(0.5, True), req(0.9, False, 1.0), *[req(1.0 + i / 10, False, 1.0) for i in range(21)],
               req(3.1, True, 0.02), req(3.2, True, 0.01)]
    assert analysis.takeover(records, fault=1.0, restore=5.0) == pytest.approx(2.12)
    assert len(analysis.fault_failures(records, 1.0, 5.0)) == 22


def test_takeover_is_none_when_the_service_did_not_come_back_before_the_restore():
    records = [req(0.5, True), req(1.5, False, 1.0), req(2.5, False, 1.0), req(4.5, True)]
    assert analysis.takeover(records, fault=1.0, restore=4.0) is None


def test_failures_after_the_restore_are_not_the_fault_s():
    records = [req(0.5, True), req(1.5, True), req(4.5, False), req(4.6, True)]
    assert analysis.takeover(records, fault=1.0, restore=4.0) == 0.0


def test_vip_moved_and_two_holders():
    samples = [Sample(0.0, ("hera",)), Sample(0.9, ("hera",)), Sample(1.1, ()), Sample(1.7, ("afrodita",)),
               Sample(2.0, ("hera", "afrodita")), Sample(2.5, ("hera",))]
    assert analysis.holder_before(samples, 1.0) == "hera"
    moved, new = analysis.vip_moved(samples, 1.0, "hera")
    assert (round(moved, 3), new) == (0.7, "afrodita")
    assert analysis.vip_moved(samples[:3], 1.0, "hera") == (None, None)
    assert analysis.two_holders_s(samples) == pytest.approx(0.5)
    assert analysis.holder_before([Sample(0.0, ("hera", "afrodita"))], 1.0) is None


def test_failures_open_while_the_vip_changed_hands_are_counted():
    samples = [Sample(0.0, ("hera",)), Sample(1.0, ("hera",)), Sample(1.02, ("afrodita",)), Sample(2.0, ("afrodita",))]
    records = [
        {"t": 0.99, "lat": 0.005, "ok": False},  # ended before the change began: not it
        {"t": 1.005, "lat": 0.004, "ok": False},  # open during the change
        {"t": 0.9, "lat": 0.211, "ok": False},  # a retransmission reset by the new holder
        {"t": 1.01, "lat": 0.005, "ok": True},  # answered: not counted
        {"t": 1.5, "lat": 0.005, "ok": False},  # later, another cause
    ]
    assert analysis.failed_at_vip_change(records, samples) == 2
    assert analysis.failed_at_vip_change(records, samples[:2]) == 0  # the VIP never moved
    ownerless = [Sample(0.0, ("hera",)), Sample(1.0, ()), Sample(1.02, ("afrodita",))]
    assert analysis.failed_at_vip_change(records, ownerless) == 0  # no handover: nobody held it

def test_timeline_counts_answers_and_failures_per_second():
    records = [req(10.0 + i / 100, i % 10 != 0) for i in range(100)]  # 1 s at 100 req/s, 10 % failing
    bins = analysis.timeline(records, start=10.0, bin_s=0.5)
    assert [b["t"] for b in bins] == [0.0, 0.5]
    assert sum(b["ok_rps"] for b in bins) * 0.5 == 90
    assert sum(b["failed_rps"] for b in bins) * 0.5 == 10


# ------------------------------------------------------------------ report


def scenario(**over) -> dict:
    base = {"name": "node-crash", "title": "Caída del nodo", "requests": 2000, "failed": 700,
            "rate_rps": 199.9, "longest_error_window_s": 3.5, "takeover_s": 3.62, "vip_moved_s": 3.58,
            "verify_after": "ok", "verify_after_failures": [], "failed_after_restore": 0,
            "two_holders_s": 0.0, "errors": {"sin respuesta (tiempo agotado)": 700}, "timeline": []}
    return {**base, **over}


def test_json_has_the_documented_keys():
    doc = {"site": "lab", "rate": 200.0, "duration_s": 20.0, "scenarios": [scenario()]}
    data = json.loads(to_json(doc))
    assert data["site"] == "lab"
    first = data["scenarios"][0]
    assert list(first)[: len(KEYS)] == list(KEYS)
    assert first["takeover_s"] == 3.62 and first["verify_after"] == "ok"


def test_table_is_spanish_and_says_when_nothing_moved():
    doc = {"site": "lab", "rate": 200.0, "duration_s": 20.0, "scenarios": [
        scenario(), scenario(name="haproxy-crash", vip_moved_s=None, takeover_s=None, verify_after="failed",
                             verify_after_failures=["vip-unica@clúster"], two_holders_s=1.5)]}
    console = Console(record=True, width=200)
    print_table(doc, console)
    text = console.export_text()
    for words in ("Escenario", "Fallidas", "Recuperación", "3,62 s", "no se movió", "sin recuperar", "falla",
                  "IP virtual en dos nodos durante 1,50 s", "verify después: vip-unica@clúster"):
        assert words in text


def test_added_latency_compares_the_fault_window_with_before_it():
    before = [req(t / 10, True, 0.002) for t in range(10)]
    during = [req(1 + t / 100, True, 0.002) for t in range(95)] + [req(1.95 + t / 100, True, 0.5) for t in range(5)]
    figures = analysis.added_latency(before + during + [req(5, True, 9.0)], fault=1.0, restore=3.0)
    assert figures["latency_before_p50_s"] == 0.002 and figures["added_p50_s"] == 0.0
    assert figures["latency_fault_p99_s"] == 0.5 and abs(figures["added_p99_s"] - 0.498) < 1e-9
    assert analysis.added_latency([], 1.0, 2.0)["added_p99_s"] is None


JOURNAL = """\
1796446866.266754 hera haproxy[636]: Proxy <HTTPCLIENT> stopped (cumulated conns: FE: 0, BE: 0).
1796446900.100000 hera haproxy[640]: [WARNING]  (640) : Server horizon/zeus is DOWN, reason: Layer4 timeout, check duration: 500ms. 1 active and 0 backup servers left. 12 sessions active, 0 requeued, 0 remaining in queue.
1796446900.100400 hera haproxy[640]: Server horizon/zeus is DOWN, reason: Layer4 timeout, check duration: 500ms.
1796446900.200000 hera haproxy[640]: [WARNING]  (640) : Server memcached/zeus is DOWN, reason: Health analyze, info: "Detected 10 consecutive errors, last one was: L4 timeout".
1796446912.700000 hera haproxy[640]: [WARNING]  (640) : Server horizon/zeus is UP, reason: Layer7 check passed, code: 302, check duration: 1ms. 2 active and 0 backup servers up.
"""


def test_haproxy_transitions_are_read_per_server_and_folded():
    events = haproxy_events.transitions(JOURNAL, "horizon", "zeus")
    assert events == [(1796446900.1, "DOWN"), (1796446912.7, "UP")]
    assert haproxy_events.transitions(JOURNAL, "memcached", "zeus") == [(1796446900.2, "DOWN")]
    assert haproxy_events.marked(events, fault=1796446899.6, restore=1796446910.0) == {
        "marked_down_s": 0.5, "marked_up_s": 2.7}
    # Never marked: both None (the page says so rather than showing a zero).
    assert haproxy_events.marked([], 1.0, 2.0) == {"marked_down_s": None, "marked_up_s": None}
    assert haproxy_events.journal_command(1796446899.6) == (
        "journalctl --no-pager -q -o short-unix -t haproxy --since @1796446900")


def test_repeats_give_the_median_the_range_and_a_representative_run():
    runs = [scenario(failed=f, takeover_s=t, vip_moved_s=v, verify_after=ok)
            for f, t, v, ok in ((700, 3.6, 3.5, "ok"), (10, 0.2, None, "ok"), (650, 3.3, 3.2, "failed"))]
    out = repeats.combine(runs)
    assert out["failed"] == 650 and out["takeover_s"] == 3.3 and out["vip_moved_s"] == 3.35
    assert out["spread"]["failed"] == {"median": 650, "min": 10, "max": 700, "values": [700, 10, 650]}
    assert out["spread"]["vip_moved_s"]["values"] == [3.5, None, 3.2]
    assert out["runs"] == 3 and out["representative_run"] == 3 and out["verify_after"] == "failed"
    assert "title" not in out["spread"] and "timeline" not in out["spread"]


def test_table_shows_the_range_of_repeated_runs():
    runs = [scenario(failed=f, added_p50_s=0.0, added_p99_s=p, marked_down_s=d, marked_up_s=1.5)
            for f, p, d in ((0, 0.5, 0.6), (2, 0.6, 0.5), (1, 0.55, None))]
    doc = {"site": "lab", "rate": 200.0, "duration_s": 20.0, "repeat": 3, "scenarios": [repeats.combine(runs)]}
    console = Console(record=True, width=250)
    print_table(doc, console)
    text = console.export_text()
    for words in ("mediana de 3 ejecuciones", "1 (0–2)", "0,55 s (0,50 s–0,60 s)", "0,55 s (0,50 s–0,60 s) / 1,50 s"):
        assert words in text, text


# ------------------------------------------------------------------ load client


def test_client_config_comes_from_the_lab_data():
    cfg = client_config(load_site("lab"), LoadSpec(rate=200, duration=10))
    assert cfg["vip"] == "198.51.100.150" and cfg["port"] == 80 and cfg["path"] == "/horizon"
    assert cfg["protocol"] == "http"
    assert cfg["max_requests"] == 2001 and cfg["sources"][0] == "198.51.100.200"
    assert cfg["expect"] == [(200, 399)]  # what the lab's health check accepts
    tcp = client_config(load_site("lab"), LoadSpec(rate=200, duration=10), "tcp")
    assert tcp["port"] == 11211 and tcp["protocol"] == "memcached"


SERVER = textwrap.dedent("""
    import http.server, sys
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            code = 200 if self.path == "/bien" else 503
            self.send_response(code); self.send_header("Content-Length", "2"); self.end_headers()
            self.wfile.write(b"ok")
        def log_message(self, *a): pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 8080), H)
    open(sys.argv[1], "w").close()  # listening: the client may start
    server.serve_forever()
""")


MEMCACHED = textwrap.dedent("""
    import socketserver, sys
    class H(socketserver.StreamRequestHandler):
        def handle(self):
            if self.rfile.readline() == b"version\\r\\n":
                self.wfile.write(b"VERSION 1.6.18\\r\\n")
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 8080), H)
    open(sys.argv[1], "w").close()
    server.serve_forever()
""")


def run_client_isolated(tmp_path: Path, cfg: dict, server: str = SERVER) -> list[dict]:
    """Server and load client in a private network namespace holding only `lo` (tests marked `needs_netns`)."""
    (tmp_path / "server.py").write_text(server)
    ready = tmp_path / "ready"
    ready.unlink(missing_ok=True)
    script = (f"ip link set lo up; {sys.executable} -I {tmp_path / 'server.py'} {ready} & server=$!; "
              f"for i in $(seq 100); do [ -e {ready} ] && break; sleep 0.1; done; "
              f"{sys.executable} -I {LOAD_CLIENT} '{json.dumps(cfg)}'; code=$?; kill $server; exit $code")
    done = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert "end" in lines[-1]
    return lines[:-1]


def client_cfg(**over) -> dict:
    return {"vip": "127.0.0.1", "port": 8080, "path": "/bien", "rate": 100, "duration": 1.0,
            "max_requests": 1000, "timeout": 1.0, "sources": ["127.0.0.1"], **over}


needs_netns = pytest.mark.root("unshare", reason="necesita root y unshare (espacio de red privado)")


@needs_netns
def test_load_client_keeps_its_rate_and_records_each_request(tmp_path):
    # A generous per-request timeout: this test is about the schedule and the
    # records, not the machine's speed (the suite shares 2 cores with the lab's
    # tests); the drill's own timeout is measured by the benchmark.
    records = run_client_isolated(tmp_path, client_cfg(timeout=5.0))
    assert len(records) == 100  # 100 req/s for 1 s: the schedule, not the machine's speed, sets the count
    good = [r for r in records if r["ok"] and r["status"] == 200]
    assert len(good) >= 95, [r for r in records if not r["ok"]][:3]
    span = max(r["t"] for r in records) - min(r["t"] for r in records)
    assert 0.9 <= span <= 1.5


@needs_netns
def test_load_client_records_http_errors_refusals_and_the_count_bound(tmp_path):
    records = run_client_isolated(tmp_path, client_cfg(path="/mal", max_requests=7))
    assert len(records) == 7
    assert all(not r["ok"] and r["status"] == 503 and r["error"] == "HTTP 503" for r in records)
    refused = run_client_isolated(tmp_path, client_cfg(port=8081, max_requests=5))
    assert [r["error"] for r in refused] == ["conexión rechazada"] * 5


@needs_netns
def test_load_client_counts_as_good_what_the_health_check_accepts(tmp_path):
    # A site whose check expects 503 (rehearsed: its backends answer 503): every 503 is an answer.
    records = run_client_isolated(tmp_path, client_cfg(path="/mal", max_requests=4, expect=[[503, 503]]))
    assert [(r["ok"], r["status"], r["error"]) for r in records] == [(True, 503, None)] * 4
    records = run_client_isolated(tmp_path, client_cfg(max_requests=3, expect=[[503, 503]]))
    assert [(r["ok"], r["error"]) for r in records] == [(False, "HTTP 200")] * 3


@needs_netns
def test_load_client_speaks_memcached_to_a_tcp_service(tmp_path):
    records = run_client_isolated(tmp_path, client_cfg(protocol="memcached", max_requests=5, timeout=5.0),
                                  MEMCACHED)
    assert [(r["ok"], r["status"], r["error"]) for r in records] == [(True, 200, None)] * 5
    # An HTTP server is not memcached: every request fails.
    wrong = run_client_isolated(tmp_path, client_cfg(protocol="memcached", max_requests=3))
    assert [(r["ok"], r["error"]) for r in wrong] == [(False, "conexión cortada")] * 3


# ------------------------------------------------------------------ CLI refusals



@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "olimpo"], "no es un laboratorio"),
        # --yes opens a real site, but never for the faults only the lab can undo (refused first).
        (["--site", "olimpo", "--yes", "--scenario", "node-crash"], "node-crash solo se ejecuta en el laboratorio"),
        (["--site", "olimpo", "--yes", "--scenario", "planned,backend-down"],
         "backend-down solo se ejecuta en el laboratorio"),
        (["--site", "noexiste"], "no existe el sitio 'noexiste'"),
        (["--scenario", "meteorito"], "escenario desconocido 'meteorito'"),
        (["--rate", "0"], "--rate debe estar entre"),
        (["--rate", "mucho"], "--rate debe ser un número"),
        (["--duration", "1"], "--duration debe estar entre"),
        (["--repeat", "0"], "--repeat debe estar entre 1 y 20"),
        (["--repeat", "21"], "--repeat debe estar entre 1 y 20"),
        (["--repeat", "tres"], "--repeat debe ser un número entero"),
        (["--repeat", "2.5"], "--repeat debe ser un número entero"),
        (["--rate", "5000", "--repeat", "3"], "--rate debe estar entre"),
    ],
)
def test_cli_refuses_without_touching_anything(tripwire, args, message):
    env, log = tripwire
    done = subprocess.run([sys.executable, "-m", "invoke", "drill", *args], cwd=REPO, capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
    assert not log.exists(), log.read_text()
