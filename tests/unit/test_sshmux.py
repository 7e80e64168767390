"""The OpenSSH transport (runbook/remote/sshmux.py) without a lab: what it asks ssh to do, and how it reads ssh.

A stand-in `ssh` on PATH records its arguments and standard input, then
runs the remote part with the local bash (as sshd would run it on the
node), so these tests see exactly what would travel and what a caller gets
back. The real connections, host keys and masters are proven by the lab
tests (tests/lab/test_lab.py, test_deploy_lab.py, test_verify_lab.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from invoke.exceptions import CommandTimedOut
from support.fake_ssh import real_site

from runbook.data.load import load_site
from runbook.data.model import Ssh
from runbook.facts.net import Ipv4Addresses
from runbook.remote import reach, sshmux
from runbook.remote.target import NodeUnreachableError, target
from runbook.verify.gather import gather_node

# What OpenSSH 9.2 (Debian 12) prints, exit status 255, copied from real runs on the lab.
CHANGED_KEY = """\
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Offending ED25519 key in /tmp/kh:4
Host key for 192.0.2.10 has changed and you have requested strict checking.
Host key verification failed.
"""
UNKNOWN_KEY = ("No ED25519 host key is known for 192.0.2.10 and you have requested strict checking.\n"
               "Host key verification failed.\n")
AUTH = "root@192.0.2.10: Permission denied (publickey,password).\n"
CLOSED = "kex_exchange_identification: Connection closed by remote host\n"
REFUSED = "ssh: connect to host 192.0.2.10 port 22: Connection refused\n"


def test_the_command_travels_on_stdin_never_on_a_command_line(fake_ssh, tmp_path):
    site = real_site(tmp_path)
    conn = sshmux.for_node(site, site.nodes[0])
    secret_looking = "echo 'no en ps' ; printf '%s' \"$((6 * 7))\" ; echo oops >&2 ; exit 3"
    result = conn.run(secret_looking, timeout=10)
    assert (result.stdout, result.stderr, result.exited) == ("no en ps\n42", "oops\n", 3)
    (call,) = fake_ssh()
    assert call["stdin"] == secret_looking
    assert not any("no en ps" in arg for arg in call["argv"])
    argv = call["argv"]
    # Our policy on the command line (wins over any ssh_config), the site's user, port and config.
    for option in ("BatchMode=yes", "StrictHostKeyChecking=yes", "UpdateHostKeys=no", "ControlMaster=no",
                   f"ControlPath={conn.control}"):
        assert option in argv
    assert argv[argv.index("-l") + 1] == "admin" and argv[argv.index("-p") + 1] == "2222"
    assert argv[argv.index("-F") + 1] == site.ssh.config
    assert argv[-2:] == [str(site.nodes[0].management_address), sshmux.REMOTE]


def test_the_remote_command_finds_stdin_at_its_end(fake_ssh, tmp_path):
    # As with in_stream=False: a command that reads stdin gets nothing, not the script's rest.
    site = real_site(tmp_path)
    result = sshmux.for_node(site, site.nodes[0]).run("cat; echo fin", timeout=10)
    assert result.stdout == "fin\n" and result.exited == 0


def test_a_command_that_outlives_its_timeout_is_invokes_timeout(fake_ssh, tmp_path):
    site = real_site(tmp_path)
    with pytest.raises(CommandTimedOut):
        sshmux.for_node(site, site.nodes[0]).run("sleep 5", timeout=0.5)


def test_a_failing_command_is_a_result_unless_warn_is_off(fake_ssh, tmp_path):
    from invoke.exceptions import UnexpectedExit

    conn = sshmux.for_node(*(lambda s: (s, s.nodes[0]))(real_site(tmp_path)))
    assert conn.run("exit 1", timeout=10).exited == 1
    with pytest.raises(UnexpectedExit):
        conn.run("exit 1", warn=False, timeout=10)


def test_ssh_refusing_the_host_key_when_making_the_master_is_the_spanish_message(fake_ssh, tmp_path,
                                                                                   monkeypatch):
    site = real_site(tmp_path)
    (tmp_path / "stderr").write_text(CHANGED_KEY)
    monkeypatch.setenv("FAKE_SSH_MODE", "changed-key")
    monkeypatch.setenv("FAKE_SSH_STDERR", str(tmp_path / "stderr"))
    with pytest.raises(NodeUnreachableError, match=r"^hera: la clave de host de \S+ NO coincide con known_hosts"):
        sshmux.connect(site, site.node("hera"))
    (call,) = fake_ssh()
    assert "-M" in call["argv"] and f"ControlPersist={sshmux.PERSIST_S}" in call["argv"]


def test_a_master_is_made_once_in_a_private_folder(fake_ssh, tmp_path):
    site = real_site(tmp_path)
    conn = sshmux.connect(site, site.node("hera"))
    assert conn.made_master
    for folder in (conn.control.parent, conn.control.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # Another process made the master: it is found, runs a command, and is reused; no second master.
    with found_master(conn.control):
        again = sshmux.connect(site, site.node("hera"))
        assert not again.made_master
        made, tried = fake_ssh()
        assert "-M" in made["argv"] and "-M" not in tried["argv"]
        assert "ControlMaster=no" in tried["argv"] and tried["stdin"] == "true"


@contextlib.contextmanager
def found_master(control: Path):
    """A socket that answers where a master would listen, as one made by another process."""
    control.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    control.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(control))
    listener.listen()
    try:
        yield
    finally:
        listener.close()


def gone(pid: int, within: float = 10.0) -> bool:
    """The process has ended (a zombie not yet reaped by its new parent has ended too).

    A SIGKILL sent to a process group reaches each process when the kernel
    schedules it: on a busy machine one may still be listed for a moment.
    """
    deadline = time.monotonic() + within
    while True:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if "\nState:\tZ" in status:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def kinds(calls: list[dict]) -> list[str]:
    """What each logged ssh was asked: a command (over a master or not), a master, or a master's socket."""
    return ["master" if "-M" in c["argv"] else c["argv"][-2] if "-O" in c["argv"] else "command" for c in calls]


# The bounds below are tiny, and the stand-in ssh is a Python program that may
# be killed before it has even logged itself on a busy machine: so what is
# asserted holds whatever the timing (what was logged is in order, and every
# process logged is gone); that the call returned at all is the bound at work.


def test_a_master_that_never_comes_up_is_given_up_at_the_projects_bound(fake_ssh, tmp_path, monkeypatch):
    # A ProxyCommand that never answers: ssh's ConnectTimeout would not end it.
    monkeypatch.setattr(reach, "REACH_S", 0.5)
    monkeypatch.setenv("FAKE_SSH_HANG", "master")
    site = real_site(tmp_path)
    with pytest.raises(NodeUnreachableError) as caught:
        sshmux.connect(site, site.node("hera"))
    address = site.node("hera").management_address
    assert str(caught.value) == (
        f"hera: no se puede conectar con {address}:2222 (sin respuesta en 0.5 s, el límite para alcanzar un nodo)")
    calls = fake_ssh()
    assert kinds(calls) in ([], ["master"])
    assert all(gone(pid) for c in calls for pid in c["pids"])  # ssh and its "ProxyCommand": nothing left


def test_a_found_master_that_runs_nothing_is_retired_and_a_new_one_made(fake_ssh, tmp_path, monkeypatch):
    # Right after a deploy its master is still on its socket, but the node's cable was cut since.
    monkeypatch.setattr(sshmux, "FOUND_MASTER_S", 0.3)
    monkeypatch.setattr(sshmux, "STOP_S", reach.REACH_S)
    monkeypatch.setenv("FAKE_SSH_HANG", "command")
    site = real_site(tmp_path)
    conn = sshmux.for_node(site, site.node("hera"))
    with found_master(conn.control):
        assert conn.open() is conn
    assert conn.made_master
    calls = fake_ssh()
    # Retired, not told to exit: it takes no new session and finishes those it carries (maybe another's).
    assert kinds(calls) in (["command", "stop", "master"], ["stop", "master"])
    tried = [c for c in calls if "-M" not in c["argv"] and "-O" not in c["argv"]]
    assert all("ControlMaster=no" in c["argv"] and c["stdin"] == "true" for c in tried)
    assert all(gone(pid) for c in tried for pid in c["pids"])


def test_a_dead_master_and_a_silent_node_together_stay_within_the_bound(fake_ssh, tmp_path, monkeypatch):
    monkeypatch.setattr(reach, "REACH_S", 0.6)
    monkeypatch.setattr(sshmux, "FOUND_MASTER_S", 0.3)
    monkeypatch.setenv("FAKE_SSH_HANG", "command,master")
    site = real_site(tmp_path)
    conn = sshmux.for_node(site, site.node("hera"))
    with found_master(conn.control), pytest.raises(NodeUnreachableError, match=r"sin respuesta en 0\.6 s, el límite"):
        conn.open()
    calls = fake_ssh()
    logged = kinds(calls)
    assert logged == [k for k in ("command", "stop", "master") if k in logged]  # in this order, at most once
    assert all(gone(pid) for c in calls for pid in c.get("pids", []))


def test_waiting_for_another_maker_of_the_same_master_is_bounded_too(fake_ssh, tmp_path, monkeypatch):
    monkeypatch.setattr(reach, "REACH_S", 0.3)
    site = real_site(tmp_path)
    conn = sshmux.for_node(site, site.node("hera"))
    conn.control.parent.mkdir(mode=0o700, parents=True)
    with open(conn.control.with_name(conn.control.name + ".lock"), "w") as other:
        fcntl.flock(other, fcntl.LOCK_EX)  # another process is making this master and never ends
        with pytest.raises(NodeUnreachableError, match=r"sin respuesta en 0\.3 s, el límite"):
            conn.open()
    assert fake_ssh() == []


def test_verify_reports_a_silent_node_unreachable_naming_the_bound(fake_ssh, tmp_path, monkeypatch):
    monkeypatch.setattr(reach, "REACH_S", 0.5)
    monkeypatch.setenv("FAKE_SSH_HANG", "master")
    site = real_site(tmp_path)
    hera = site.node("hera")
    facts = gather_node(site, "hera", [Ipv4Addresses()])
    assert facts.unreachable == (f"hera: no se puede conectar con {hera.management_address}:2222 "
                                 "(sin respuesta en 0.5 s, el límite para alcanzar un nodo)")


def test_a_shared_folder_is_made_private(fake_ssh, tmp_path, masters):
    masters.mkdir(mode=0o755)
    masters.chmod(0o755)
    site = real_site(tmp_path)
    sshmux.connect(site, site.node("hera"))
    assert stat.S_IMODE(masters.stat().st_mode) == 0o700


@pytest.mark.parametrize(("stderr", "expected"), [
    (CHANGED_KEY, "hera: la clave de host de 192.0.2.10 NO coincide con known_hosts (posible suplantación)"),
    (UNKNOWN_KEY, "hera: 192.0.2.10 no está en known_hosts; no se acepta una clave desconocida"),
    (AUTH, "hera: autenticación rechazada como root@192.0.2.10"),
    (REFUSED, "hera: no se puede conectar con 192.0.2.10:22 (Connection refused)"),
    (CLOSED, "hera: no se puede conectar con 192.0.2.10:22 "
             "(kex_exchange_identification: Connection closed by remote host)"),
    ("ssh: something new\n", "hera: SSH falló con 192.0.2.10: ssh: something new"),
])
def test_ssh_failures_read_as_the_same_messages_as_paramikos(stderr, expected):
    site = load_site("lab")
    assert str(sshmux.failure(target(site, site.node("hera")), stderr)) == expected


def test_ssh_failing_during_a_command_is_a_lost_session_not_a_result(fake_ssh, tmp_path):
    site = real_site(tmp_path)
    conn = sshmux.for_node(site, site.nodes[0])
    conn.made_master = True  # a fresh master: nothing stale to retry
    command = f"printf '%s' {json.dumps(AUTH)} >&2; exit 255"
    with pytest.raises(sshmux.SessionLostError, match="autenticación rechazada"):
        conn.run(command, timeout=10)
    # A remote command's own exit 255 (no ssh message) is its result.
    assert conn.run("echo mine >&2; exit 255", timeout=10).exited == 255


# ------------------------------------------------------------------ masters


def test_without_root_masters_live_in_the_users_runtime_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("RUNBOOK_SSH_DIR", raising=False)
    monkeypatch.setattr(sshmux.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert sshmux.runtime_dir() == tmp_path / "runbook-ssh"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert sshmux.runtime_dir() == Path(tempfile.gettempdir()) / "runbook-ssh-1000"
    monkeypatch.setattr(sshmux.os, "geteuid", lambda: 0)
    assert sshmux.runtime_dir() == Path("/run/runbook/ssh")


def test_a_rewritten_known_hosts_or_ssh_config_means_a_new_master(tmp_path, monkeypatch):
    # lab.up writes both again (new host keys): an old master is never reused for the reborn node.
    monkeypatch.delenv("RUNBOOK_SSH_DIR", raising=False)  # the real folder's name; nothing is created
    known = tmp_path / "known_hosts"
    known.write_text("hera ssh-ed25519 AAAAold\n")
    config = tmp_path / "ssh_config"
    config.write_text(f"Host *\n    UserKnownHostsFile {known}\n")
    site = load_site("lab").model_copy(update={"ssh": Ssh(config=str(config))})
    t = target(site, site.node("hera"))
    first = sshmux.control_path(t)
    assert sshmux.control_path(t) == first  # nothing changed: the same master
    replacement = tmp_path / "known_hosts.tmp"
    replacement.write_text("hera ssh-ed25519 AAAAnew\n")
    os.replace(replacement, known)  # as lab/ssh.py writes it
    second = sshmux.control_path(t)
    assert second != first
    config.write_text(config.read_text() + "    ConnectTimeout 5\n")
    assert sshmux.control_path(t) not in (first, second)
    other = target(site, site.node("afrodita"))
    assert sshmux.control_path(other) != sshmux.control_path(t)
    assert len(str(sshmux.control_path(t))) < 90  # room for ssh's temporary suffix (108-byte limit)


def test_close_masters_asks_each_master_of_that_config_to_exit(tmp_path, monkeypatch, masters):
    config = tmp_path / "ssh_config"
    folder = sshmux.config_dir(config)
    folder.mkdir(parents=True)
    sockets = []
    for name in ("a", "b"):
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(folder / name))
        sockets.append(s)
    asked = []
    real_run = subprocess.run
    monkeypatch.setattr(sshmux.subprocess, "run",
                        lambda argv, **kw: asked.append(argv) or real_run(["true"], **kw))
    assert sshmux.close_masters(config) == 2
    assert [a[a.index("-O"):] for a in asked] == [["-O", "exit", "runbook-mux"]] * 2
    assert all("-F" in a and a[a.index("-F") + 1] == "/dev/null" for a in asked)  # no config, no host
    assert list(folder.iterdir()) == []
    assert sshmux.close_masters(tmp_path / "other_config") == 0
    for s in sockets:
        s.close()


# -------------------------------------------------------------------- the lab


def test_a_lab_node_without_the_labs_proxycommand_is_never_dialled(tmp_path, monkeypatch, masters):
    seen = []
    real_popen = subprocess.Popen

    def only_ssh_g(argv, **kw):  # every way of starting a process ends here
        seen.append(argv)
        assert "-G" in argv, f"ssh was asked to connect: {argv}"
        return real_popen(argv, **kw)  # `ssh -G` prints the configuration, connects to nothing

    monkeypatch.setattr(subprocess, "Popen", only_ssh_g)
    site = load_site("lab")
    for text in ("Host *\n    User root\n",  # no ProxyCommand: the host would route 192.0.2.x out
                 "Host *\n    ProxyCommand ip netns exec rb-otro nc %h %p\n",  # not this lab's namespace
                 "Host *\n    ProxyCommand ssh -W %h:%p bastion\n"):
        config = tmp_path / "ssh_config"
        config.write_text(text)
        lab_site = site.model_copy(update={"ssh": Ssh(config=str(config))})
        with pytest.raises(NodeUnreachableError, match="no tiene ProxyCommand"):
            sshmux.connect(lab_site, lab_site.node("hera"))
    assert len(seen) == 3


def test_a_missing_ssh_config_is_refused_before_anything_runs(tmp_path, monkeypatch, masters):
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("ssh ran"))
    site = load_site("lab")
    site = site.model_copy(update={"ssh": Ssh(config=str(tmp_path / "no-such-config"))})
    with pytest.raises(NodeUnreachableError, match="no existe el ssh_config"):
        sshmux.connect(site, site.node("hera"))


def test_verify_and_deploy_never_load_paramiko():
    # Fabric/paramiko is for deploy's file uploads only (loaded on the first one).
    code = ("import sys, runbook.verify.gather, runbook.deploy, runbook.deploy.runner;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('paramiko', 'fabric')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "[]"


@pytest.mark.root(reason="dar la carpeta a otro usuario necesita root")
def test_a_socket_folder_owned_by_someone_else_is_refused(fake_ssh, tmp_path, masters):
    masters.mkdir(mode=0o700)
    os.chown(masters, 65534, 65534)  # nobody's: their sockets could be ours, or ours theirs
    site = real_site(tmp_path)
    with pytest.raises(NodeUnreachableError, match="no se puede usar la carpeta de sockets SSH"):
        sshmux.connect(site, site.node("hera"))
    assert fake_ssh() == []
