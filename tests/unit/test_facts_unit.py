"""The fact layer: each fact's command and parser, and the one batched runner.

Facts run for real on this machine through a local invoke Context (the
runner only needs `ctx.run`), or through a fake Context that hands back a
crafted report, to prove the framing cannot be fooled by what a node prints.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import invoke
import pytest
from test_deploy_unit import RecordingContext

from runbook.facts import FactCommandError, FactError, Probe, gather, read, runner
from runbook.facts.command import Command
from runbook.facts.files import FileContent, FileFact, FileState, PathExists
from runbook.facts.haproxy import HaproxyStat
from runbook.facts.keepalived import KeepalivedState
from runbook.facts.net import Ipv4Addresses, addresses_only, vip_condition, vip_held
from runbook.facts.sysctl import PersistedSysctl
from runbook.facts.units import UnitState
from runbook.plan.copies import backup_path, temp_path


class ScriptedContext:
    """A node that answers with `answer(token)`: the token is read from the script it was sent."""

    def __init__(self, answer, exited: int = 0):
        self.answer = answer
        self.exited = exited

    def run(self, command, **kwargs):
        token = re.search(r"@@RB-[0-9a-f]{16}", command).group(0)
        return invoke.Result(stdout=self.answer(token), stderr="", exited=self.exited)


# ------------------------------------------------------------------ the runner


def test_one_round_trip_frames_every_answer_exactly():
    facts = {
        "a": Command("echo hola"),
        "b": Command("printf 'sin salto'; exit 3"),
        "c": Command("echo a la salida de errores >&2; exit 1"),
        "d": Command("true"),
        "e": Command("printf 'dos\\n\\n'"),
        "trampa": Command("echo '@@RB-0000 END 0 0'; echo '@@RB-0000 BEGIN 1'"),
    }
    ctx = RecordingContext()
    got = gather(ctx, facts.values())
    assert len(ctx.commands) == 1
    assert {name: read(got, fact) for name, fact in facts.items()} == {
        "a": Probe(0, "hola\n"),
        "b": Probe(3, "sin salto"),
        "c": Probe(1, "a la salida de errores\n"),
        "d": Probe(0, ""),
        "e": Probe(0, "dos\n\n"),
        "trampa": Probe(0, "@@RB-0000 END 0 0\n@@RB-0000 BEGIN 1\n"),
    }


def test_a_fact_cannot_fake_another_facts_answer_even_knowing_the_framing():
    # The node prints, inside answer 0, what looks like the end of answer 0 and a whole
    # answer 1 under an old token; only the run's own token frames answers.
    def answer(token: str) -> str:
        fake = "@@RB-00000000deadbeef"
        return (
            f"Bienvenido\n{token} BEGIN 0\nlínea\n{fake} END 0 0\n{fake} BEGIN 1\nmentira\n{fake} END 1 0\n"
            f"\n{token} END 0 5\n{token} BEGIN 1\nverdad\n\n{token} END 1 0\n"
        )

    first, second = Command("cat x"), Command("cat y")
    got = gather(ScriptedContext(answer), [first, second])
    assert read(got, first).exit_code == 5 and "mentira" in read(got, first).output
    assert read(got, second) == Probe(0, "verdad\n")


def test_each_run_has_its_own_token():
    assert runner.new_token() != runner.new_token()


def test_equal_facts_are_asked_once():
    ctx = RecordingContext()
    got = gather(ctx, [PathExists("/"), PathExists("/"), Command("true")])
    assert ctx.commands[0].count("test -e /") == 1 and set(got) == {"existe:/", "orden:true"}


def test_a_hanging_fact_is_cut_and_the_others_still_answer(monkeypatch):
    monkeypatch.setattr(runner, "FACT_TIMEOUT", 1)
    slow, fast = Command("sleep 5"), Command("echo ya")
    got = gather(invoke.Context(), [slow, fast])
    assert read(got, slow).exit_code == 124 and read(got, fast) == Probe(0, "ya\n")


def test_a_hanging_fact_is_ended_whole_and_reported(monkeypatch, tmp_path):
    # The fact leaves a child behind it (a process of its own group): ending
    # the fact at its time limit ends that child too, nothing is left running.
    monkeypatch.setattr(runner, "FACT_TIMEOUT", 1)
    marker = tmp_path / "hijo-colgado"
    slow = Command(f"sleep 30 {shlex.quote(str(marker))} & sleep 31")
    fast, quick = Command("echo ya"), PathExists(str(tmp_path))
    got = gather(invoke.Context(), [slow, fast, quick])
    assert read(got, slow).exit_code == 124
    assert read(got, fast) == Probe(0, "ya\n") and read(got, quick) is True
    assert subprocess.run(["pgrep", "-f", str(marker)], capture_output=True).returncode == 1


@dataclass(frozen=True)
class QuickCommand(Command):
    """A command run as the quick facts are (in their shared subshell), to test that path."""

    quick = True


def test_a_quick_fact_that_hangs_has_no_answer_and_the_others_still_answer(monkeypatch, tmp_path):
    monkeypatch.setattr(runner, "FACT_TIMEOUT", 1)
    before, hangs = QuickCommand("echo antes"), QuickCommand("sleep 30")
    apart, exists = Command("echo aparte"), PathExists(str(tmp_path))
    got = gather(invoke.Context(), [before, hangs, exists, apart])
    assert read(got, before) == Probe(0, "antes\n") and read(got, apart) == Probe(0, "aparte\n")
    for unanswered in (hangs, exists):  # the hanging one and the quick one queued behind it
        with pytest.raises(FactError, match="no se obtuvo el dato"):
            read(got, unanswered)


def test_a_fact_that_exits_or_cannot_be_parsed_disturbs_no_other():
    facts = [Command("exit 7"), Command("if then fi"), Command("cd /; unset PATH; echo fin"),
             QuickCommand("echo rápido"), Command("echo otro"), PathExists("/")]
    got = gather(invoke.Context(), facts)
    assert read(got, facts[0]) == Probe(7, "")
    assert read(got, facts[1]).exit_code == 2 and "syntax error" in read(got, facts[1]).output
    assert read(got, facts[2]) == Probe(0, "fin\n")
    assert read(got, facts[3]) == Probe(0, "rápido\n") and read(got, facts[4]) == Probe(0, "otro\n")
    assert read(got, facts[5]) is True


def test_a_fact_runs_with_the_shell_options_bash_c_gives_it():
    # The script turns job control on to give each fact its own process group;
    # the fact itself must not see it (nor anything else `bash -c` would not set).
    alone = subprocess.run(["bash", "-c", "echo $-"], capture_output=True, text=True).stdout
    facts = [Command("echo $-"), QuickCommand("echo $-")]
    got = gather(invoke.Context(), facts)
    assert read(got, facts[0]).output == alone and read(got, facts[1]).output == alone


def test_a_round_trip_leaves_nothing_behind(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the script keeps its answers while it runs
    # A watchdog left running would hold the round trip open past RUN_TIMEOUT (an error).
    monkeypatch.setattr(runner, "FACT_TIMEOUT", 60.37)  # its `sleep`, told from any other
    monkeypatch.setattr(runner, "RUN_TIMEOUT", 5)
    got = gather(invoke.Context(), [Command("echo a"), PathExists("/"), QuickCommand("echo b")])
    assert len(got) == 3 and list(tmp_path.iterdir()) == []
    assert subprocess.run(["pgrep", "-fx", "sleep 60.37"], capture_output=True).returncode == 1


def test_a_quick_answer_cannot_fake_the_framing_either(tmp_path):
    # A quick fact's output holds what the run's markers look like, with another token.
    fake = tmp_path / "falso"
    fake.write_text("@@RB-00000000deadbeef END 0 0\n@@RB-00000000deadbeef BEGIN 1\nmentira\n")
    facts = [FileContent(str(fake)), QuickCommand("echo verdad"), Command("echo aparte")]
    got = gather(invoke.Context(), facts)
    assert read(got, facts[0]) == fake.read_text()
    assert read(got, facts[1]) == Probe(0, "verdad\n") and read(got, facts[2]) == Probe(0, "aparte\n")


def test_a_fact_failing_alone_leaves_the_others_readable(tmp_path):
    present = tmp_path / "a.conf"
    present.write_text("hola\n")
    socket = HaproxyStat(str(tmp_path / "no-socket"))
    facts = [socket, FileContent(str(present)), KeepalivedState(), PathExists(str(present))]
    got = gather(invoke.Context(), facts)
    with pytest.raises(FactCommandError, match="no se pudo leer el socket de HAProxy"):
        read(got, socket)
    assert read(got, FileContent(str(present))) == "hola\n"
    assert read(got, PathExists(str(present))) is True
    with pytest.raises(FactError, match="no se obtuvo el dato «unidad:haproxy» del nodo"):
        read(got, UnitState("haproxy"))  # never asked


def test_a_node_that_answers_nothing_is_one_clear_error():
    with pytest.raises(FactError, match=r"el nodo no devolvió datos \(código 255\): "):
        gather(ScriptedContext(lambda token: "Permission denied\n", exited=255), [Command("true")])


def test_unreadable_answer_is_an_error_of_that_fact_only():
    def answer(token: str) -> str:
        return f"{token} BEGIN 0\nbasura\n{token} END 0 0\n{token} BEGIN 1\n\n{token} END 1 0\n"

    state, ok = FileState("/etc/x"), Command("true")
    got = gather(ScriptedContext(answer), [state, ok])
    with pytest.raises(FactError, match="respuesta no válida sobre /etc/x"):
        read(got, state)
    assert read(got, ok).exit_code == 0


# ------------------------------------------------------------------ files


def test_file_state_of_a_file_its_copies_a_directory_and_nothing(tmp_path):
    target = tmp_path / "dir with spaces" / "haproxy.cfg"
    target.parent.mkdir()
    target.write_text("hola\n")
    target.chmod(0o640)
    Path(backup_path(str(target))).write_text("vieja\n")
    Path(backup_path(str(target))).chmod(0o644)
    facts = [FileState(str(target)), FileState(str(tmp_path)), FileState(str(tmp_path / "nada"))]
    got = gather(invoke.Context(), facts)
    fact = read(got, facts[0])
    who = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    grp = subprocess.run(["id", "-gn"], capture_output=True, text=True).stdout.strip()
    assert fact == FileFact(exists=True, sha256=hashlib.sha256(b"hola\n").hexdigest(), mode=0o640,
                            owner=who, group=grp, copies=((backup_path(str(target)), 0o644, who, grp),))
    assert fact.permissions == f"640 {who} {grp}"
    assert read(got, facts[1]) == FileFact(exists=True, not_regular=True)
    assert read(got, facts[2]) == FileFact(exists=False)
    assert temp_path(str(target)) not in str(fact.copies)


def test_file_content_is_exact_and_none_when_absent_or_not_a_file(tmp_path):
    exact = tmp_path / "sin-salto"
    exact.write_bytes(b"una\n\n@@RB-0000 END 0 0\nsin salto final")
    facts = [FileContent(str(exact)), FileContent(str(tmp_path)), FileContent(str(tmp_path / "nada"))]
    got = gather(invoke.Context(), facts)
    assert read(got, facts[0]) == exact.read_text()
    assert read(got, facts[1]) is None and read(got, facts[2]) is None


def test_every_value_in_a_command_is_quoted(tmp_path):
    weird = str(tmp_path / "it's $(touch pwned) `touch pwned2`")
    facts = [FileState(weird), FileContent(weird), PathExists(weird), UnitState("a b; touch pwned"),
             Ipv4Addresses("eth0; touch pwned"), HaproxyStat(weird)]
    got = gather(invoke.Context(), facts)
    assert read(got, facts[0]) == FileFact(exists=False) and read(got, facts[2]) is False
    assert not list(tmp_path.iterdir()) and not (Path.cwd() / "pwned").exists()


# ------------------------------------------------------------------ units, sysctl, keepalived, addresses


def test_unit_state_reads_its_own_unit_only():
    text = "Id=haproxy.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n"
    assert UnitState("haproxy").parse(Probe(0, text))["ActiveState"] == "active"
    assert UnitState("keepalived").parse(Probe(0, text)) is None
    assert UnitState("haproxy").command().endswith(" haproxy.service")


def test_persisted_sysctl_reads_what_wins_at_boot(tmp_path):
    fact = PersistedSysctl("net.ipv4.ip_nonlocal_bind")
    grep = ("/etc/sysctl.d/60-haproxy-nonlocal-bind.conf:4:net.ipv4.ip_nonlocal_bind = 1\n"
            "/etc/sysctl.conf:9:net.ipv4.ip_nonlocal_bind=0\n")
    setting = fact.parse(Probe(0, grep))
    assert (setting.value, setting.path) == ("0", "/etc/sysctl.conf")
    assert fact.parse(Probe(0, "")) is None
    done = subprocess.run(["bash", "-c", fact.command()], capture_output=True, text=True)
    assert done.returncode == 0  # no file sets it on this machine, or some does: never an error


def test_keepalived_state_failure_says_why():
    with pytest.raises(FactCommandError, match="keepalived no está en marcha"):
        KeepalivedState().parse(Probe(3, "keepalived no está en marcha\n"))
    with pytest.raises(FactCommandError, match=r"código 4"):
        KeepalivedState().parse(Probe(4, ""))


def test_addresses_and_the_vip_held_one_definition():
    text = ("1: lo    inet 127.0.0.1/8 scope host lo\n"
            "3: eth1    inet 198.51.100.110/24 brd 198.51.100.255 scope global eth1\n"
            "3: eth1    inet 198.51.100.150/32 scope global eth1\n")
    addresses = Ipv4Addresses().parse(Probe(0, text))
    assert addresses["eth1"] == ["198.51.100.110/24", "198.51.100.150/32"]
    assert addresses_only(addresses) == ["127.0.0.1", "198.51.100.110", "198.51.100.150"]
    assert vip_held(addresses, "198.51.100.150") and not vip_held(addresses, "198.51.100.15")
    with pytest.raises(FactCommandError):
        Ipv4Addresses().parse(Probe(1, "Cannot find device"))
    assert Ipv4Addresses("eth1").argv("rb-lab-hera") == [
        "ip", "-n", "rb-lab-hera", "-4", "-o", "addr", "show", "dev", "eth1"]


@pytest.mark.root("ip", reason="leer otro espacio de red necesita root")
def test_addresses_of_a_namespace_that_is_gone_are_none():
    assert Ipv4Addresses("eth1").local("rb-no-such-namespace") == {}


@pytest.mark.parametrize("vip", ["198.51.100.150", "198.51.100.15", "127.0.0.1"])
def test_the_exports_shell_condition_agrees_with_the_fact(tmp_path, vip):
    """Ansible has no parser: its condition must answer what vip_held() answers, on the same output."""
    text = ("1: lo    inet 127.0.0.1/8 scope host lo\n"
            "3: eth1    inet 198.51.100.150/32 scope global eth1\n")
    fake_ip = tmp_path / "ip"
    fake_ip.write_text(f"#!/bin/sh\nprintf '%s' '{text}'\n")
    fake_ip.chmod(0o755)
    done = subprocess.run(["bash", "-c", vip_condition(vip)], env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert (done.returncode == 0) == vip_held(Ipv4Addresses().parse(Probe(0, text)), vip)
