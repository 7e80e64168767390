"""Secrets that stay secret: masked by position everywhere, files and their copies never too open.

Masking by value only knows today's password; a node still holding an old
one must not print it in verify's table, JSON or JUnit, nor in deploy's
`--check` diff, messages or transcript. One SecretMask does it for both.
Files holding a secret are created private before their content is
written, and their backups never copy an old, wider mode.
"""

from __future__ import annotations

import io
import json
import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import invoke
import pytest
from test_verify_unit import file_state

from runbook.checks import Kind, NodeFacts, Probe, Status, build_registry
from runbook.deploy.diff import predict_action
from runbook.deploy.executor import Shell, apply_file
from runbook.deploy.facts import FactsQuery, gather
from runbook.deploy.transcript import Transcript
from runbook.facts.files import FileContent, FileState
from runbook.plan.build import load_plan
from runbook.plan.copies import backup_path, temp_path, too_open
from runbook.plan.masking import SecretMask
from runbook.plan.steps import FileAction
from runbook.verify import render
from runbook.verify.run import Report, Result

NEW = "Nueva-Clave.2024"
OLD = "Vieja-Clave.1999"
SECRETS = {"stats_password": NEW}
MARKER = "@@SECRETO_stats_password@@"
STALE = "@@SECRETO_stats_password_anterior@@"
TEMPLATE = f"global\n    daemon\nlisten stats\n    stats uri /stats\n    stats auth admin:{MARKER}\n    stats refresh 10s\n"


@pytest.fixture(scope="module")
def plan():
    return load_plan("lab")


def _haproxy(plan, node: str = "hera") -> FileAction:
    return next(a for a in plan.actions(node) if isinstance(a, FileAction) and a.path == "/etc/haproxy/haproxy.cfg")


# Ways an old password sits on a node, each must be hidden (class: masking by position).
OLD_LINES = [
    ("same-line", f"    stats auth admin:{OLD}\n"),
    ("other-user", f"    stats auth operador:{OLD}\n"),
    ("extra-spaces", f"    stats   auth  admin:{OLD}\n"),
    ("upper-case", f"    STATS AUTH admin:{OLD}\n"),
    ("commented", f"    # stats auth admin:{OLD}\n"),
    ("trailing-text", f"    stats auth admin:{OLD} # cambiada el lunes\n"),
    ("tab-indented", f"\tstats auth admin:{OLD}\n"),
    ("other-directive", f"    user admin insecure-password {OLD}\n"),
    ("moved-and-duplicated", f"    stats auth admin:{OLD}\n    stats auth admin:{OLD}2\n"),
]


@pytest.mark.parametrize(("case", "line"), OLD_LINES, ids=[c for c, _ in OLD_LINES])
def test_an_old_password_never_shows_in_a_file_diff(case, line):
    mask = SecretMask(SECRETS, [TEMPLATE])
    node = TEMPLATE.replace(f"    stats auth admin:{MARKER}\n", line)
    diff = mask.file_diff(node, TEMPLATE, "hera:/etc/haproxy/haproxy.cfg", "sitio:/etc/haproxy/haproxy.cfg")
    assert OLD not in diff
    assert STALE in diff, diff
    assert f"+    stats auth admin:{MARKER}\n" in diff
    assert "stats refresh 10s" in diff or "-" not in diff.replace("---", "")


def test_todays_password_is_its_marker_and_an_unchanged_file_has_no_diff():
    mask = SecretMask(SECRETS, [TEMPLATE])
    node = TEMPLATE.replace(MARKER, NEW)
    assert mask.file_text(node, TEMPLATE) == TEMPLATE
    assert mask.file_diff(node, TEMPLATE, "a", "b") == ""


def test_a_secret_alone_on_a_line_is_masked_where_the_diff_pairs_it():
    template = f"usuario\n{MARKER}\nfin\n"
    mask = SecretMask(SECRETS, [template])
    diff = mask.file_diff(f"usuario\n{OLD}\nfin\n", template, "a", "b")
    assert OLD not in diff and STALE in diff


def test_any_text_shown_is_masked_by_position_too():
    mask = SecretMask(SECRETS, [TEMPLATE])
    output = f"[ALERT] línea 33: 'stats auth admin:{OLD}' rara\n    stats auth admin:{OLD}\nuso {NEW}\n"
    shown = mask.text(output)
    assert OLD not in shown.splitlines()[1] and NEW not in shown
    assert shown.splitlines()[2] == f"uso {MARKER}"


def test_deploy_check_diff_uses_the_same_masking(plan):
    action = _haproxy(plan)
    mask = SecretMask.for_plan(plan, SECRETS)
    node = action.content.replace(MARKER, OLD).replace("stats auth admin:", "stats auth otro:")
    diff = mask.file_diff(node.encode(), action.content, f"{action.path} (en el nodo)", "plan")
    assert OLD not in diff and STALE in diff and diff.startswith("--- /etc/haproxy/haproxy.cfg (en el nodo)")


def test_transcript_never_holds_an_old_password(tmp_path, plan):
    transcript = Transcript("lab", SECRETS, directory=tmp_path, mask=SecretMask.for_plan(plan, SECRETS))
    transcript.command("hera", "haproxy", "haproxy -c -f x", 1, 0.0,
                       stdout=f"    stats auth admin:{OLD}\n", stderr=f"clave actual {NEW}")
    transcript.close()
    text = transcript.path.read_text()
    assert OLD not in text and NEW not in text and STALE in text


# ------------------------------------------------------------ verify: table, JSON, JUnit


def _facts_with_old_password(plan, registry_check, node: str) -> NodeFacts:
    action = _haproxy(plan, node)
    content = action.content.replace(MARKER, OLD)
    probes = {FileContent(action.path).key: Probe(0, content),
              FileState(action.path).key: file_state(action.path, content, "640 root haproxy")}
    return NodeFacts(node, probes)


def test_verify_after_a_password_change_shows_no_old_password(plan):
    registry = build_registry(plan, SECRETS)
    check = next(c for c in registry.node if c.id == "fichero-haproxy")
    outcome = check.evaluate("hera", _facts_with_old_password(plan, check, "hera"))
    assert outcome.status == Status.FAILED
    assert OLD not in outcome.diff and f"-    stats auth admin:{STALE}" in outcome.diff
    report = Report(site="lab", results=[Result("fichero-haproxy", check.title, "hera", Kind.STATE, outcome.status,
                                                outcome.detail, "haproxy", "Configurar HAProxy",
                                                "site/instalacion.html#haproxy", outcome.diff)])
    for fmt in ("table", "json", "junit"):
        text = render(report, fmt)
        assert OLD not in text and NEW not in text, fmt
        assert STALE in text, fmt
    assert json.loads(render(report, "json"))["results"][0]["diff"] == outcome.diff
    assert STALE in ET.fromstring(render(report, "junit").encode()).find(".//failure").text


# ------------------------------------------------------------ copies and modes


@pytest.mark.parametrize(
    ("mode", "owner", "group", "open_"),
    [
        (0o640, "root", "haproxy", False),
        (0o600, "root", "root", False),
        (0o644, "root", "haproxy", True),
        (0o660, "root", "haproxy", True),
        (0o640, "root", "adm", True),
        (0o600, "haproxy", "haproxy", True),
        (0o400, "root", "adm", False),
    ],
)
def test_a_copy_is_too_open_when_it_grants_more_than_the_file(mode, owner, group, open_):
    assert too_open(mode, owner, group, 0o640, "root", "haproxy") is open_


class WatchingContext(invoke.Context):
    """A local Context that notes every command and, at upload time, the temp file's mode."""

    def __init__(self):
        super().__init__()
        self.events: list[str] = []

    def run(self, command, **kwargs):
        self.events.append(f"run {command}")
        return super().run(command, **kwargs)

    def put(self, data: io.BytesIO, remote: str) -> None:
        info = os.stat(remote)  # must already exist, private, before any byte is written
        self.events.append(f"put {remote} {stat.S_IMODE(info.st_mode):o} {info.st_size}")
        Path(remote).write_bytes(data.getvalue())


def _action(path: Path, mode: str = "0640") -> FileAction:
    return FileAction(node="hera", step="haproxy", path=str(path), content=f"stats auth admin:{MARKER}\n",
                      mode=mode, owner="root", group="root")


@pytest.mark.root(reason="chown a root:root necesita root")
def test_new_content_is_never_in_a_file_more_open_than_its_mode(tmp_path):
    target = tmp_path / "haproxy.cfg"
    target.write_text(f"stats auth admin:{OLD}\n")
    target.chmod(0o644)  # as an old deploy left it
    Path(backup_path(str(target))).write_text("más vieja\n")
    Path(backup_path(str(target))).chmod(0o644)
    ctx = WatchingContext()
    sh = Shell(ctx, "hera", SECRETS, Transcript("unit", SECRETS, directory=tmp_path / "runs"))
    action = _action(target)
    prediction = predict_action(action, gather(sh, FactsQuery.build(files=[str(target)])), SECRETS)
    assert prediction.status == Status.CHANGED and prediction.content_changed
    apply_file(sh, action, prediction)
    put = next(e for e in ctx.events if e.startswith("put "))
    assert put == f"put {temp_path(str(target))} 640 0"
    first = ctx.events.index(put)
    assert any("umask 077" in e for e in ctx.events[:first])
    assert target.read_text() == f"stats auth admin:{NEW}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    backup = Path(backup_path(str(target)))
    assert backup.read_text() == f"stats auth admin:{OLD}\n" and stat.S_IMODE(backup.stat().st_mode) == 0o640
    assert not Path(temp_path(str(target))).exists()


@pytest.mark.root(reason="chown a root:root necesita root")
def test_an_open_backup_alone_is_a_change_and_deploy_closes_it(tmp_path):
    target = tmp_path / "haproxy.cfg"
    target.write_text(f"stats auth admin:{NEW}\n")
    target.chmod(0o640)
    backup, tmp = Path(backup_path(str(target))), Path(temp_path(str(target)))
    backup.write_text(f"stats auth admin:{OLD}\n")
    backup.chmod(0o644)
    tmp.write_text("a medias\n")
    tmp.chmod(0o666)
    sh = Shell(invoke.Context(), "hera", SECRETS)
    action = _action(target)
    facts = gather(sh, FactsQuery.build(files=[str(target)]))
    assert {c[0] for c in facts.files[str(target)].copies} == {str(backup), str(tmp)}
    prediction = predict_action(action, facts, SECRETS)
    assert prediction.status == Status.CHANGED and prediction.meta_changed and not prediction.content_changed
    assert "más abierta que el fichero" in prediction.reason
    apply_file(sh, action, prediction)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o640 and not tmp.exists()
    assert predict_action(action, gather(sh, FactsQuery.build(files=[str(target)])), SECRETS).status == Status.OK


def test_verify_flags_a_copy_more_open_than_the_file(plan):
    registry = build_registry(plan, SECRETS)
    check = next(c for c in registry.node if c.id == "fichero-haproxy")
    action = _haproxy(plan)
    content = action.content.replace(MARKER, NEW)
    state = FileState(action.path).key
    probes = {FileContent(action.path).key: Probe(0, content),
              state: file_state(action.path, content, "640 root haproxy",
                                "640 root haproxy /etc/haproxy/.haproxy.cfg.runbook-bak\n")}
    assert check.evaluate("hera", NodeFacts("hera", probes)).status == Status.PASSED
    probes[state] = file_state(action.path, content, "640 root haproxy", "644 root root /etc/haproxy/.haproxy.cfg.runbook-bak\n")
    outcome = check.evaluate("hera", NodeFacts("hera", probes))
    assert outcome.status == Status.FAILED and outcome.diff == ""
    assert "la copia /etc/haproxy/.haproxy.cfg.runbook-bak tiene permisos 644 root root" in outcome.detail
    probes[state] = file_state(action.path, content, "644 root root")
    assert "permisos '644 root root', se esperaba '640 root haproxy'" in check.evaluate(
        "hera", NodeFacts("hera", probes)).detail
