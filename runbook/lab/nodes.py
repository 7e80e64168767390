"""Lab nodes: one overlay per node on the shared base, booted by systemd-nspawn.

Each `lab.up` gives every node an empty upper layer, so the node is a fresh
server (no haproxy, no keepalived) with its own hostname, machine-id and SSH
host keys.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from .errors import LabError
from .layout import LabLayout, NodeLayout
from .sysutil import cgroup_create, mounts_under, pids_matching, run, unmount


def prepare(node: NodeLayout, base_rootfs: Path, authorized_key: str, dns: list[str]) -> dict:
    """Mount the node's overlay and personalise it; return its host public keys."""
    shutil.rmtree(node.dir, ignore_errors=True)
    for d in (node.upper, node.work, node.root):
        d.mkdir(parents=True)
    run(["mount", "-t", "overlay", f"overlay-{node.name}", "-o",
         f"lowerdir={base_rootfs},upperdir={node.upper},workdir={node.work}", str(node.root)],
        f"montar la capa de {node.name}")
    root = node.root
    (root / "etc/hostname").write_text(node.name + "\n")
    (root / "etc/hosts").write_text(
        f"127.0.0.1\tlocalhost\n127.0.1.1\t{node.name}\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
    )
    (root / "etc/machine-id").write_text(uuid.uuid4().hex + "\n")
    (root / "etc/resolv.conf").write_text("".join(f"nameserver {a}\n" for a in dns))
    ssh_dir = root / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(authorized_key)
    os.chmod(ssh_dir / "authorized_keys", 0o600)
    # `ssh-keygen -A -f ROOT` creates every missing host key type under
    # ROOT/etc/ssh, as Debian's openssh-server postinst does on a new server.
    run(["ssh-keygen", "-A", "-f", str(root)], f"generar las claves de host de {node.name}")
    return {
        path.name: path.read_text().split()[:2]
        for path in sorted((root / "etc/ssh").glob("ssh_host_*_key.pub"))
    }


# systemd-nspawn's exit status when the container's systemd asks for a reboot
# (`systemctl reboot` inside): systemd-nspawn(1), "EXIT STATUS" / systemd-nspawn@.service's
# RestartForceExitStatus=133.
REBOOT_EXIT = 133


def reboot_reset(node: NodeLayout) -> list[str]:
    """What a reboot takes from a node that its persistent namespace would keep (shell commands).

    The node's network namespace outlives the container (the lab's bridges hold its
    veths), so what a powered-off machine loses is taken by hand before it boots again:
    the LAN interface goes down without addresses (the VIP with them), the routes someone
    added to the local table go (the VIP's on `lo`: only the interfaces file brings it
    back) and the sysctl the procedure sets go back to a new namespace's default. The
    management address is the lab's (network.py sets it), as a real machine's own
    management setup would.
    """
    ns, lan = shlex.quote(node.netns), shlex.quote(node.lan_if)
    conf = [f"net.ipv4.conf.{dev}.{key}=0" for dev in ("all", node.lan_if.replace(".", "/"))
            for key in ("arp_ignore", "arp_announce")]
    sysctls = " ".join(shlex.quote(s) for s in ["net.ipv4.ip_nonlocal_bind=0", *conf])
    return [f"ip -n {ns} addr flush dev {lan}", f"ip -n {ns} link set {lan} down",
            f"ip -n {ns} -4 route flush table local proto boot",
            f"ip netns exec {ns} sysctl -qw {sysctls}"]


def wrapper(node: NodeLayout) -> str:
    """The shell around nspawn: join the node's cgroups, boot, and boot again after a reboot."""
    reset = "; ".join(reboot_reset(node))
    return ('for cg in $RB_CGROUPS; do echo $$ > "$cg/cgroup.procs"; done\n'
            'while :; do\n'
            '  "$@"; rc=$?\n'
            f'  [ "$rc" -eq {REBOOT_EXIT} ] || exit "$rc"\n'
            f'  {reset}\n'
            'done\n')


def start(lay: LabLayout, node: NodeLayout) -> int:
    """Boot the node in the background; return the pid of the shell that runs (and reruns) nspawn."""
    node.log.parent.mkdir(parents=True, exist_ok=True)
    cgroups = cgroup_create(node.cgroup)
    nspawn = [
        "systemd-nspawn",
        "--quiet",
        f"--directory={node.root}",
        f"--machine={node.name}",  # also the container's hostname
        "--boot",
        # No systemd as PID 1 on the host: no machined to register with and
        # no unit to create; the container runs in our own (per-node) cgroup.
        "--register=no",
        "--keep-unit",
        f"--network-namespace-path=/run/netns/{node.netns}",
        # ifup and keepalived's VIP need to change addresses and send VRRP.
        "--capability=CAP_NET_ADMIN,CAP_NET_RAW",
        "--console=pipe",
        "--link-journal=no",
        "--resolv-conf=off",
        "--timezone=off",
    ]
    # Move into the node's own cgroup first (see sysutil), then run nspawn; when the node
    # reboots (nspawn exits with REBOOT_EXIT), boot it again as a real server would.
    env = dict(
        os.environ,
        RB_CGROUPS=" ".join(str(c) for c in cgroups),
        # Lets the node write net.* sysctls (ip_nonlocal_bind), nothing else.
        SYSTEMD_NSPAWN_API_VFS_WRITABLE="network",
    )
    with open(node.log, "ab") as log:
        proc = subprocess.Popen(
            ["sh", "-c", wrapper(node), "nspawn", *nspawn],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=env, start_new_session=True, close_fds=True,
        )
    return proc.pid


def check_started(node: NodeLayout, pid: int) -> None:
    """Fail early, with nspawn's own words, if the container exited."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
        tail = node.log.read_text(errors="replace").strip().splitlines()[-6:]
        raise LabError(f"el nodo {node.name} no arrancó:\n  " + "\n  ".join(tail))


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def nspawn_pids(lay: LabLayout) -> set[int]:
    """nspawn processes booting a root under this lab's state dir."""
    marker = f"--directory={lay.state_dir}/nodes/"

    def ours(argv: list[str]) -> bool:
        return any(a.startswith(marker) for a in argv) and any("nspawn" in a for a in argv)

    return set(pids_matching(ours))


def unmount_all(lay: LabLayout) -> None:
    for point in mounts_under(lay.state_dir / "nodes"):
        unmount(point)
    if mounts_under(lay.state_dir / "nodes"):
        time.sleep(0.1)
        for point in mounts_under(lay.state_dir / "nodes"):
            unmount(point)


def wipe(lay: LabLayout) -> None:
    """Remove every node's layers (never while mounted)."""
    nodes_dir = lay.state_dir / "nodes"
    if mounts_under(nodes_dir):
        raise LabError(f"quedan montajes bajo {nodes_dir}; no se borran las capas")
    shutil.rmtree(nodes_dir, ignore_errors=True)
