"""The lab: real Debian 12 nodes reachable like production servers.

Needs root; brings the lab up once (session fixture `lab`). The tests that
take the lab down run last in this file and leave it running again.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import fabric
import paramiko
import pytest

from runbook import lab as lab_api
from runbook.facts.net import Ipv4Addresses
from runbook.lab import backends
from runbook.lab.layout import BACKEND_KEY, layout
from runbook.lab.sysutil import alive, netns_list, netns_pids
from runbook.remote import sshmux
from runbook.remote.target import NodeUnreachableError
from runbook.verify.gather import gather_node

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]

# Units that may fail inside a container on some kernels, with the reason.
# Empty: the base image masks what cannot work (see runbook/lab/setup-base.sh).
KNOWN_CONTAINER_FAILURES: dict[str, str] = {}


def ssh(lab, target: str, command: str, **kw) -> subprocess.CompletedProcess:
    argv = ["ssh", "-F", str(lab.paths["ssh_config"]), "-o", "BatchMode=yes", target, command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, **kw)


def node_names(lab) -> list[str]:
    return [n.name for n in lab.site.nodes]


# ------------------------------------------------------------------ SSH


def test_ssh_by_name_and_by_management_address(lab):
    for node in lab.site.nodes:
        for target in (node.name, str(node.management_address)):
            proc = ssh(lab, target, "hostname")
            assert proc.returncode == 0, f"{target}: {proc.stderr}"
            assert proc.stdout.strip() == node.name


def test_ssh_config_is_strict_and_goes_through_the_lab_namespace(lab):
    for node in lab.site.nodes:
        for target in (node.name, str(node.management_address)):
            proc = subprocess.run(["ssh", "-G", "-F", str(lab.paths["ssh_config"]), target],
                                  capture_output=True, text=True, check=True)
            conf = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
            assert conf["stricthostkeychecking"] in ("true", "yes")
            assert conf["hostname"] == str(node.management_address)
            assert conf["proxycommand"].startswith(f"ip netns exec {lab.site.lab.namespace} nc")
            assert conf["userknownhostsfile"] == str(lab.paths["known_hosts"])


def test_unknown_host_key_is_refused(lab, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    node = lab.site.nodes[0].name
    proc = subprocess.run(
        ["ssh", "-F", str(lab.paths["ssh_config"]), "-o", f"UserKnownHostsFile={empty}",
         "-o", "BatchMode=yes", node, "true"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 255
    assert "Host key verification failed" in proc.stderr


def _fabric(lab, host: str, known_hosts: Path) -> fabric.Connection:
    conn = fabric.Connection(host, user=lab.site.ssh.user,
                             config=fabric.Config(runtime_ssh_path=str(lab.paths["ssh_config"])))
    # Fabric auto-adds unknown keys by default: make it as strict as ssh.
    conn.client.load_host_keys(str(known_hosts))
    conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return conn


def test_fabric_connection_with_strict_host_keys(lab, tmp_path):
    for node in lab.site.nodes:
        with _fabric(lab, str(node.management_address), lab.paths["known_hosts"]) as conn:
            result = conn.run("hostname", hide=True, in_stream=False)
            assert result.stdout.strip() == node.name
    # The first node's address with the second node's keys must be rejected.
    first, second = lab.site.nodes[:2]
    swapped = tmp_path / "known_hosts"
    lines = lab.paths["known_hosts"].read_text().splitlines()
    swapped.write_text("".join(
        line.replace(f"{second.name},{second.management_address}",
                     f"{first.name},{first.management_address}") + "\n"
        for line in lines if line.startswith(f"{second.name},")
    ))
    conn = _fabric(lab, str(first.management_address), swapped)
    try:
        with pytest.raises(paramiko.BadHostKeyException):
            conn.open()
    finally:
        conn.client.close()  # the failed open left a transport and its proxy


def _strict_copy(lab, tmp_path: Path, known_hosts_text: str) -> object:
    """The lab site with its ssh_config pointing at another known_hosts (its own masters, then)."""
    from runbook.data.model import Ssh

    known = tmp_path / "known_hosts"
    known.write_text(known_hosts_text)
    config = tmp_path / "ssh_config"
    config.write_text(lab.paths["ssh_config"].read_text().replace(str(lab.paths["known_hosts"]), str(known)))
    return lab.site.model_copy(update={"ssh": Ssh(config=str(config))})


def test_the_openssh_transport_checks_host_keys_strictly(lab, tmp_path):
    # What verify and deploy use (runbook/remote/sshmux.py): ssh with a ControlMaster.
    for node in lab.site.nodes:
        conn = sshmux.connect(lab.site, node)
        assert conn.run("hostname", timeout=30).stdout.strip() == node.name
    first, second = lab.site.nodes[:2]
    lines = lab.paths["known_hosts"].read_text().splitlines()
    swapped = "".join(line.replace(f"{second.name},{second.management_address}",
                                   f"{first.name},{first.management_address}") + "\n"
                      for line in lines if line.startswith(f"{second.name},"))
    (tmp_path / "swapped").mkdir()
    with pytest.raises(NodeUnreachableError, match="NO coincide con known_hosts"):
        sshmux.connect(_strict_copy(lab, tmp_path / "swapped", swapped), first)
    (tmp_path / "empty").mkdir()
    with pytest.raises(NodeUnreachableError, match="no está en known_hosts; no se acepta una clave desconocida"):
        sshmux.connect(_strict_copy(lab, tmp_path / "empty", ""), first)


# --------------------------------------------------------------- nodes


@pytest.mark.usefixtures("lab_up_not_deployed")
def test_nodes_run_systemd(lab):
    for name in node_names(lab):
        proc = lab_api.node_run(lab.site, name, ["systemctl", "is-system-running"])
        state = proc.stdout.strip()
        assert state in ("running", "degraded"), f"{name}: {state}"
        if state == "degraded":
            failed = lab_api.node_run(
                lab.site, name, ["systemctl", "--failed", "--plain", "--no-legend"]
            ).stdout.split()
            unexplained = [u for u in failed if u.endswith(".service") or u.endswith(".mount")
                           if u not in KNOWN_CONTAINER_FAILURES]
            assert not unexplained, f"{name}: unidades fallidas sin explicar: {unexplained}"


def test_each_node_has_its_own_hostname_machine_id_and_host_keys(lab):
    seen_keys, seen_ids = {}, {}
    for name in node_names(lab):
        out = lab_api.node_run(
            lab.site, name,
            ["sh", "-c", "hostname; cat /etc/machine-id; cat /etc/ssh/ssh_host_ed25519_key.pub"],
        ).stdout.splitlines()
        assert out[0] == name
        seen_ids[name] = out[1]
        seen_keys[name] = out[2].split()[1]
    assert len(set(seen_ids.values())) == len(seen_ids)
    assert len(set(seen_keys.values())) == len(seen_keys)


def test_nodes_live_in_their_own_cgroups(lab):
    # Shared cgroups would make a unit on one node wait for the other's.
    paths = set()
    for node in lab.refresh()["nodes"]:
        text = Path(f"/proc/{node['pid']}/cgroup").read_text()
        assert f"/{node['name']}" in text
        paths.add(text)
    assert len(paths) == len(node_names(lab))


@pytest.mark.usefixtures("lab_up_not_deployed")
def test_lan_interface_is_down_and_unaddressed_before_deploy(lab):
    lan_if = lab.site.network.lan.interface
    mgmt_if = lab.site.network.management.interface
    for node in lab.site.nodes:
        out = lab_api.node_run(lab.site, node.name, ["ip", "-4", "-o", "addr", "show"]).stdout
        assert f" {lan_if} " not in out
        assert f"{node.management_address}/" in out and f" {mgmt_if} " in out
        link = lab_api.node_run(lab.site, node.name, ["ip", "-o", "link", "show", lan_if]).stdout
        assert "state DOWN" in link
        routes = lab_api.node_run(lab.site, node.name, ["ip", "route", "show", "default"]).stdout
        assert routes.strip() == ""
        conf = lab_api.node_run(lab.site, node.name, ["cat", "/etc/network/interfaces"]).stdout
        assert "source /etc/network/interfaces.d/*" in conf


@pytest.mark.usefixtures("lab_up_not_deployed")
def test_nodes_start_without_haproxy_or_keepalived(lab):
    for name in node_names(lab):
        proc = lab_api.node_run(
            lab.site, name,
            ["sh", "-c", "command -v haproxy || command -v keepalived || command -v killall"],
        )
        assert proc.returncode != 0 and proc.stdout == "", proc.stdout


@pytest.mark.usefixtures("lab_up_not_deployed")
def test_apt_works_offline_from_the_local_repository(lab):
    # Simulated install (-s) so that the nodes stay fresh for other tests; the
    # real `apt-get install -y haproxy keepalived psmisc nftables` is what deploy runs.
    name = node_names(lab)[-1]
    proc = lab_api.node_run(
        lab.site, name,
        ["sh", "-c", "apt-get update && apt-get install -s haproxy keepalived psmisc nftables"],
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for pkg in ("haproxy", "keepalived", "psmisc", "nftables"):
        assert re.search(rf"^Inst {pkg} ", proc.stdout, re.M), pkg


# ------------------------------------------------------------ networks


def test_host_namespace_holds_no_lab_address_interface_or_route(lab):
    lay_addrs = {str(lab.site.lab.management_gateway), str(lab.site.vip)}
    lay_addrs |= {str(a) for a in lab.site.lab.client.addresses}
    for node in lab.site.nodes:
        lay_addrs |= {str(node.management_address), str(node.lan_address)}
    for service in lab.site.services:
        lay_addrs |= {str(b.address) for b in service.backends}
    if lab.site.network.lan.gateway:
        lay_addrs.add(str(lab.site.network.lan.gateway))
    host_addrs = set(re.findall(r"inet (\S+)/", subprocess.run(
        ["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout))
    # The machine's own uplink may use a documentation range too; what matters
    # is that none of the lab's addresses is here.
    assert not (host_addrs & (lay_addrs - {str(lab.site.lab.management_gateway)}))
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert "br-lan" not in links and "br-mgmt" not in links
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    assert str(lab.site.network.lan.subnet) not in routes


def test_no_lab_namespace_has_a_way_out(lab):
    namespaces = [ns for ns in netns_list() if ns.startswith(lab.site.lab.namespace)]
    assert len(namespaces) >= 1 + len(lab.site.nodes) + 1
    gateway = lab.site.network.lan.gateway
    for ns in namespaces:
        routes = subprocess.run(["ip", "-n", ns, "route", "show", "default"],
                                capture_output=True, text=True).stdout.strip()
        if ns == lab.site.lab.namespace:
            assert routes == "", f"{ns}: {routes}"
        else:
            # A deployed node may point at the documented gateway, which is the
            # lab namespace itself: a dead end, since that one has no way on.
            assert routes in ("", f"default via {gateway} dev {lab.site.network.lan.interface} onlink"), routes
    forward = subprocess.run(
        ["ip", "netns", "exec", lab.site.lab.namespace, "sysctl", "-n", "net.ipv4.ip_forward"],
        capture_output=True, text=True).stdout.strip()
    assert forward == "0"
    snooping = subprocess.run(
        ["ip", "-n", lab.site.lab.namespace, "-d", "link", "show", "br-lan"],
        capture_output=True, text=True).stdout
    assert "mcast_snooping 0" in snooping


def _processes(netns: str) -> list[dict]:
    """Every process in a network namespace: name, user, executable and command line."""
    found = []
    for pid in netns_pids(netns):
        proc = Path(f"/proc/{pid}")
        uid = int(next(line.split()[1] for line in (proc / "status").read_text().splitlines()
                       if line.startswith("Uid:")))
        found.append({"pid": pid, "comm": (proc / "comm").read_text().strip(), "user": pwd.getpwuid(uid).pw_name,
                      "exe": os.readlink(proc / "exe"),
                      "cmdline": (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()})
    return found


def test_backends_are_real_nginx_and_memcached(lab):
    status = {b["name"]: b for b in lab.refresh()["backends"]}
    for backend in layout(lab.site).backends:
        procs = _processes(backend.netns)
        masters = [p for p in procs if p["cmdline"].startswith("nginx: master process")]
        workers = [p for p in procs if p["cmdline"] == "nginx: worker process"]
        memcached = [p for p in procs if p["comm"] == "memcached"]
        assert len(masters) == 1 and masters[0]["exe"] == "/usr/sbin/nginx" and masters[0]["user"] == "root"
        assert workers and {p["user"] for p in workers} == {"www-data"}
        assert len(memcached) == 1 and memcached[0]["exe"] == "/usr/bin/memcached"
        assert memcached[0]["user"] == "memcache"  # it refuses to run as root
        assert len(procs) == 1 + len(workers) + 1, procs  # nothing else: no stand-in script
        # lab.status knows the same daemons, running, with those pids.
        daemons = {d["label"]: d for d in status[backend.name]["daemons"]}
        assert status[backend.name]["state"] == "running"
        assert daemons["nginx"]["pid"] == masters[0]["pid"] and daemons["nginx"]["ports"] == [80]
        assert daemons["memcached-11211"]["pid"] == memcached[0]["pid"]


def _curl_chain(lab, url: str) -> list[tuple[int, dict[str, str]]]:
    """(status, headers) of every response curl sees following redirects, as a browser would."""
    proc = lab_api.client_run(lab.site, ["curl", "-sS", "-m", "3", "-L", "-D", "-", "-o", "/dev/null", url])
    assert proc.returncode == 0, proc.stderr
    chain = []
    for block in proc.stdout.replace("\r\n", "\n").strip().split("\n\n"):
        first, *lines = block.strip().split("\n")
        headers = dict(line.split(": ", 1) for line in lines)
        chain.append((int(first.split()[1]), {k.lower(): v for k, v in headers.items()}))
    return chain


def test_web_backends_answer_like_horizon_from_the_client_namespace(lab):
    for service in lab.site.services:
        if service.mode != "http":
            continue
        for backend in service.backends:
            chain = _curl_chain(lab, f"http://{backend.address}:{backend.port}{service.health_check.path}")
            # An anonymous visitor is sent to the login page (302, as Django), which answers 200 with HTML.
            assert [status for status, _ in chain] == [302, 200]
            assert chain[0][1]["location"] == "/horizon/auth/login/?next=/horizon/"
            assert chain[1][1]["content-type"] == "text/html; charset=utf-8"
            assert {h["x-backend"] for _, h in chain} == {backend.name}
            assert chain[0][1]["server"].startswith("nginx/")
            # The health check as the site's data wrote it would pass; a strict 200 would not.
            assert service.health_check.accepts(chain[0][0]) and chain[0][0] != 200
            page = lab_api.client_run(lab.site, ["curl", "-sS", "-m", "3", "-L",
                                                 f"http://{backend.address}/horizon"]).stdout
            assert "<title>Iniciar sesión - OpenStack Dashboard</title>" in page


def test_web_backends_refuse_a_host_outside_their_allowed_hosts(lab):
    # As Horizon with ALLOWED_HOSTS: 400 without Host (a bare HTTP/1.0 check) or with another name,
    # the answer every check would get if the template did not send `hdr Host`.
    service = next(s for s in lab.site.services if s.mode == "http")
    backend = service.backends[0]
    url = f"http://{backend.address}:{backend.port}{service.health_check.path}"

    def status(*headers: str) -> str:
        proc = lab_api.client_run(lab.site, ["curl", "-sS", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}",
                                             *headers, url])
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert status("-0", "-H", "Host:") == "400"  # HTTP/1.0, no Host header at all
    assert status("-H", "Host: horizon.example.com") == "400"
    assert status("-H", f"Host: {lab.site.vip}") == "302"  # what the health check sends


def test_memcached_backends_say_who_they_are(lab):
    for service in lab.site.services:
        if service.mode != "tcp":
            continue
        for backend in service.backends:
            proc = lab_api.client_run(
                lab.site, ["nc", "-q", "1", "-w", "3", str(backend.address), str(backend.port)],
                input=f"version\r\nget {BACKEND_KEY}\r\nset k 0 0 2\r\nhi\r\nget k\r\nquit\r\n".encode(),
                text=False,
            )
            assert re.match(rb"VERSION 1\.6\.\d+\r\n", proc.stdout), proc.stdout  # Debian's, not a stand-in
            who = backend.name.encode()
            assert f"VALUE {BACKEND_KEY} 0 {len(who)}\r\n".encode() + who + b"\r\nEND\r\n" in proc.stdout
            assert b"STORED\r\n" in proc.stdout and b"VALUE k 0 2\r\nhi\r\nEND" in proc.stdout


def test_client_namespace_has_all_client_addresses(lab):
    out = lab_api.client_run(lab.site, ["ip", "-4", "-o", "addr"]).stdout
    for address in lab.site.lab.client.addresses:
        assert f"inet {address}/" in out


def test_set_link_cuts_and_restores_the_lan_cable(lab):
    name = node_names(lab)[0]
    try:
        lab_api.set_link(lab.site, name, False)
        assert {n["name"]: n["lan_link"] for n in lab.refresh()["nodes"]}[name] == "down"
    finally:
        lab_api.set_link(lab.site, name, True)
    assert {n["name"]: n["lan_link"] for n in lab.refresh()["nodes"]}[name] == "up"


# ------------------------------------------------------------- status, CLI


def invoke(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, **kw)


def test_status_json_reports_nodes_client_backends_and_paths(lab):
    proc = invoke("lab.status", "--json")
    assert proc.returncode == 0, proc.stderr
    st = json.loads(proc.stdout)
    assert st["running"]
    assert [n["name"] for n in st["nodes"]] == node_names(lab)
    for n, node in zip(st["nodes"], lab.site.nodes, strict=True):
        assert n["state"] == "running"
        assert n["management_address"] == str(node.management_address)
        assert n["lan_address"] == str(node.lan_address)
    assert st["client"]["name"] == lab.site.lab.client.name
    assert st["client"]["addresses"] == [str(a) for a in lab.site.lab.client.addresses]
    assert {b["address"] for b in st["backends"]} == {
        str(b.address) for s in lab.site.services for b in s.backends}
    assert st["paths"]["ssh_config"] == lab.site.ssh.config
    for key in ("known_hosts", "key"):
        assert Path(st["paths"][key]).exists()


def test_cli_ssh_and_client(lab):
    name = node_names(lab)[0]
    proc = invoke("lab.ssh", name, "--", "echo 'a  b'; hostname")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["a  b", name]
    backend = lab.site.services[0].backends[0]
    proc = invoke("lab.client", "--", "curl", "-sS", "-m", "3", "-D", "-", "-o", "/dev/null",
                  f"http://{backend.address}/horizon")
    assert proc.returncode == 0 and f"X-Backend: {backend.name}\n" in proc.stdout
    proc = invoke("lab.ssh", "no-such-node", "--", "true")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_cli_ssh_passes_the_command_line_as_ssh_does(lab):
    """The words after -- reach the node's shell as one line, joined with spaces, like `ssh hera '…'`."""
    name = node_names(lab)[0]
    # A pipe in one quoted word, through the wrapper exactly as a reader pastes it from the site.
    proc = subprocess.run([str(REPO / "rb"), "lab.ssh", name, "--", "ip -o link show | grep -c eth1 | tr 1 X"],
                          cwd=REPO, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert (proc.returncode, proc.stdout) == (0, "X\n"), proc.stderr
    # Several words are joined with spaces: the node's shell sees `echo 'a  b' | wc -c`.
    proc = invoke("lab.ssh", name, "--", "echo", "'a  b'", "|", "wc", "-c")
    assert (proc.returncode, proc.stdout.strip()) == (0, "5"), proc.stderr
    # The node's exit code comes back as it is, with nothing added.
    proc = invoke("lab.ssh", name, "--", "echo out; echo err >&2; exit 3")
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "err\n")
    # stdin goes to the node, as with ssh.
    proc = invoke("lab.ssh", name, "--", "tr a-z A-Z", input="hola\n")
    assert (proc.returncode, proc.stdout) == (0, "HOLA\n"), proc.stderr


def test_cli_ssh_failure_of_ssh_itself_is_one_spanish_line(lab, tmp_path):
    # ssh exits 255 when it cannot connect; a stand-in ssh says so without any network.
    (tmp_path / "ssh").write_text("#!/bin/sh\necho 'ssh: connect to host hera port 22: Connection refused' >&2\nexit 255\n")
    (tmp_path / "ssh").chmod(0o755)
    name = node_names(lab)[0]
    proc = invoke("lab.ssh", name, "--", "true", env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"})
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == f"error: no se pudo conectar con {name} por SSH (ssh terminó con código 255)"


def test_stats_secret_is_generated_private_and_never_printed(lab):
    path = Path(lab.site.secrets["stats_password"].file)
    secret = path.read_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9]{20}", secret)
    assert path.stat().st_mode & 0o777 == 0o600
    proc = invoke("lab.up")
    assert proc.returncode == 0
    assert secret not in proc.stdout + proc.stderr
    assert secret not in json.dumps(lab.refresh())


def test_missing_prerequisite_is_a_clear_error_without_traceback():
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    proc = invoke("lab.up", env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert ("falta" in proc.stderr) or ("root" in proc.stderr)


# ---------------------------------------------------- lifecycle (last)


def _netns_inodes(lab) -> set[int]:
    """The identities of the lab's network namespaces, to find processes that outlive their name."""
    return {os.stat(f"/run/netns/{ns}").st_ino for ns in netns_list() if _ours(lab, ns)}


def _ours(lab, ns: str) -> bool:
    """Exactly this lab's namespaces: another lab site (e.g. rb-lab3) may run beside it."""
    prefix = lab.site.lab.namespace
    return ns == prefix or ns.startswith(f"{prefix}-")


def _leftovers(lab, inodes: set[int] = frozenset()) -> list[str]:
    ns_prefix = lab.site.lab.namespace
    state_dir = lab.paths["state_dir"]
    inside = f"{state_dir}/"  # not /var/lib/runbook/lab3/..., another lab site's, up beside this one
    found = [f"netns {ns}" for ns in netns_list() if _ours(lab, ns)]
    mounts = Path("/proc/self/mountinfo").read_text()
    found += [f"mount {line.split()[4]}" for line in mounts.splitlines()
              if line.split()[4].startswith(inside)]
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or not alive(int(pid)):
            continue
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            netns = os.stat(f"/proc/{pid}/ns/net").st_ino
        except OSError:
            continue
        # nginx's workers and memcached name no lab path: their namespace gives them away.
        if ("nspawn" in argv and inside in argv) or netns in inodes:
            found.append(f"process {pid}: {argv.replace(chr(0), ' ')[:80]}")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    found += [f"link {w}" for w in ("br-lan", "br-mgmt") if w in links]
    for root in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup"):
        if Path(root, ns_prefix).exists():
            found.append(f"cgroup {root}/{ns_prefix}")
    if (state_dir / "run").exists():
        found.append(f"directory {state_dir / 'run'}")
    return found


def test_a_dead_backend_daemon_is_reported_and_up_recreates_the_lab(lab):
    zeus = next(b for b in layout(lab.site).backends if b.name == "zeus")
    pids = {b["name"]: {d["label"]: d["pid"] for d in b["daemons"]} for b in lab.refresh()["backends"]}
    os.kill(pids["zeus"]["memcached-11211"], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while alive(pids["zeus"]["memcached-11211"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    st = lab.refresh()
    backend = next(b for b in st["backends"] if b["name"] == "zeus")
    assert not st["running"] and backend["state"] == "stopped"
    assert {d["label"]: d["state"] for d in backend["daemons"]} == {"nginx": "running", "memcached-11211": "stopped"}
    # Readiness asks the daemons themselves, from the LAN: it names the one that does not answer.
    with pytest.raises(lab_api.LabError, match=r"el backend zeus no responde \(memcached-11211 no está en marcha\)"):
        backends.wait_ready(layout(lab.site), pids, timeout=0.5)
    lab.status = lab_api.up(lab.site)
    assert lab.status["running"] and not lab.status["already_running"]
    proc = lab_api.client_run(lab.site, ["nc", "-q", "1", "-w", "3", str(zeus.address.ip), "11211"],
                              input=f"get {BACKEND_KEY}\r\nquit\r\n".encode(), text=False)
    assert f"VALUE {BACKEND_KEY} 0 4\r\nzeus\r\n".encode() in proc.stdout


def test_up_is_idempotent(lab):
    before = {n["name"]: n["pid"] for n in lab.refresh()["nodes"]}
    again = lab_api.up(lab.site)
    assert again["already_running"] is True
    assert {n["name"]: n["pid"] for n in again["nodes"]} == before


def test_down_leaves_nothing_and_nodes_come_back_fresh(lab):
    name = node_names(lab)[0]
    assert lab_api.node_run(lab.site, name, ["touch", "/root/used-before"]).returncode == 0
    inodes = _netns_inodes(lab)
    daemons = {p["pid"] for b in layout(lab.site).backends for p in _processes(b.netns)}
    assert len(daemons) >= 2 * len(layout(lab.site).backends)  # nginx master + worker, memcached...
    lab_api.down(lab.site)
    assert _leftovers(lab, inodes) == []
    assert not [pid for pid in daemons if alive(pid)]
    lab.status = lab_api.up(lab.site)
    proc = lab_api.node_run(lab.site, name, ["test", "-e", "/root/used-before"])
    assert proc.returncode == 1, "the node kept state from the previous lab"


def _master_pid(control: Path) -> int | None:
    proc = subprocess.run(["ssh", "-F", "/dev/null", "-o", f"ControlPath={control}", "-O", "check", "x"],
                          capture_output=True, text=True, timeout=10)
    found = re.search(r"pid=(\d+)", proc.stderr)
    return int(found.group(1)) if proc.returncode == 0 and found else None


def test_ssh_masters_end_with_the_lab_and_a_reborn_node_is_checked_against_its_new_key(lab, tmp_path):
    node = lab.site.nodes[0]
    conn = sshmux.connect(lab.site, node)
    assert conn.run("hostname", timeout=30).stdout.strip() == node.name
    pid = _master_pid(conn.control)
    assert pid is not None and alive(pid)
    old_keys = lab.paths["known_hosts"].read_text()
    lab_api.down(lab.site)
    assert not conn.control.exists() and not alive(pid)  # no master outlives its node
    lab.status = lab_api.up(lab.site)
    assert lab.paths["known_hosts"].read_text() != old_keys  # the reborn nodes have new host keys
    reborn = sshmux.connect(lab.site, node)
    assert reborn.made_master and reborn.control != conn.control
    assert reborn.run("hostname", timeout=30).stdout.strip() == node.name
    facts = gather_node(lab.site, node.name, [Ipv4Addresses()])  # verify's own round trip
    assert facts.unreachable is None and facts.probes
    # The new key is what is checked: with the old one the node is refused, master or not.
    with pytest.raises(NodeUnreachableError, match="NO coincide con known_hosts"):
        sshmux.connect(_strict_copy(lab, tmp_path, old_keys), node)


def test_up_recovers_after_a_killed_half_up(lab):
    lab_api.down(lab.site)
    code = "from runbook.data.load import load_site; from runbook import lab; lab.up(load_site('lab'))"
    victim = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
    state_file = lab.paths["state_dir"] / "state.json"
    deadline = time.monotonic() + 30
    # Kill it once nodes are booting: namespaces, mounts and nspawn exist.
    while time.monotonic() < deadline:
        try:
            if json.loads(state_file.read_text()).get("nodes"):
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert _leftovers(lab), "the kill came too late to leave anything behind"
    lab.status = lab_api.up(lab.site)
    assert lab.status["running"] and not lab.status["already_running"]
    for name in node_names(lab):
        assert ssh(lab, name, "hostname").stdout.strip() == name
