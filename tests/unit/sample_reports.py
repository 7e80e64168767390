"""Verify reports and deploy results built without the lab, shared by tests that print them.

Imports nothing of rich: tests/unit/test_startup.py prints them in a fresh
interpreter that must end without rich loaded.
"""

from __future__ import annotations

from pathlib import Path

from runbook.checks import Kind, Status
from runbook.deploy.outcome import ActionResult
from runbook.deploy.result import DeployResult
from runbook.verify.run import Report, Result

LONG = "haproxy -c -f /etc/haproxy/haproxy.cfg && " + "x" * 150


def lab_report() -> Report:
    import test_verify_unit as unit

    from runbook.data.load import LAB_SITE
    from runbook.plan.build import load_plan
    from runbook.verify import run

    plan = load_plan(LAB_SITE)
    registry = run.build_registry(plan, unit.SECRETS)
    facts = {n: unit.healthy_facts(plan, n) for n in plan.node_names}
    results = [Result(c.id, c.title, n, c.kind, *(lambda o: (o.status, o.detail))(c.evaluate(n, facts[n])),
                      c.step, None, None) for n in plan.node_names for c in registry.node_checks()]
    return Report(site="lab", results=results, seconds=0.42)


def failing_report() -> Report:
    diff = "--- hera:/etc/x\n+++ sitio:/etc/x\n@@ -1 +1 @@\n-[red]viejo[/red] " + LONG + "\n+nuevo\n"
    return Report(site="lab", results=[
        Result("fichero-haproxy", "El fichero [/] está como dice el sitio", "hera", Kind.DOCUMENTED, Status.FAILED,
               "se esperaba: `[a-z]` " + LONG, "paso", "Paso [bold]", "site/x.html#paso", diff),
        Result("vip-unica", "La VIP está en un solo nodo", None, Kind.CLUSTER, Status.ERROR, "sin respuesta",
               None, None, None, outside="la red del laboratorio"),
        Result("haproxy-activo", "haproxy está activo", "afrodita", Kind.STATE, Status.FAILED, "inactive",
               "arranque", None, "site/y.html", outside="el nodo"),
        Result("killall", "killall instalado", "afrodita", Kind.STATE, Status.SKIPPED, "omitida", None, None, None),
        Result("ok", "Todo bien ñandú «x» — ✗", "hera", Kind.STATE, Status.PASSED, "correcto\nen dos líneas",
               None, None, None),
    ], unreachable={"atenea": "no responde por SSH [/]"}, seconds=1.5)


def deploy_result(check: bool) -> tuple[list[ActionResult], DeployResult]:
    nodes = ["hera", "afrodita"]
    outcomes = [ActionResult(node, f"paso-{i}", "run" if i % 2 else "file", f"/etc/x{i} [/] " + LONG * (i == 3),
                             Status.OK) for node in nodes for i in range(8)]
    outcomes.append(ActionResult("hera", "vip", "file", "/etc/keepalived/keepalived.conf", Status.CHANGED,
                                 message="cambiado", diff="--- a\n+++ b\n@@ -1 +1 @@\n-viejo\n+nuevo\n contexto\n"))
    result = DeployResult(site="lab", check=check, nodes=nodes, outcomes=outcomes, duration_s=0.24,
                          transcript=Path("runs/x.jsonl"))
    return outcomes, result
