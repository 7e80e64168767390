"""The convergence promise, on the lab: whatever verify reports, one deploy repairs.

Each case breaks the converged lab the way an operator or a failure would,
then, without recreating anything:

1. verify flags it (at least the named checks, waiting while VRRP reacts);
2. ONE deploy repairs it: it succeeds and reports as changed exactly the
   named steps on the named nodes. A run action in that list ran because
   its guard (`unless`) failed: this is each guard tested in the broken
   state it exists for;
3. verify right after that deploy passes, with no waiting;
4. a second deploy changes nothing (every guard holds in the repaired state).

So each case leaves the lab converged for the next. Drift the procedure does
not own (a backend down) is the last case: verify flags it and says deploy
cannot fix it, deploy changes nothing and says so (exit 1).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.lab_fixtures import deploy_lab, failing_checks

from runbook import lab as lab_api
from runbook.checks.managed import file_check_id
from runbook.data.load import load_site
from runbook.lab.layout import layout
from runbook.soak.faults import REBOOT_BACK_S, back_command, reboot_command
from runbook.verify import run_verify
from runbook.vocabulary import Status

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
INVOKE = str(REPO / ".venv" / "bin" / "invoke")
FLAG_TIMEOUT_S = 30  # keepalived's FAULT after 2 failed track checks, HAProxy's DOWN after 3

BOTH = ("hera", "afrodita")
ETH1 = "/etc/network/interfaces.d/eth1"
SYSCTL = "/etc/sysctl.d/60-haproxy-nonlocal-bind.conf"
KEEPALIVED = "/etc/keepalived/keepalived.conf"
HAPROXY = "/etc/haproxy/haproxy.cfg"
RESTART = "/etc/systemd/system/keepalived.service.d/reinicio.conf"
NFTABLES = "/etc/nftables.conf"
ARP = "/etc/sysctl.d/60-ip-virtual-arp.conf"
FILE_STEPS = {ETH1: "interfaz-lan", SYSCTL: "ip-no-local", KEEPALIVED: "keepalived", HAPROXY: "haproxy",
              RESTART: "keepalived", NFTABLES: "cortafuegos", ARP: "ip-virtual-aceptada"}
LAB = load_site("lab")
LAN = LAB.network.lan
VIP_ROUTE = f"local {LAB.vip}/32 dev lo table local metric 1"
# What each sysctl file persists: its values edited to 0, or the file removed, flag these.
PERSISTED = {
    SYSCTL: ("nonlocal-bind-persistente",),
    ARP: tuple(f"arp-{key}-{dev}-persistente" for dev in ("all", LAN.interface) for key in ("ignore", "announce")),
}
# One rule of the firewall's input chain deleted by hand, by its handle: the ping one (deleting
# SSH's would cut deploy off, VRRP's would move the VIP), or one rule added.
ICMP_RULE = "meta l4proto { icmp, ipv6-icmp } accept"
DELETE_ICMP_RULE = (
    "nft delete rule inet filter input handle "
    f"$(nft -a list chain inet filter input | grep -F '{ICMP_RULE} # handle' | sed 's/.* handle //')"
)
ADD_RULE = "nft add rule inet filter input tcp dport 9999 accept"


@dataclass(frozen=True)
class Tampering:
    id: str
    nodes: tuple[str, ...]
    script: str  # run on each of `nodes`, as root
    flags: frozenset[tuple[str, str]]  # (check, node or "clúster") verify must report
    heals: frozenset[tuple[str, str]]  # (node, step) the one deploy must report as changed


def case(id: str, nodes: str | tuple[str, ...], script: str, flags: set, heals: set | None = None,
         step: str = "servicios") -> Tampering:
    nodes = (nodes,) if isinstance(nodes, str) else nodes
    heals = heals if heals is not None else {(n, step) for n in nodes}
    return Tampering(id, nodes, script, frozenset(flags), frozenset(heals))


def on_each(nodes, *checks: str) -> set[tuple[str, str]]:
    return {(c, n) for n in nodes for c in checks}


def file_cases() -> list[Tampering]:
    out = []
    for i, (path, step) in enumerate(FILE_STEPS.items()):
        check = file_check_id(path)
        one, other = BOTH[i % 2], BOTH[(i + 1) % 2]
        persist = {(c, one) for c in PERSISTED.get(path, ())}  # edited or removed
        edit = (f"sed -i 's/= [0-9]*$/= 0/' {path}" if path in PERSISTED  # the values, not just a comment
                else f"echo '# editado a mano' >> {path}")
        out += [
            case(f"editado-{check}-{one}", one, edit, {(check, one)} | persist, step=step),
            case(f"chmod-chown-{check}-{other}", other, f"chmod 600 {path} && chown nobody:nogroup {path}",
                 {(check, other)}, step=step),
            case(f"borrado-{check}-{one}", one, f"rm {path}", {(check, one)} | persist, step=step),
        ]
    return out


CASES = [
    # Services: each stopped on either node, both together, both nodes, enabled state.
    case("haproxy-parado-hera", "hera", "systemctl stop haproxy",
         on_each(["hera"], "unidad-haproxy", "servicios-activos", "escucha-servicios")),
    case("haproxy-parado-afrodita", "afrodita", "systemctl stop haproxy",
         on_each(["afrodita"], "unidad-haproxy", "servicios-activos", "escucha-servicios")),
    case("keepalived-parado-hera", "hera", "systemctl stop keepalived",
         on_each(["hera"], "unidad-keepalived", "servicios-activos")),
    case("keepalived-parado-afrodita", "afrodita", "systemctl stop keepalived",
         on_each(["afrodita"], "unidad-keepalived", "servicios-activos")),
    case("ambos-parados-afrodita", "afrodita", "systemctl stop haproxy keepalived",
         on_each(["afrodita"], "unidad-haproxy", "unidad-keepalived", "servicios-activos")),
    case("keepalived-parado-en-los-dos", BOTH, "systemctl stop keepalived",
         on_each(BOTH, "unidad-keepalived") | {("vip-unica", "clúster")}),
    case("haproxy-deshabilitado-en-marcha-hera", "hera", "systemctl disable -q haproxy",
         on_each(["hera"], "unidad-haproxy", "servicios-habilitados")),
    case("keepalived-deshabilitado-en-marcha-afrodita", "afrodita", "systemctl disable -q keepalived",
         on_each(["afrodita"], "unidad-keepalived", "servicios-habilitados")),
    # Managed files: edited, chmod'ed, chown'ed, removed.
    *file_cases(),
    # The live kernel value flipped while its file is intact: only the file's guard sees it.
    case("sysctl-en-vivo-afrodita", "afrodita", "sysctl -qw net.ipv4.ip_nonlocal_bind=0",
         {("nonlocal-bind-activo", "afrodita")}, step="ip-no-local"),
    # Every node accepts the VIP (a local route on lo), only its holder answers ARP for it: the
    # route deleted on the backup (the run's guard sees it), arp_ignore flipped on the holder,
    # arp_announce of the LAN interface on the backup (the file's guard sees both).
    case("ruta-vip-borrada-afrodita", "afrodita", f"ip route del {VIP_ROUTE}",
         {("vip-aceptada", "afrodita")}, step="ip-virtual-aceptada"),
    case("arp-ignore-en-vivo-hera", "hera", "sysctl -qw net.ipv4.conf.all.arp_ignore=0",
         {("arp-solo-quien-la-tiene", "hera")}, step="ip-virtual-aceptada"),
    case("arp-announce-en-vivo-afrodita", "afrodita", f"sysctl -qw net.ipv4.conf.{LAN.interface}.arp_announce=0",
         {("arp-solo-quien-la-tiene", "afrodita")}, step="ip-virtual-aceptada"),
    # The LAN interface, broken as an operator would: address gone, link down, ifdown.
    case("lan-sin-direccion-hera", "hera",
         f"ip addr del {LAB.node('hera').lan_address}/{LAN.subnet.prefixlen} dev {LAN.interface}",
         {("lan-direccion", "hera")}, step="interfaz-lan"),
    case("lan-enlace-caido-hera", "hera", f"ip link set {LAN.interface} down",
         {("lan-direccion", "hera")}, step="interfaz-lan"),
    case("lan-ifdown-afrodita", "afrodita", f"ifdown {LAN.interface}",
         {("lan-direccion", "afrodita")}, step="interfaz-lan"),
    # The firewall: its rules emptied, one rule deleted or added by hand (the file's guard reloads
    # them), its service stopped (which empties them too) or no longer started at boot (the
    # enable's guard).
    case("cortafuegos-vaciado-hera", "hera", "nft flush ruleset",
         {("cortafuegos-cargado", "hera")}, step="cortafuegos"),
    case("cortafuegos-regla-borrada-afrodita", "afrodita", DELETE_ICMP_RULE,
         {("cortafuegos-cargado", "afrodita")}, step="cortafuegos"),
    case("cortafuegos-regla-extra-hera", "hera", ADD_RULE,
         {("cortafuegos-cargado", "hera")}, step="cortafuegos"),
    case("cortafuegos-parado-afrodita", "afrodita", "systemctl stop nftables",
         on_each(["afrodita"], "cortafuegos-cargado", "unidad-nftables"), step="cortafuegos"),
    case("cortafuegos-deshabilitado-hera", "hera", "systemctl disable -q nftables",
         on_each(["hera"], "cortafuegos-habilitado", "unidad-nftables"), step="cortafuegos"),
    # Packages removed (not purged: dpkg still knows them, "deinstall ok config-files").
    case("paquete-haproxy-quitado-afrodita", "afrodita", "apt-get remove -qq -y haproxy >/dev/null",
         on_each(["afrodita"], "haproxy-instalado", "unidad-haproxy"), step="paquetes"),
    case("paquete-psmisc-quitado-hera", "hera", "apt-get remove -qq -y psmisc >/dev/null",
         {("killall-instalado", "hera")}, step="paquetes"),
]


def on(lab, node: str, script: str) -> str:
    proc = lab_api.node_run(lab.site, node, ["sh", "-c", script], timeout=120)
    assert proc.returncode == 0, f"{node}$ {script}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def wait_flagged(plan, expected: frozenset, what: str) -> set:
    """Poll verify until it reports at least `expected` (VRRP and HAProxy take a moment)."""
    deadline = time.monotonic() + FLAG_TIMEOUT_S
    while True:
        report = run_verify(plan)
        failing = failing_checks(report)
        if expected <= failing:
            assert report.exit_code == 1
            return failing
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: verify no lo detecta; falta {sorted(expected - failing)}")
        time.sleep(0.5)


def changed_steps(result) -> set[tuple[str, str]]:
    return {(o.node, o.step) for o in result.outcomes if o.status == Status.CHANGED}


def assert_healed_and_still(lab, result, heals, what: str) -> None:
    plan = lab.plan
    assert result.exit_code == 0, (what, result.errors)
    assert changed_steps(result) == heals, what
    for o in result.outcomes:
        if o.status == Status.CHANGED and o.kind == "run":
            assert "la condición «salvo si» no se cumple" in o.message, o  # the guard saw the damage
    report = run_verify(plan)  # right after deploy: no waiting
    assert report.exit_code == 0, f"{what}: tras el despliegue verify falla en {sorted(failing_checks(report))}"
    again = deploy_lab(plan)
    assert again.exit_code == 0 and changed_steps(again) == set(), (what, again.errors, changed_steps(again))


@pytest.mark.parametrize("tampering", CASES, ids=lambda t: t.id)
def test_tampering_is_flagged_and_one_deploy_heals_it(lab_converged, tampering, request):
    plan = lab_converged.plan
    for node in tampering.nodes:
        on(lab_converged, node, tampering.script)
    wait_flagged(plan, tampering.flags, tampering.id)
    assert_healed_and_still(lab_converged, deploy_lab(plan), tampering.heals, tampering.id)
    lab_converged.proven_by = request.node.nodeid


def test_a_reboot_takes_the_vip_route_and_the_interfaces_file_brings_it_back_without_deploy(
        lab_converged, request):
    """The backup rebooted: the lab takes what a reboot takes (the local table's added routes, a marker
    one included, and the sysctl), and the node boots with the VIP's route again: ifup runs the
    `up` line of its interfaces file. The deploy after it does not have to add the route."""
    site, plan = lab_converged.site, lab_converged.plan
    marker = "local 198.51.100.199/32 dev lo table local"  # added by hand: nothing brings it back

    def boot_id() -> str | None:
        done = lab_api.node_run(site, "afrodita", ["sh", "-c", back_command()], timeout=60)
        lines = done.stdout.split()
        return lines[0] if done.returncode == 0 and lines and lines[-1] in ("running", "degraded") else None

    def local_routes() -> str:
        return on(lab_converged, "afrodita", "ip -4 route show table local type local dev lo")

    on(lab_converged, "afrodita", f"ip route add {marker}")
    assert f"{LAB.vip} scope host metric 1" in local_routes() and "198.51.100.199" in local_routes()
    before = boot_id()
    assert before is not None
    on(lab_converged, "afrodita", reboot_command())
    deadline = time.monotonic() + REBOOT_BACK_S
    while boot_id() in (None, before):
        assert time.monotonic() < deadline, "afrodita no volvió a arrancar"
        time.sleep(1.0)
    routes = local_routes()
    assert "198.51.100.199" not in routes, routes  # the reboot took the local table's added routes
    assert f"local {LAB.vip} scope host metric 1" in routes, routes  # and ifup put the VIP's back
    result = deploy_lab(plan)
    assert result.exit_code == 0, result.errors
    ran = {(o.node, o.step, o.kind) for o in result.outcomes if o.status == Status.CHANGED}
    assert not any(step == "ip-virtual-aceptada" and kind == "run" for _, step, kind in ran), ran
    deadline = time.monotonic() + FLAG_TIMEOUT_S
    while (report := run_verify(plan)).exit_code != 0:
        assert time.monotonic() < deadline, sorted(failing_checks(report))
        time.sleep(0.5)
    again = deploy_lab(plan)
    assert again.exit_code == 0 and changed_steps(again) == set(), (again.errors, changed_steps(again))
    lab_converged.proven_by = request.node.nodeid


def test_restart_drop_in_not_read_by_systemd_is_reloaded_by_its_guard(lab_converged, request):
    """keepalived's restart drop-in right on disk but not read by systemd (NeedDaemonReload=yes):
    nothing verify checks is wrong, only the file's guard sees it; one deploy runs daemon-reload."""
    on(lab_converged, "hera", f"touch {RESTART}")
    assert on(lab_converged, "hera", "systemctl show -p NeedDaemonReload --value keepalived").strip() == "yes"
    assert_healed_and_still(lab_converged, deploy_lab(lab_converged.plan), {("hera", "keepalived")},
                            "reinicio sin recargar")
    assert on(lab_converged, "hera", "systemctl show -p NeedDaemonReload --value keepalived").strip() == "no"
    lab_converged.proven_by = request.node.nodeid


def test_firewall_rule_deleted_by_hand_fails_the_guard_and_one_rb_deploy_heals_it(lab_converged, request):
    """The file's guard, run as the page shows it: 0 while the rules in use are the file's,
    non-zero (naming the rule) once one is deleted by hand; `./rb deploy` reloads, once."""
    site = lab_converged.site
    guard = next(a.unless for a in lab_converged.plan.actions("afrodita") if getattr(a, "path", None) == NFTABLES)

    def run_guard():
        return lab_api.node_run(site, "afrodita", ["bash", "-c", guard], timeout=60)

    assert run_guard().returncode == 0
    on(lab_converged, "afrodita", DELETE_ICMP_RULE)
    broken = run_guard()  # diff <(in use) <(the file's): «>» marks a rule only the file has
    assert broken.returncode == 1 and f"> \t\t{ICMP_RULE}" in broken.stdout, broken.stdout + broken.stderr
    wait_flagged(lab_converged.plan, frozenset({("cortafuegos-cargado", "afrodita")}), "regla borrada")
    verify = subprocess.run([str(REPO / "rb"), "verify"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert verify.returncode == 1
    assert f"se esperaban 24 líneas y salieron 23: falta «{ICMP_RULE}»" in verify.stdout, verify.stdout
    proc = subprocess.run([str(REPO / "rb"), "deploy"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^afrodita\s+cortafuegos\s+cambiado\s+/etc/nftables.conf$", proc.stdout, re.M), proc.stdout
    assert "1 cambio(s) aplicado(s)" in proc.stdout
    assert run_guard().returncode == 0
    again = subprocess.run([str(REPO / "rb"), "deploy"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "sin cambios: todo estaba según el plan" in again.stdout, again.stdout
    lab_converged.proven_by = request.node.nodeid


def test_tampering_stopped_haproxy_healed_through_rb_as_the_issue_tells(lab_converged, request):
    """`systemctl stop haproxy` on afrodita, then `./rb deploy`: it used to say "sin cambios"."""
    on(lab_converged, "afrodita", "systemctl stop haproxy")
    wait_flagged(lab_converged.plan, frozenset({("unidad-haproxy", "afrodita")}), "haproxy parado")
    proc = subprocess.run([str(REPO / "rb"), "deploy"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^afrodita\s+servicios\s+cambiado\s+systemctl enable --now haproxy keepalived$",
                     proc.stdout, re.M), proc.stdout
    assert "1 cambio(s) aplicado(s)" in proc.stdout
    verify = subprocess.run([str(REPO / "rb"), "verify"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout
    again = subprocess.run([INVOKE, "deploy", "--json"], cwd=REPO, capture_output=True, text=True, timeout=300)
    data = json.loads(again.stdout)
    assert again.returncode == 0 and all(r["changed"] == 0 for r in data["recap"].values())
    lab_converged.proven_by = request.node.nodeid


def test_tampering_backend_down_is_flagged_and_deploy_says_it_cannot_fix_it(lab_converged):
    plan = lab_converged.plan
    zeus = next(b for b in layout(plan.site).backends if b.name == "zeus")
    haproxy_view = on_each(BOTH, "servicio-horizon-backends", "servicio-memcached-backends")
    # verify also runs each balancer's own question to the servers (step servidores-responden);
    # deploy's health wait looks at HAProxy's view only.
    backends = haproxy_view | on_each(BOTH, "servidores-contestan")
    subprocess.run(["ip", "-n", layout(plan.site).netns, "link", "set", zeus.peer, "down"], check=True)
    try:
        wait_flagged(plan, frozenset(backends), "zeus desenchufado")
        data = json.loads(subprocess.run([INVOKE, "verify", "--format", "json"], cwd=REPO, capture_output=True,
                                         text=True, timeout=120).stdout)
        down = [r for r in data["results"] if (r["check"], r["node"]) in backends]
        assert down and all(r["status"] == "failed" and r["deploy_can_fix"] is False for r in down)
        # HAProxy's view names the server DOWN; the balancer's own question, its address.
        seen = {"servidores-contestan": f"{zeus.address.ip}:"}
        assert all(seen.get(r["check"], "zeus DOWN") in r["detail"] for r in down)

        proc = subprocess.run([INVOKE, "deploy", "--json"], cwd=REPO, capture_output=True, text=True, timeout=300)
        result = json.loads(proc.stdout)
        assert proc.returncode == 1
        assert all(r["changed"] == 0 and r["failed"] == 0 for r in result["recap"].values())
        remaining = {(p["check"], p["node"]) for p in result["remaining"]}
        assert remaining == haproxy_view and not any(p["deploy_can_fix"] for p in result["remaining"])
        assert all("Deploy no puede arreglarlo" in p["message"] and seen.get(p["check"], "zeus DOWN") in p["message"]
                   for p in result["remaining"])
        human = subprocess.run([INVOKE, "deploy"], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert human.returncode == 1
        assert "Deploy no puede arreglarlo: los servidores de horizon no son nodos de este sitio" in human.stdout
        assert "quedan 4 problema(s), 4 que deploy no puede arreglar" in human.stdout
        assert "completo, con problemas" in human.stdout
    finally:
        subprocess.run(["ip", "-n", layout(plan.site).netns, "link", "set", zeus.peer, "up"], check=True)
    deadline = time.monotonic() + 30
    while (report := run_verify(plan)).exit_code != 0:
        assert time.monotonic() < deadline, sorted(failing_checks(report))
        time.sleep(0.5)
