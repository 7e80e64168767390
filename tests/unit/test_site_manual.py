"""The by-hand transformation: plan actions -> what a person types, exactly and deterministically.

The strongest check runs the typed commands for real (bash, in a temporary
directory standing in for the node's files) and compares the result with the
plan: the same bytes, the same mode, validated before it replaced the old file.
"""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from runbook.data.load import PUBLISHED_SITE
from runbook.plan.build import load_plan
from runbook.plan.steps import FileAction, RunAction
from runbook.site.manual import (
    CANDIDATE_SUFFIX,
    candidate_path,
    hand_commands,
    heredoc,
    placeholder,
    with_placeholders,
)


def _file(path: str, content: str, **kw) -> FileAction:
    fields = {"node": "hera", "step": "s", "path": path, "content": content, "mode": "0644",
              "owner": "root", "group": "root"} | kw
    return FileAction(**fields)


def _run_as_typed(commands, tmp_path) -> subprocess.CompletedProcess:
    script = "set -e\n" + "\n".join(with_placeholders(c.text) for c in commands) + "\n"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=30)


def test_a_run_action_is_its_command_unchanged():
    action = RunAction("hera", "s", "apt-get update && apt-get install -y haproxy", unless="dpkg -s haproxy")
    [command] = hand_commands(action)
    assert (command.role, command.text) == ("run", action.command)


def test_a_validated_file_is_written_aside_checked_moved_and_applied(tmp_path):
    target = tmp_path / "etc" / "demo.cfg"
    target.parent.mkdir()
    target.write_text("viejo\n")
    content = "línea con $HOME, `comillas` y \\ barra\nEOF\nfin\n"
    log = tmp_path / "log"
    action = _file(str(target), content, validate=f"grep -q fin %s && echo valid %s >> {log}",
                   on_change=f"echo aplicado >> {log}", validate_output="")
    commands = hand_commands(action)
    assert [c.role for c in commands] == ["write", "validate", "install", "apply"]
    candidate = str(target) + CANDIDATE_SUFFIX
    assert commands[1].text == action.validate_command(candidate) and "%s" not in commands[1].text
    result = _run_as_typed(commands, tmp_path)
    assert result.returncode == 0, result.stderr
    assert target.read_text() == content  # byte for byte, nothing expanded
    assert not os.path.exists(candidate)
    assert log.read_text() == f"valid {candidate}\naplicado\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_the_heredoc_delimiter_never_collides_with_the_content():
    text = heredoc("/etc/x", "EOF\nEOF2\nfin\n")
    first, *_body, last = text.splitlines()
    assert first == "cat > /etc/x <<'EOF3'" and last == "EOF3"


def test_content_without_a_final_newline_is_refused():
    with pytest.raises(ValueError, match="salto de línea"):
        heredoc("/etc/x", "sin salto")


def test_owner_and_mode_only_when_they_differ_from_a_new_file():
    plain = hand_commands(_file("/etc/a.conf", "x\n"))
    assert [c.role for c in plain] == ["write"]
    guarded = hand_commands(_file("/etc/haproxy/haproxy.cfg", "x\n", mode="0640", group="haproxy",
                                  validate="haproxy -c -f %s"))
    perms = next(c for c in guarded if c.role == "perms")
    assert perms.text.splitlines() == [
        "chown root:haproxy /etc/haproxy/haproxy.cfg.nuevo",
        "chmod 0640 /etc/haproxy/haproxy.cfg.nuevo",
    ]
    # Before the validation, as deploy does: the checked file is the one installed.
    assert [c.role for c in guarded].index("perms") < [c.role for c in guarded].index("validate")


def test_mode_typed_by_hand_is_the_plans(tmp_path):
    target = tmp_path / "secreto.cfg"
    action = _file(str(target), "x\n", mode="0600")
    result = _run_as_typed(hand_commands(action), tmp_path)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_secrets_become_a_placeholder_the_reader_replaces():
    action = _file("/etc/haproxy/haproxy.cfg", "stats auth admin:@@SECRETO_stats_password@@\n",
                   validate="haproxy -c -f %s")
    write = hand_commands(action)[0]
    assert "@@SECRETO_stats_password@@" in write.text  # the plan's marker; the page swaps it
    assert with_placeholders(write.text).count(placeholder("stats_password")) == 1
    assert placeholder("stats_password") == "pon aquí tu contraseña"
    assert "nano /etc/haproxy/haproxy.cfg.nuevo" in write.after and "historial" in write.after


def test_every_action_of_the_published_plan_has_a_by_hand_form():
    plan = load_plan(PUBLISHED_SITE)
    for action in plan.actions():
        commands = hand_commands(action)
        assert commands, action
        assert all("%s" not in c.text for c in commands)
        if isinstance(action, FileAction) and action.validate:
            assert candidate_path(action) in commands[0].text.splitlines()[0]
        # Deterministic: the same action gives the same commands.
        assert hand_commands(action) == commands


def test_a_file_in_a_systemd_drop_in_folder_is_written_after_making_the_folder(tmp_path):
    action = _file("/etc/systemd/system/keepalived.service.d/reinicio.conf", "[Service]\nRestart=always\n")
    commands = hand_commands(action)
    assert [c.role for c in commands][:2] == ["mkdir", "write"]
    assert commands[0].text == "mkdir -p /etc/systemd/system/keepalived.service.d"
    # Every other folder of the procedure comes with Debian or with its package.
    assert [c.role for c in hand_commands(_file("/etc/haproxy/haproxy.cfg", "x\n"))] == ["write"]
