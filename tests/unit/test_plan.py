"""The plan is pure, complete and the same object the CLI prints."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from runbook.data.load import PUBLISHED_SITE, REPO_ROOT, load_procedure, load_site
from runbook.plan.build import PlanError, build_plan, load_plan


def test_plan_json_shape():
    plan = load_plan("lab")
    items = plan.to_json()
    assert items, "empty plan"
    for item in items:
        assert {"node", "step", "kind"} <= item.keys()
        if item["kind"] == "run":
            assert isinstance(item["command"], str) and item["command"]
        else:
            assert item["kind"] == "file"
            assert item["path"].startswith("/") and item["content"] and item["mode"].startswith("0")
    # Step order is the procedure's order, and each node gets every step.
    order = [s.id for s in load_procedure().steps if s.actions]
    seen = list(dict.fromkeys(i["step"] for i in items))
    assert seen == order
    assert {i["node"] for i in items} == {"hera", "afrodita"}


def test_plan_uses_each_nodes_own_values():
    plan = load_plan("olimpo")
    hera = plan.step("interfaz-lan").actions["hera"][0]
    afrodita = plan.step("interfaz-lan").actions["afrodita"][0]
    assert "address 192.168.1.110/24" in hera.content
    assert "address 192.168.1.111/24" in afrodita.content
    assert "gateway 192.168.1.1" in hera.content and "dns-nameservers 8.8.8.8" in hera.content
    assert not plan.step("interfaz-lan").actions_identical()
    assert plan.step("paquetes").actions_identical()


def test_secrets_never_in_plan(monkeypatch):
    monkeypatch.setenv("RUNBOOK_STATS_PASSWORD", "valor-que-no-debe-salir")
    text = json.dumps(load_plan(PUBLISHED_SITE).to_json())
    assert "valor-que-no-debe-salir" not in text
    assert "@@SECRETO_stats_password@@" in text


def test_conditional_step_is_marked():
    step = load_plan("lab").step("arranque-lento")
    assert step.when_file_exists == "/etc/init/failsafe.conf"
    assert [a.title for a in step.admonitions] == ["ERROR", "SOLUCIÓN"]


def test_service_reloads_are_rolling_steps():
    plan = load_plan("lab")
    assert [s.id for s in plan.steps if s.rolling] == ["keepalived", "haproxy", "cortafuegos"]
    action = plan.step("haproxy").actions["hera"][0]
    assert action.on_change == "systemctl reload-or-restart haproxy"
    assert action.validate_command("/etc/haproxy/x y") == "haproxy -c -f '/etc/haproxy/x y'"


def test_undefined_variable_is_a_clear_plan_error(tmp_path):
    text = (REPO_ROOT / "site_data" / "procedure.yaml").read_text(encoding="utf-8")
    (tmp_path / "procedure.yaml").write_text(text.replace("ifup {{ lan.interface | q }}", "ifup {{ lan.iface }}"))
    line = next(n for n, text in enumerate(text.splitlines(), 1) if "ifup {{ lan.interface | q }}" in text)
    with pytest.raises(PlanError) as info:
        build_plan(load_site("lab"), load_procedure(tmp_path))
    assert str(info.value).startswith(
        f"{tmp_path}/procedure.yaml, línea {line}: campo 'steps[0].actions[1].run' (paso interfaz-lan): "
    )
    assert "variable no definida: «Lan» no tiene el atributo «iface»" in str(info.value)


def test_cli_plan_json_equals_plan_object():
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "plan", "--site", PUBLISHED_SITE, "--node", "afrodita", "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == load_plan(PUBLISHED_SITE).to_json("afrodita")


def test_cli_plan_unknown_node_exits_2():
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "plan", "--node", "zeus"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "no tiene el nodo 'zeus'" in result.stderr and "Traceback" not in result.stderr
