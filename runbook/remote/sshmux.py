"""Commands on a node through the OpenSSH client with connection multiplexing, as Ansible does.

Why: verify and a no-op deploy are a handful of round trips; paramiko
costs its import (~0.25 s), a handshake per command and ~50 ms per exec,
where a session over an established ControlMaster costs ~40 ms and the
master (~0.3 s) is paid once and kept for PERSIST_S seconds
(ControlPersist) for the next command.

`connect(site, node)` gives a `MuxConnection`: `.run()` has invoke's
surface (a Result with stdout, stderr, exited; CommandTimedOut on timeout)
and sends the command on ssh's stdin to `bash -c 'eval "$(cat)"'`, so it
never appears on a command line (`ps`) on either side and finds stdin at
end-of-file, as with `in_stream=False`. `.put()` uploads over SFTP through
a Fabric connection (transport.py) opened on its first use only: deploy's
apply phase keeps Fabric for files, and a deploy that changes nothing
never loads paramiko.

Same rules as the Fabric transport:
- host keys: `StrictHostKeyChecking=yes` on the command line (it wins over
  any config), known hosts from the site's ssh_config (UserKnownHostsFile)
  or ssh's defaults (~/.ssh/known_hosts), `UpdateHostKeys=no` (we never
  write the user's known_hosts), `BatchMode=yes` (no prompt, ever);
- the site's user, port, identity and ssh_config (`-F`) are used;
- a lab node is dialled only through the lab's own ProxyCommand
  (`ip netns exec <ns> nc %h %p`, checked with `ssh -G` before the master
  is made): its socket lives in the lab's namespace, which has no route
  out; without it nothing is opened (NodeUnreachableError);
- ssh's failures (exit 255) become the same Spanish NodeUnreachableError
  messages as paramiko's (target.py).

Reaching a node is bounded by the project, not by ssh: `open()` gives
every step one deadline (reach.py, REACH_S), and a master found running
must run a command within FOUND_MASTER_S before it is trusted (a master
whose node went silent still answers on its socket, and a command sent
through it would wait for its ServerAlive probes to give up); one that
does not is retired (`ssh -O stop`) and a new master is made in the time
left. So a command never needs a second try on a new master.

Masters live in a private runtime folder (mode 0700: root's
/run/runbook/ssh, else $XDG_RUNTIME_DIR/runbook-ssh, else a per-user
folder in /tmp), one subfolder per ssh_config. A master's socket is named
by a hash of everything that decides who answers: host, port, user,
identity and the identity (inode, mtime, size) of the ssh_config and
known_hosts files. `lab.up` rewrites both, so a node born again (new host
key) is never reached through an old master: a new master checks its new
key. `lab.down` closes the lab's masters (`close_masters`), so none keeps
a process in a namespace that is gone.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import re
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RunbookError
from . import reach
from .target import (
    CONNECT_TIMEOUT,
    LAB_PROXY,
    NodeUnreachableError,
    SshTarget,
    auth_refused,
    cannot_connect,
    changed_host_key,
    no_lab_proxy,
    out_of_time,
    require_config,
    ssh_failed,
    target,
    unknown_host_key,
)

if TYPE_CHECKING:
    from ..data.records import Node, Site

PERSIST_S = 60  # an idle master closes itself after this long
ALIVE_INTERVAL_S, ALIVE_COUNT = 2, 3  # a silent node: its master ends after ~6 s (ConnectTimeout is 5)
# A master found running must run `true` within this (a live one takes ~0.05 s);
# a new master then has the rest of reach.REACH_S, more than ssh's ConnectTimeout.
FOUND_MASTER_S = 3.0
STOP_S = 2.0  # `ssh -O stop` talks to a local socket only
# The remote side reads the whole command from stdin, then runs it with stdin at end-of-file.
REMOTE = "bash -c 'eval \"$(cat)\"'"
# ssh sends LANG/LC_* when a config says SendEnv (Debian's does): commands run
# with the node's own locale, as over Fabric.
LOCALE_VARS = re.compile(r"^(LANG|LANGUAGE|LC_.*)$")

# Lines only ssh itself prints (a remote command that exits 255 without one is its own result).
SSH_OWN_MESSAGE = re.compile(
    r"^(ssh: |kex_exchange_identification|Connection (closed|reset) by|Connection to \S+ closed|"
    r"Host key verification failed|\S+: Permission denied \(|mux_client|Control socket|"
    r"@@@@|client_loop: |Received disconnect|Timeout, server \S+ not responding)",
    re.M,
)


def runtime_dir() -> Path:
    """The private folder for master sockets (created 0700; refused if someone else owns it)."""
    if "RUNBOOK_SSH_DIR" in os.environ:
        base = Path(os.environ["RUNBOOK_SSH_DIR"])
    elif os.geteuid() == 0:
        base = Path("/run/runbook/ssh")
    elif os.environ.get("XDG_RUNTIME_DIR") and Path(os.environ["XDG_RUNTIME_DIR"]).is_dir():
        base = Path(os.environ["XDG_RUNTIME_DIR"]) / "runbook-ssh"
    else:
        import tempfile  # rare: neither root nor XDG_RUNTIME_DIR

        base = Path(tempfile.gettempdir()) / f"runbook-ssh-{os.geteuid()}"
    return base


def _private(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise PermissionError(f"{path} no es una carpeta propia")
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def config_dir(config: Path | None) -> Path:
    """The folder of the masters made with this ssh_config (None: the user's own)."""
    name = str(config.resolve()) if config is not None else "~"
    return runtime_dir() / hashlib.sha256(name.encode()).hexdigest()[:12]


def _file_id(path: Path) -> str:
    try:
        info = path.stat()
    except OSError:
        return f"{path}:-"
    return f"{path}:{info.st_ino}:{info.st_mtime_ns}:{info.st_size}"


def _known_hosts_files(config: Path | None) -> list[Path]:
    """The known_hosts files a config names (cheap read; ssh itself decides what it trusts)."""
    names: list[str] = []
    if config is not None:
        try:
            text = config.read_text()
        except OSError:
            text = ""
        for match in re.finditer(r"^\s*UserKnownHostsFile\s+(.+)$", text, re.M | re.I):
            names += match.group(1).split()
    return [Path(os.path.expanduser(n)) for n in (names or ["~/.ssh/known_hosts"])]


def control_path(t: SshTarget) -> Path:
    """Where this target's master listens: one socket per (who answers, how we know them)."""
    config = t.config if t.config is not None else Path(os.path.expanduser("~/.ssh/config"))
    parts = [t.host, str(t.port), t.user, str(t.identity), _file_id(config)]
    parts += [_file_id(p) for p in _known_hosts_files(t.config)]
    if t.identity is not None:
        parts.append(_file_id(t.identity))
    key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]
    return config_dir(t.config) / key


def ssh_options(t: SshTarget, control: Path) -> list[str]:
    """ssh's arguments up to (not including) the host: our policy first, so it wins over any config."""
    argv = ["ssh"]
    if t.config is not None:
        argv += ["-F", str(t.config)]
    argv += [
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "UpdateHostKeys=no",
        "-o", f"ConnectTimeout={CONNECT_TIMEOUT}",
        "-o", "LogLevel=ERROR",
        "-o", f"ControlPath={control}",
        "-l", t.user,
        "-p", str(t.port),
    ]
    if t.identity is not None:
        argv += ["-i", str(t.identity)]
    return argv


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not LOCALE_VARS.match(k)}


def failure(t: SshTarget, stderr: str) -> NodeUnreachableError:
    """ssh's own complaint (exit 255) as the Spanish message the Fabric path gives."""
    text = stderr.replace("\r", "")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not set(line.strip()) <= {"@"}]
    if re.search(r"REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed", text):
        return changed_host_key(t)
    if re.search(r"Host key verification failed|No \S+ host key is known", text):
        return unknown_host_key(t)
    if "Permission denied" in text or "Too many authentication failures" in text:
        return auth_refused(t)
    for needle in ("Connection refused", "timed out", "No route to host", "Network is unreachable",
                   "Could not resolve hostname", "Cannot open network namespace"):
        if needle in text:
            return cannot_connect(t, "Connection timed out" if needle == "timed out" else needle)
    if re.search(r"kex_exchange_identification|Connection closed by|Connection reset", text):
        return cannot_connect(t, lines[-1] if lines else "la conexión se cerró")
    return ssh_failed(t, lines[-1] if lines else "sin mensaje de ssh (código 255)")


class SessionLostError(RunbookError, OSError):
    """ssh itself failed while running a command (Spanish message).

    An OSError too, like a broken paramiko socket: deploy's Shell reports it
    as a lost connection, verify as a session that failed on that node.
    """


class MuxConnection:
    """One node's door over OpenSSH: `run` (master-multiplexed) and `put` (Fabric, opened on first use)."""

    def __init__(self, target: SshTarget, lab_namespace: str | None,
                 uploads: Callable[[], object] | None = None) -> None:
        """`lab_namespace`: the lab's namespace when the node is a lab node (its ProxyCommand must
        go there), None for a real node; `uploads` opens the Fabric connection `put` uses."""
        self.target = target
        self.lab_namespace = lab_namespace
        self.control = control_path(self.target)
        self._uploads = uploads
        self._fabric = None
        self.made_master = False  # True: this object made the master (else it was found running)

    # ------------------------------------------------------------ master

    def master_alive(self) -> bool:
        """A master answers on the socket (a dead one's socket file is removed)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(self.control))
            return True
        except FileNotFoundError:
            return False
        except OSError:
            self.control.unlink(missing_ok=True)  # left by a master that died
            return False
        finally:
            sock.close()

    def open(self) -> MuxConnection:
        """Make sure a master that works is up, within reach.REACH_S whatever happens.

        Raises NodeUnreachableError, in Spanish (naming the bound when it ran out).
        """
        t = self.target
        deadline = reach.Deadline(reach.REACH_S)
        require_config(t)
        try:
            _private(self.control.parent.parent)
            _private(self.control.parent)
        except OSError as exc:
            why = getattr(exc, "strerror", None) or exc
            raise NodeUnreachableError(
                t.node, f"no se puede usar la carpeta de sockets SSH {self.control.parent} ({why})") from None
        if self._usable_master(deadline):
            return self
        # One maker per socket: two commands at once must not both start a
        # master (the second would run on as a plain background connection).
        with open(self.control.with_name(self.control.name + ".lock"), "w") as lock:
            self._lock(lock, deadline)
            if not self._usable_master(deadline):
                self._make_master(deadline)
        return self

    def _usable_master(self, deadline: reach.Deadline) -> bool:
        """A master found running that runs a command now; one that does not is retired."""
        if not self.master_alive():
            return False
        try:
            done = deadline.run(self._session_argv(), at_most=FOUND_MASTER_S, input=b"true",
                                env=_environment())
            if done.returncode == 0:
                return True
        except subprocess.TimeoutExpired:
            pass  # its node went silent: the master does not know yet
        except OSError as exc:
            raise ssh_failed(self.target, f"no se puede ejecutar ssh ({exc.strerror or exc})") from None
        retire_master(self.control, deadline.left(STOP_S))
        return False

    def _lock(self, lock, deadline: reach.Deadline) -> None:
        """Wait for another maker of this master, no longer than the deadline."""
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if deadline.left() <= 0:
                    raise out_of_time(self.target, deadline.seconds) from None
                time.sleep(deadline.left(0.05))

    def _make_master(self, deadline: reach.Deadline) -> None:
        t = self.target
        self._check_lab_route(deadline)
        # ServerAlive: a master whose node went silent (cable cut, powered
        # off) ends within ~6 s, as a new connection would time out, instead
        # of keeping a dead connection that commands wait on. sshd answers these
        # probes even while a long command prints nothing.
        argv = [*ssh_options(t, self.control), "-M", "-N", "-f", "-o", f"ControlPersist={PERSIST_S}",
                "-o", f"ServerAliveInterval={ALIVE_INTERVAL_S}", "-o", f"ServerAliveCountMax={ALIVE_COUNT}",
                "--", t.host]
        # stderr to a file, not a pipe: the ProxyCommand (and -f's background
        # master) inherit it, and a pipe would stay open for their whole life.
        import tempfile  # only when a master is made, not on every command

        with tempfile.TemporaryFile() as err:
            try:
                done = deadline.run(argv, stdout=subprocess.DEVNULL, stderr=err, env=_environment())
            except subprocess.TimeoutExpired:
                raise out_of_time(t, deadline.seconds) from None
            except OSError as exc:
                raise ssh_failed(t, f"no se puede ejecutar ssh ({exc.strerror or exc})") from None
            err.seek(0)
            stderr = err.read().decode("utf-8", "replace")
        if done.returncode != 0:
            raise failure(t, stderr)
        self.made_master = True

    def _check_lab_route(self, deadline: reach.Deadline) -> None:
        """A lab node only through the lab's ProxyCommand, as ssh will read its config (`ssh -G`)."""
        if self.lab_namespace is None:
            return
        t = self.target
        argv = [*ssh_options(t, self.control), "-G", "--", t.host]
        try:
            done = deadline.run(argv)
        except subprocess.TimeoutExpired:
            raise out_of_time(t, deadline.seconds) from None
        stdout, stderr = _text(done.stdout), _text(done.stderr)
        if done.returncode != 0:
            raise failure(t, stderr)
        conf = dict(line.split(" ", 1) for line in stdout.splitlines() if " " in line)
        proxy = conf.get("proxycommand", "none").replace("%h", conf.get("hostname", t.host))
        proxy = proxy.replace("%p", conf.get("port", str(t.port)))
        match = LAB_PROXY.fullmatch(proxy.strip())
        if match is None or match.group(1) != self.lab_namespace:
            raise no_lab_proxy(t)

    # --------------------------------------------------------- commands

    def run(self, command: str, hide=True, warn=True, in_stream=False, timeout: float | None = None,
            **_ignored):
        """Run `command` (bash) on the node; invoke's Result. Raises SessionLostError if ssh itself failed."""
        result = self._run(command, timeout)
        if result.exited != 0 and not warn:
            from invoke.exceptions import UnexpectedExit

            raise UnexpectedExit(result)
        return result

    def _run(self, command: str, timeout: float | None):
        """Run `command` now; SessionLostError if ssh itself failed.

        No second try: `open()` made the master or saw it run a command, so a
        failure here is the node lost during the run, not a stale master.
        """
        result = self._run_once(command, timeout)
        if result.exited == 255 and not result.stdout and _is_ssh_failure(result.stderr):
            reason = str(failure(self.target, result.stderr)).removeprefix(f"{self.target.node}: ")
            raise SessionLostError(reason)
        return result

    def _run_once(self, command: str, timeout: float | None):
        from invoke.runners import Result

        try:
            done = subprocess.run(self._session_argv(), input=command.encode(), capture_output=True,
                                  timeout=timeout, env=_environment())
        except subprocess.TimeoutExpired as exc:
            from invoke.exceptions import CommandTimedOut

            result = Result(stdout=_text(exc.stdout), stderr=_text(exc.stderr), command=command, exited=-1)
            raise CommandTimedOut(result, timeout) from None
        return Result(stdout=_text(done.stdout), stderr=_text(done.stderr), command=command,
                      exited=done.returncode)

    def _session_argv(self) -> list[str]:
        """ssh running REMOTE in a session over the master (never making one)."""
        return [*ssh_options(self.target, self.control), "-o", "ControlMaster=no", "-T", "--",
                self.target.host, REMOTE]

    def put(self, local, remote: str) -> None:
        """Upload (a path or a file object) over SFTP: Fabric, connected on the first upload only."""
        if self._fabric is None:
            if self._uploads is None:
                raise RuntimeError("esta conexión no sube ficheros")
            self._fabric = self._uploads()
        self._fabric.put(local if not isinstance(local, bytes) else io.BytesIO(local), remote)

    def close(self) -> None:
        """Close what this object opened itself (Fabric); the master stays for the next command."""
        if self._fabric is not None:
            self._fabric.close()
            self._fabric = None


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")


def _is_ssh_failure(stderr: str) -> bool:
    """Exit 255 from ssh itself (not from the remote command) leaves one of its messages."""
    return bool(SSH_OWN_MESSAGE.search(stderr))


def for_node(site: Site, node: Node) -> MuxConnection:
    """A node's connection as the site describes it (not opened yet)."""

    def uploads():
        from . import transport

        return transport.connect(site, node)

    return MuxConnection(target(site, node), site.lab.namespace if site.lab else None, uploads)


def connect(site: Site, node: Node) -> MuxConnection:
    """A node's connection with its master up; raises NodeUnreachableError (Spanish) if it cannot be made."""
    return for_node(site, node).open()


def stop_master(control: Path) -> None:
    """Ask one master to exit (`ssh -O exit`: talks to the socket only, never to a host)."""
    _ask_master(control, "exit", timeout=10)


def retire_master(control: Path, timeout: float) -> None:
    """Ask one master to take no more sessions (`ssh -O stop`).

    It removes its socket at once, so a new master can take the path, and
    ends after the sessions it still carries (another process's, maybe: a
    master slow to answer is not necessarily dead). Asked to exit instead,
    it could remove the path on its way out after a new master took it.
    """
    _ask_master(control, "stop", timeout)


def _ask_master(control: Path, request: str, timeout: float) -> None:
    if control.exists():
        argv = ["ssh", "-F", "/dev/null", "-o", f"ControlPath={control}", "-O", request, "runbook-mux"]
        try:
            subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            pass  # the socket goes anyway: a new master must be able to take the path
        control.unlink(missing_ok=True)


def close_masters(config: Path | None) -> int:
    """Close every master made with this ssh_config (the lab's, at lab.down); how many there were."""
    folder = config_dir(config)
    if not folder.is_dir():
        return 0
    count = 0
    for entry in sorted(folder.iterdir()):
        if entry.is_socket():
            stop_master(entry)
            count += 1
    return count


