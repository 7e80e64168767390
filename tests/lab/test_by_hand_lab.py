"""A reader builds the cluster by hand from the site alone, and `./rb verify` says it is right.

The site (data/a-mano.yaml) is a reader's own: its LAN on `enp1s0` and its
management network on `enp7s0` (Debian's names, never eth1), and two servers
that are Debian machines with nginx and memcached just installed by apt,
Debian's configuration untouched (`lab.backends: machines`). Its pages are
built with `./rb docs`, and everything the reader types is read back from the
HTML (the drift test's readers, tests/site/test_drift.py), in page order:

- on each server, the commands of «Antes de empezar» → «Preparar los
  servidores» (its tab for that server);
- on the balancers, step by step: each by-hand block of the step on every
  node (here-documents, chown/chmod, the validation, the `mv`, the
  activation), the stats password put in where the page asks for an editor
  (here from stdin, never on a command line), then the step's checks, judged
  by what the page says verify requires (tried again for a while: a reader
  waits for VRRP and HAProxy's health checks to settle);
- last, `./rb verify`: exit 0. No `./rb deploy` anywhere.

Then, on the cluster built this way, one server gets Debian's memcached.conf
back: HAProxy marks that server DOWN (verify says so, exit 1), and the page's
commands make it green again. That is why the preparation is a step at all.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from support.hostile_cases import REPO
from support.site_fixtures import BuiltSite, nav_pages
from test_drift import HEREDOC_RE, _blocks, _hand_commands, _output, site_checks

from runbook import lab as lab_api
from runbook.data.load import load_site
from runbook.plan.expected_output import mismatch

pytestmark = pytest.mark.lab

NAME = "a-mano"
SITE_FILE = Path(__file__).with_name("data") / f"{NAME}.yaml"
DEBIAN_MEMCACHED_CONF = "/usr/share/memcached/memcached.conf.default"  # what postinst copies to /etc
SETTLE_S = 30.0  # how long a check may take to pass after its step (VRRP, HAProxy's rise)
# The nano of the page's hint: the placeholder in PATH becomes the secret read from stdin.
PUT_SECRET = ("import sys; path, mark = sys.argv[1], sys.argv[2]; secret = sys.stdin.read().strip(); "
              "text = open(path).read(); assert mark in text, mark; "
              "open(path, 'w').write(text.replace(mark, secret))")


def rb(data: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "RUNBOOK_DATA_DIR": str(data)}
    return subprocess.run([str(REPO / "rb"), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def on(site, host: str, command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """What the reader's root shell on `host` does with `command` (bash, stopping at a failing line)."""
    return lab_api.node_run(site, host, ["bash", "-e", "-c", f"exec 2>&1\n{command}"], input=stdin,
                            timeout=180)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    (folder / "procedure.yaml").write_bytes((REPO / "site_data" / "procedure.yaml").read_bytes())
    (folder / f"{NAME}.yaml").write_bytes(SITE_FILE.read_bytes())
    return folder


@pytest.fixture(scope="module")
def pages(data, tmp_path_factory) -> BuiltSite:
    dest = tmp_path_factory.mktemp("web") / "site"
    built = rb(data, "docs", "--site", NAME, "--dest", str(dest))
    assert built.returncode == 0, built.stderr[-2000:]
    return BuiltSite(root=dest, pages=[p for p in nav_pages() if (dest / p).exists()], stderr=built.stderr)


@pytest.fixture(scope="module")
def site(data):
    site = load_site(NAME, data)
    rb(data, "lab.down", "--site", NAME)
    up = rb(data, "lab.up", "--site", NAME, timeout=600)
    assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
    yield site
    rb(data, "lab.down", "--site", NAME)


def preparation(pages: BuiltSite) -> dict[str, tuple[str, str]]:
    """«Preparar los servidores»: each server's tab as the reader copies it, (what to do, how to look)."""
    soup = BeautifulSoup(pages.html("antes.html"), "html.parser")
    tabs = soup.find(id="servidores").find_next("div", class_="tabbed-set")
    labels = [label.get_text().strip().lower() for label in tabs.select("div.tabbed-labels > label")]
    blocks = []
    for block in tabs.select("div.tabbed-block"):
        do, look = (code.get_text() for code in block.select("pre code"))
        blocks.append((do, look))
    return dict(zip(labels, blocks, strict=True))


def prepare(site, pages: BuiltSite, server) -> str | None:
    """The server's tab of «Preparar los servidores»; None once it listens on the LAN as the page says."""
    do, look = preparation(pages)[server.name.lower()]
    done = on(site, server.name, do)
    if done.returncode != 0:
        return f"preparar {server.name}: código {done.returncode}: {done.stdout[-600:]}"
    deadline = time.monotonic() + SETTLE_S
    while True:  # the page: if nothing shows yet, look again
        seen = on(site, server.name, look)
        if seen.returncode == 0 and f"{server.lan_address}:11211" in seen.stdout:
            return None
        if time.monotonic() > deadline:
            return f"{server.name} no escucha en la LAN tras prepararlo: {seen.stdout[-600:]}"
        time.sleep(0.5)


def step_order(pages: BuiltSite) -> list[str]:
    order: list[str] = []
    for page in pages.pages:
        soup = BeautifulSoup(pages.html(page), "html.parser")
        for block in soup.select("div.rb-manual, div.rb-check"):
            if block["data-step"] not in order:
                order.append(block["data-step"])
    return order


def secret_of(site, name: str) -> str:
    return Path(site.secrets[name].file).read_text().strip()


def do_block(site, node: str, block) -> list[str]:
    """One by-hand block on `node`, every command as the page shows it; the problems seen (stops at one)."""
    # Every code block of the block by role, in page order (and each role known, once).
    for role in _hand_commands(block):
        # What the reader copies: a secret's placeholder as the page shows it.
        shown = BeautifulSoup(str(block.select_one(f'code[data-field="{role}"]')), "html.parser").get_text()
        done = on(site, node, shown)
        if done.returncode != 0:
            return [f"{node}, {block['data-step']}, {role}: código {done.returncode}: {done.stdout[-600:]}"]
        if role == "write":
            for span in block.select('code[data-field="write"] span.rb-secreto'):
                # The page: change the placeholder for the real value with an editor (nano).
                path = HEREDOC_RE.match(shown)["path"]
                put = lab_api.node_run(site, node, ["python3", "-c", PUT_SECRET, path, span.get_text()],
                                       input=secret_of(site, span["data-secret"]), timeout=60)
                if put.returncode != 0:
                    return [f"{node}: no se pudo poner el secreto en {path}: {put.stderr[-300:]}"]
        expected, _ = _output(block, f"{role}_output")
        if expected is not None and (why := mismatch(expected, done.stdout)):
            return [f"{node}, {block['data-step']}, {role}: {why}"]
    return []


def check_passes(site, node: str, check: dict) -> str | None:
    """None once the check passes as verify judges it (within SETTLE_S); else what it printed last."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        done = lab_api.node_run(site, node, ["sh", "-c", f"exec 2>&1; {check['command']}"], timeout=60)
        out = done.stdout.strip("\n")
        ok = done.returncode == check["exit_code"]
        ok = ok and (check["stdout_contains"] is None or check["stdout_contains"] in out)
        ok = ok and (check["stdout_regex"] is None or re.search(check["stdout_regex"], out))
        ok = ok and not (check["stdout_matches_output"] and mismatch(check["output"], out, check["output_partial"]))
        if ok:
            return None
        if time.monotonic() > deadline:
            return f"{node}, comprobación {check['id']}: código {done.returncode}: {out[-400:]}"
        time.sleep(1)


@pytest.fixture(scope="module")
def walked(site, pages, data):
    """The whole by-hand walk; (problems, what was done, verify's result)."""
    done: list[str] = []
    for server in site.servers:
        conf = on(site, server.name, f"cmp {DEBIAN_MEMCACHED_CONF} /etc/memcached.conf")
        assert conf.returncode == 0, f"{server.name} no empieza con la configuración de Debian"
        problem = prepare(site, pages, server)
        if problem:
            return [problem], done, None
        done.append(f"preparar {server.name}")
    nodes = [n.name for n in site.nodes]
    checks = {node: site_checks(pages, node) for node in nodes}
    when = {}
    for step in step_order(pages):
        for node in nodes:
            for _page, block in _blocks(pages, "div.rb-manual", node):
                if block["data-step"] != step:
                    continue
                condition = block.get("data-when")
                if condition and on(site, node, f"test -e {condition}").returncode != 0:
                    when[(step, node)] = False
                    continue  # «Paso condicional»: the reader skips it here
                problems = do_block(site, node, block)
                if problems:
                    return problems, done, None
                done.append(f"{step} en {node}: {block['data-kind']}")
        for node in nodes:
            if when.get((step, node)) is False:
                continue
            for check in (c for c in checks[node] if c["step"] == step):
                why = check_passes(site, node, check)
                if why:
                    return [why], done, None
                done.append(f"{step} en {node}: comprobación {check['id']}")
    return [], done, rb(data, "verify", "--site", NAME)


def test_a_reader_builds_the_cluster_from_the_site_alone_and_verify_is_green(walked, site):
    problems, done, verify = walked
    assert problems == [], "\n".join(done[-5:])
    assert any("comprobación" in d for d in done) and any("file" in d for d in done)
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-1000:]


def verify_until(data, code: int, says: str = "") -> subprocess.CompletedProcess:
    """`./rb verify` again until it exits `code` saying `says` (HAProxy takes a few checks to decide)."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        result = rb(data, "verify", "--site", NAME)
        if (result.returncode == code and says in result.stdout) or time.monotonic() > deadline:
            return result
        time.sleep(1)


def test_with_debians_memcached_config_haproxy_marks_the_server_down(walked, site, data, pages):
    problems, _, verify = walked
    assert problems == [] and verify.returncode == 0
    server = site.servers[-1]
    back = on(site, server.name, f"cp {DEBIAN_MEMCACHED_CONF} /etc/memcached.conf; systemctl restart memcached")
    assert back.returncode == 0, back.stdout
    # HAProxy's own view, as verify reports it: the server DOWN (its check refused).
    broken = verify_until(data, 1, f"{server.name} DOWN")
    assert broken.returncode == 1, broken.stdout[-2000:]
    assert f"{server.name} DOWN" in broken.stdout, broken.stdout[-3000:]
    # The page's own check from the balancers says it too: the server does not answer on that port.
    assert f"{server.lan_address}:11211 {server.lan_address}: connect: Connection refused" in broken.stdout
    assert prepare(site, pages, server) is None
    healed = verify_until(data, 0)
    assert healed.returncode == 0, healed.stdout[-3000:]
