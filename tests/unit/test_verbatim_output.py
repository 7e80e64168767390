"""The plan shown is the plan run: data printed verbatim and whole, at any width.

A procedure full of hostile strings (Rich markup, emoji codes, tabs, a
300-character command, a heredoc) is planned through the real `./rb plan`
at 40 and 200 columns, with and without colour; every command, guard,
path, validation and on-change command of `--json` must appear in the
plain output exactly, whole, in order. Deploy's progress lines and recap and
verify's report are held to the same rule.
"""

from __future__ import annotations

import io
import json
import re
import shutil

import pytest
from rich.console import Console
from support.hostile_cases import DATA, run_cli

from runbook.checks import Kind, Status
from runbook.deploy.outcome import ActionResult
from runbook.deploy.report import ConsoleReporter, print_recap
from runbook.deploy.runner import DeployResult
from runbook.verify import render
from runbook.verify.report import print_table
from runbook.verify.run import Report, Result

LONG = "echo " + "muy-larga-" * 30  # 305 characters: more than any terminal line
HOSTILE_STEP = """
  - id: hostil
    title: "Título [/] con [bold]marcas[/bold], :thumbs_up: y [a-z]"
    explanation: Cadenas que una biblioteca de consola querría interpretar.
    actions:
      - run: "printf '%s\\\\n' [a-z] [/] '[bold]x[/bold]' :smile: \\"$HOME\\" && """ + LONG + """"
        unless: "grep -q '[[:space:]]\\t[a-z]' /etc/hosts"
      - run: |
          cat <<'FIN' > /tmp/hostil
          línea con [red]color[/red] y \\[escapada]
          \tun tabulador al principio
          FIN
      - file: /etc/hostil/a-b_c.conf
        template: sysctl-nonlocal-bind.j2
        validate: "test -s %s && grep -q '[a-z]' %s"
        apply: "sysctl -p /etc/hostil/a-b_c.conf || echo '[/]'"
"""
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def hostile_data(tmp_path_factory):
    data = tmp_path_factory.mktemp("datos")
    for f in DATA.glob("*.yaml"):
        shutil.copy(f, data / f.name)
    procedure = data / "procedure.yaml"
    text = procedure.read_text()
    # The hostile step goes last among the steps (the look-only commands follow them).
    head, sep, tail = text.partition("\nobservations:")
    procedure.write_text(head.rstrip("\n") + "\n" + HOSTILE_STEP + sep + tail)
    return data


@pytest.fixture(scope="module")
def planned(hostile_data) -> list[dict]:
    result = run_cli(["plan", "--site", "lab", "--json"], hostile_data)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def _expected_fragments(items: list[dict]) -> list[str]:
    """What the plain output must hold for each action, in plan order, each fragment whole."""
    out = []
    for item in items:
        if item["kind"] == "run":
            out.append(f"{item['node']} · ejecuta: {item['command']}\n")
            if item["unless"]:
                out.append(f"salvo si: {item['unless']}\n")
        else:
            out.append(f"{item['node']} · fichero {item['path']} ({item['mode']} {item['owner']}:{item['group']})\n")
            if item["validate"]:
                out.append(f"valida: {item['validate']}\n")
            if item["on_change"]:
                out.append(f"si cambia: {item['on_change']}\n")
    return out


def _assert_in_order(text: str, fragments: list[str]) -> None:
    position = 0
    for fragment in fragments:
        found = text.find(fragment, position)
        assert found >= 0, f"no aparece entero y en orden: {fragment!r}"
        position = found + len(fragment)


@pytest.mark.parametrize("columns", ["40", "200"])
@pytest.mark.parametrize("colour", [False, True], ids=["sin-color", "con-color"])
def test_plain_plan_holds_every_command_of_the_json_verbatim(hostile_data, planned, columns, colour):
    env = {"COLUMNS": columns, "NO_COLOR": "" if colour else "1"}
    if colour:
        env["FORCE_COLOR"] = "1"
    result = run_cli(["plan", "--site", "lab"], hostile_data, env=env)
    assert result.code == 0, result.stderr
    text = result.stdout
    assert bool(ANSI.search(text)) == colour
    hostile = [i for i in planned if i["step"] == "hostil"]
    assert len(hostile) == 6 and any(len(i.get("command") or "") > 300 for i in hostile)
    # Styles only wrap labels: without them the lines are exactly the expected ones, and
    # every piece of data sits unbroken in the raw output too.
    _assert_in_order(ANSI.sub("", text), _expected_fragments(planned))
    for item in planned:
        for key in ("command", "unless", "path", "validate", "on_change"):
            if item.get(key):
                assert item[key] in text, item[key]
    assert "hostil · Título [/] con [bold]marcas[/bold], :thumbs_up: y [a-z]\n" in ANSI.sub("", text)
    assert "…" not in text


def test_the_comparison_notices_a_changed_command(planned):
    # The check above must be able to fail: one character off and the fragment is missing.
    fragments = _expected_fragments(planned)
    text = "".join(fragments).replace("[a-z]", "a-z", 1)
    with pytest.raises(AssertionError):
        _assert_in_order(text, fragments)


# ------------------------------------------------------------------ deploy


def _console(width: int = 40) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=width, force_terminal=False, color_system=None), buffer


def test_deploy_progress_lines_and_recap_print_targets_whole():
    console, buffer = _console()
    command = f"printf '[a-z] [/]\\t' && {LONG}"
    reporter = ConsoleReporter(console, ["hera"], check=False)
    outcome = ActionResult("hera", "hostil", "run", command, Status.FAILED, message="falló: [/] salida\tcon tab")
    reporter.outcome(outcome)
    reporter.outcome(ActionResult("hera", "hostil", "file", "/etc/x.conf", Status.CHANGED, diff="-a [b]\n+" + LONG + "\n"))
    reporter.error("hera · paso hostil: [/] no [bold]cierra")
    result = DeployResult(site="lab", check=False, nodes=["hera"], outcomes=[outcome],
                          errors=["hera · paso hostil: [/] " + LONG])
    print_recap(console, result)
    text = buffer.getvalue()
    assert command in text and "falló: [/] salida\tcon tab" in text
    assert "-a [b]\n" in text and "+" + LONG + "\n" in text
    assert "error: hera · paso hostil: [/] no [bold]cierra\n" in text
    assert "✗ hera · paso hostil: [/] " + LONG + "\n" in text
    assert "..." not in text and "…" not in text


# ------------------------------------------------------------------ verify


def test_verify_report_prints_details_and_diffs_whole_at_any_width():
    detail = "se esperaba: `[a-z]` Se obtuvo (código 1): [/] " + LONG
    diff = "--- hera:/etc/x\n+++ sitio:/etc/x\n@@ -1 +1 @@\n-[red]viejo[/red] " + LONG + "\n+nuevo\n"
    report = Report(site="lab", results=[Result("c-[x]", "Título [/]", "hera", Kind.DOCUMENTED, Status.FAILED,
                                                 detail, "paso", "Paso [bold]", "site/x.html#paso", diff)])
    console, buffer = _console(width=40)
    print_table(report, console)
    text = buffer.getvalue()
    assert f"(c-[x]): {detail}\n" in text
    for line in diff.splitlines():
        assert f"      {line}\n" in text
    assert "paso «Paso [bold]»: site/x.html#paso" in text
    assert json.loads(render(report, "json"))["results"][0]["detail"] == detail
