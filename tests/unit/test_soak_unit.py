"""The soak without a lab: its fault catalogue, the seeded picking, the rules' judgement, the report, refusals."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from runbook.data.load import load_site
from runbook.drill.sampler import Sample
from runbook.drill.scenarios import SCENARIOS, DrillError
from runbook.lab import nodes
from runbook.lab.layout import layout
from runbook.output.terminal import Plain
from runbook.soak import faults as soak_faults
from runbook.soak.faults import TAMPERINGS, Target, catalogue
from runbook.soak.picking import pick_faults
from runbook.soak.report import print_summary
from runbook.soak.rules import broken_rules, healthy_since, no_holder_seconds
from runbook.soak.runner import summary

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ catalogue and picking


def test_catalogue_is_the_drill_scenarios_then_the_tamperings():
    names = list(catalogue())
    assert names == [*SCENARIOS, *(t.name for t in TAMPERINGS)]
    for fault in catalogue().values():
        assert fault.repair in ("deploy", "restore")
        assert (fault.restore is not None) == (fault.repair == "restore"), fault.name
    assert catalogue()["keepalived-crash"].repair == "deploy"  # deploy starts the dead unit
    assert catalogue()["node-crash"].repair == "restore"  # deploy cannot plug a cable back


def test_the_same_seed_picks_the_same_faults():
    names = list(catalogue())
    first = pick_faults(names, 50, seed=2024)
    assert pick_faults(names, 50, seed=2024) == first
    assert pick_faults(names, 10, seed=2024) == first[:10]  # a short soak is the start of a long one
    assert pick_faults(names, 50, seed=2025) != first
    assert set(first) <= set(names) and len(set(first)) > 5


def test_picking_is_stable_across_versions():
    # random.Random(int).choice is documented as reproducible: a seed noted today replays tomorrow.
    assert pick_faults(["a", "b", "c", "d"], 8, seed=7) == ["c", "b", "d", "a", "a", "a", "c", "a"]


def test_picking_from_nothing_is_refused():
    with pytest.raises(ValueError):
        pick_faults([], 3, seed=1)


# ------------------------------------------------------------------ a rebooted node, a full /var/log


def test_the_new_faults_are_in_the_catalogue_and_the_soak_picks_them():
    known = catalogue()
    assert known["reinicio-titular"].role == "holder" and known["reinicio-otro"].role == "peer"
    assert known["reinicio-titular"].repair == known["reinicio-otro"].repair == "deploy"  # as after a reboot
    assert known["var-log-lleno"].repair == "restore"  # deploy does not own the disk: the restore unmounts
    picked = pick_faults(list(known), 50, seed=1)
    assert {"reinicio-titular", "reinicio-otro", "var-log-lleno"} <= set(picked)
    assert not any("reloj" in name for name in known)  # no clock jump: see faults.py's docstring


def stand_ins(tmp_path, scripts: dict[str, str]) -> tuple[dict, Path]:
    """Stand-in commands on PATH that record their calls in calls.log (then run their own body)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    for name, body in scripts.items():
        (bin_dir / name).write_text(f'#!/bin/sh\necho {name} "$@" >> {log}\n{body}\n')
        (bin_dir / name).chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin"}, log


def test_a_full_var_log_is_a_small_tmpfs_and_its_restore_unmounts_only_that(tmp_path):
    fill, free = soak_faults.fill_log_command(), soak_faults.free_log_command()
    for command in (fill, free):
        assert subprocess.run(["sh", "-n", "-c", command]).returncode == 0
    assert "mount -t tmpfs -o size=4m,mode=0755 runbook-log-lleno /var/log" in fill
    assert fill.index("find /var/log") < fill.index("mount -t tmpfs")  # its folders read before hiding them
    assert fill.rstrip().endswith("journalctl --rotate")  # journald starts new files on the full disk

    quiet = {"umount": "", "journalctl": ""}
    # The guard: something else mounted on /var/log (or nothing) is never unmounted.
    env, log = stand_ins(tmp_path, {**quiet, "findmnt": "echo /dev/sda2"})
    assert subprocess.run(["sh", "-c", free], env=env).returncode == 0
    assert log.read_text().splitlines() == ["findmnt -n -o SOURCE /var/log", "journalctl --flush",
                                           "journalctl --rotate"]
    log.unlink()
    env, log = stand_ins(tmp_path, {**quiet, "findmnt": "echo runbook-log-lleno"})
    assert subprocess.run(["sh", "-c", free], env=env).returncode == 0
    assert "umount /var/log" in log.read_text().splitlines()
    log.unlink()
    # Busy (journald still writing there): a lazy unmount, and journald is moved back all the same.
    env, log = stand_ins(tmp_path, {"findmnt": "echo runbook-log-lleno", "journalctl": "",
                                    "umount": '[ "$1" = -l ] || exit 32'})
    assert subprocess.run(["sh", "-c", free], env=env).returncode == 0
    assert log.read_text().splitlines()[1:] == ["umount /var/log", "umount -l /var/log", "journalctl --flush",
                                               "journalctl --rotate"]


class FakeCluster:
    """A node that reboots: its boot id changes once `systemctl reboot` has been asked for (or never)."""

    def __init__(self, comes_back: bool):
        self.site, self.comes_back, self.rebooted, self.commands = load_site("lab"), comes_back, False, []

    def node_command(self, node, command):
        self.commands.append((node, command))
        self.rebooted = True
        return 1000.0

    def node_run(self, site, node, argv, **kw):
        boot = "b" if self.rebooted and self.comes_back else "a"
        return subprocess.CompletedProcess(argv, 0, f"{boot}\nrunning\n", "")


def test_a_reboot_waits_until_the_node_has_booted_again(monkeypatch):
    import runbook.lab

    cluster = FakeCluster(comes_back=True)
    monkeypatch.setattr(runbook.lab, "node_run", cluster.node_run, raising=False)
    monkeypatch.setattr(soak_faults.time, "sleep", lambda s: None)
    target = Target(cluster, None, "hera", "afrodita")
    assert catalogue()["reinicio-otro"].apply(target) == 1001.0  # the reboot starts 1 s after the command
    assert cluster.commands == [("afrodita", "systemd-run --quiet --on-active=1 systemctl reboot")]

    unknown = FakeCluster(comes_back=True)
    monkeypatch.setattr(runbook.lab, "node_run", lambda *a, **kw: subprocess.CompletedProcess(a, 255, "", ""),
                        raising=False)
    with pytest.raises(DrillError, match="no se pudo leer su arranque actual"):
        catalogue()["reinicio-otro"].apply(Target(unknown, None, "hera", "afrodita"))
    assert unknown.commands == []  # never rebooted without a boot id to tell the new boot by

    stuck = FakeCluster(comes_back=False)
    monkeypatch.setattr(runbook.lab, "node_run", stuck.node_run, raising=False)
    monkeypatch.setattr(soak_faults, "REBOOT_BACK_S", 0.01)
    with pytest.raises(DrillError, match="hera no volvió a arrancar"):
        catalogue()["reinicio-titular"].apply(Target(stuck, None, "hera", "afrodita"))


def test_the_lab_boots_a_node_again_after_it_reboots_and_takes_what_a_reboot_takes(tmp_path):
    node = layout(load_site("lab")).node("hera")
    runs = tmp_path / "runs"
    # nspawn's stand-in: the first boot ends in a reboot (133), the second in a power-off (0).
    nspawn = f'echo boot >> {runs}; [ "$(wc -l < {runs})" -ge 2 ] && exit 0; exit {nodes.REBOOT_EXIT}'
    env, log = stand_ins(tmp_path, {"ip": "", "nspawn": nspawn})
    done = subprocess.run(["sh", "-c", nodes.wrapper(node), "nspawn", "nspawn", "--boot"],
                          env={**env, "RB_CGROUPS": ""})
    assert done.returncode == 0 and runs.read_text() == "boot\nboot\n"
    ns, lan = node.netns, node.lan_if
    assert log.read_text().splitlines() == [
        "nspawn --boot",
        f"ip -n {ns} addr flush dev {lan}", f"ip -n {ns} link set {lan} down",
        f"ip -n {ns} -4 route flush table local proto boot",
        f"ip netns exec {ns} sysctl -qw net.ipv4.ip_nonlocal_bind=0 net.ipv4.conf.all.arp_ignore=0 "
        f"net.ipv4.conf.all.arp_announce=0 net.ipv4.conf.{lan}.arp_ignore=0 net.ipv4.conf.{lan}.arp_announce=0",
        "nspawn --boot",
    ]
    # Any other end (a crash, a kill) is not a reboot: the node stays down, its status passed on.
    log.unlink()
    env, log = stand_ins(tmp_path, {"ip": "", "nspawn": "exit 1"})
    done = subprocess.run(["sh", "-c", nodes.wrapper(node), "nspawn", "nspawn"], env={**env, "RB_CGROUPS": ""})
    assert done.returncode == 1 and log.read_text().splitlines() == ["nspawn"]


# ------------------------------------------------------------------ rules


def good(**changes) -> dict:
    record = {
        "round": 1, "fault": "keepalived-crash", "node": "hera", "repair": "deploy", "failed": 12,
        "served_again_s": 3.2, "first_deploy": {"exit": 0, "changed": 1}, "verify_green_after_s": 0.0,
        "verify_failures": [], "no_holder_after_healthy_s": 0.0, "second_deploy": {"exit": 0, "changed": 0},
        "duration_s": 20.0,
    }
    return {**record, **changes}


def test_a_round_that_keeps_every_rule_breaks_none():
    assert broken_rules(good()) == []
    assert broken_rules(good(repair="restore", first_deploy=None)) == []


def test_each_rule_is_judged_and_said_in_spanish():
    assert broken_rules(good(first_deploy={"exit": 1, "changed": 2})) == ["un deploy no lo reparó (código 1)"]
    assert broken_rules(good(verify_green_after_s=None, verify_failures=["vip-unica@clúster"])) == [
        "verify no pasó en los 10 s siguientes a deploy (falla: vip-unica@clúster)"]
    assert broken_rules(good(repair="restore", first_deploy=None, verify_green_after_s=None)) == [
        "verify no pasó en los 10 s siguientes a la restauración (falla: ?)"]
    assert broken_rules(good(no_holder_after_healthy_s=0.84)) == [
        "ningún nodo tuvo la IP virtual durante 0,84 s después de que se diera el clúster por sano"]
    assert broken_rules(good(second_deploy={"exit": 0, "changed": 1})) == [
        "el deploy siguiente no quedó sin cambios (código 0, 1 cambio(s))"]


def test_no_holder_counts_only_the_time_asked_for():
    samples = [Sample(0.0, ("hera",)), Sample(1.0, ()), Sample(2.0, ()), Sample(3.0, ("afrodita",)),
               Sample(4.0, ("afrodita",))]
    assert no_holder_seconds(samples, 0.0, 4.0) == pytest.approx(2.0)
    assert no_holder_seconds(samples, 2.5, 4.0) == pytest.approx(0.5)
    assert no_holder_seconds(samples, 3.0, 4.0) == 0.0


def test_seed_202_rounds_39_and_43_a_handover_during_the_green_verify_is_not_after_it():
    """Soak seed 202 (19 faults, 50 rounds): rounds 39 (planned) and 43 (node-crash) were judged broken.

    After the restore, hera took the VIP back with a 0,03 s gap while the first green verify was
    running; the rule counted from that verify's start. The verdict is shown when verify returns.
    """
    names = ["planned", "haproxy-crash", "keepalived-crash", "node-crash", "backend-down", "planned-stop",
             "haproxy-parado", "ambos-parados", "ambos-matados", "keepalived-parado-en-los-dos",
             "keepalived-deshabilitado", "sysctl-en-vivo", "sysctl-chmod", "keepalived-editado",
             "haproxy-editado", "lan-vaciada-titular", "lan-vaciada-otro", "lan-caida-otro",
             "enlace-otro-intermitente"]
    picked = pick_faults(names, 50, seed=202)
    assert (picked[38], picked[42]) == ("planned", "node-crash")
    # Restore at t=100; verify started at 103.39 (VIP still on afrodita), hera took it over at
    # 103.60-103.63 (no holder), verify read hera and returned green at 103.9.
    samples = [Sample(100.0, ("afrodita",)), Sample(103.6, ()), Sample(103.63, ("hera",)), Sample(110.0, ("hera",))]
    since = healthy_since(None, 100.0, green_end=103.9)
    assert since == 103.9 and no_holder_seconds(samples, since, 110.0) == 0.0
    assert healthy_since({"exit": 0, "changed": 1}, 100.0, 101.0) == 100.0  # deploy said healthy: from then
    assert healthy_since({"exit": 1, "changed": 1}, 100.0, None) is None


# ------------------------------------------------------------------ report


def test_summary_and_plain_report():
    rounds = [good(), good(round=2, fault="node-crash", repair="restore", first_deploy=None, failed=40,
                           served_again_s=None, second_deploy={"exit": 0, "changed": 1})]
    for r in rounds:
        r["broken"] = broken_rules(r)
    doc = {"site": "lab", "seed": 5, "rate": 100.0, "rounds": rounds, "summary": summary(rounds)}
    assert doc["summary"]["broken_rounds"] == [2]
    assert doc["summary"]["per_fault"]["node-crash"]["max_served_again_s"] is None
    buffer = io.StringIO()
    print_summary(doc, Plain(buffer))
    text = buffer.getvalue()
    assert "Prueba de resistencia en el sitio lab: 2 rondas, semilla 5, 100 peticiones/s" in text
    assert "no volvió" in text and "restaurar" in text
    assert "✗ ronda 2 (node-crash): el deploy siguiente no quedó sin cambios (código 0, 1 cambio(s))" in text
    assert text.rstrip().endswith("1 ronda(s) rompen las reglas: 2 (ronda media 20 s)")
    assert "\x1b[" not in text


# ------------------------------------------------------------------ CLI refusals



@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "olimpo"], "el sitio 'olimpo' no es un laboratorio: la prueba de resistencia solo se ejecuta"),
        (["--faults", "meteorito"], "fallo desconocido 'meteorito'"),
        (["--rounds", "0"], "--rounds debe estar entre"),
        (["--rate", "mucho"], "--rate debe ser un número"),
        (["--json", "/no/existe/soak.json"], "no existe la carpeta de /no/existe/soak.json"),
    ],
)
def test_cli_refuses_without_touching_anything(tripwire, args, message):
    env, log = tripwire
    done = subprocess.run([sys.executable, "-m", "invoke", "soak", *args], cwd=REPO, capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""
    assert not log.exists(), log.read_text()


# ------------------------------------------------------------------ the page's figures


def test_soak_figures_render_from_result_files_and_a_missing_soak_is_a_clear_error():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from soak_summary import soak_figures

    from runbook.site.results import ResultsError, soak_markdown

    rounds = [good(), good(round=2, fault="haproxy-parado", failed=220, served_again_s=2.3)]
    for r in rounds:
        r["broken"] = broken_rules(r)
    doc = {"site": "lab", "seed": 7, "rate": 100.0, "when": "2026-12-05T06:00:00Z", "machine": {"host": "m", "cpus": 2,
           "kernel": "6.1"}, "rounds": rounds, "summary": summary(rounds)}
    figures = soak_figures([doc], ["Semilla 7: nada que arreglar."])
    text = soak_markdown({"soak": figures})
    assert "1 pruebas, 2 rondas, 0 rondas que rompieron las reglas" in text
    assert "| 7 | 2 | 100 | 232 | ninguna | 20 s |" in text
    assert "| `haproxy-parado` | 1 | 220 | 220 | 2,30 s |" in text
    assert "- Semilla 7: nada que arreglar." in text
    with pytest.raises(ResultsError, match="no tienen la prueba de resistencia"):
        soak_markdown({})
