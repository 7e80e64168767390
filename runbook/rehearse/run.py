"""The rehearsal's stages, one after another, on the lab site that rehearses your site.

    lab.up (fresh) → deploy → verify → deploy again (nothing to change)
    → drill planned → drill node-crash

Each stage is timed and gives a Stage; one that cannot be passed (a lab that
does not come up, a deploy or a verify that fails) leaves the ones after it
not run. The lab stays up afterwards, for `./rb lab.ssh --site SITE NODE`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import RunbookError

DRILLS = ("planned", "node-crash")


@dataclass
class Stage:
    title: str  # Spanish, as the summary shows it
    ok: bool | None = None  # None: not run
    seconds: float | None = None
    detail: str = ""
    requests: int | None = None  # a drill's requests through the VIP
    failed_requests: int | None = None

    def to_json(self) -> dict:
        return {"title": self.title, "result": _RESULT[self.ok], "seconds": self.seconds,
                "detail": self.detail, "requests": self.requests, "failed_requests": self.failed_requests}


_RESULT = {True: "ok", False: "failed", None: "not run"}


def stages() -> list[Stage]:
    return [
        Stage("laboratorio (lab.up)"),
        Stage("despliegue (deploy)"),
        Stage("verificación (verify)"),
        Stage("segundo despliegue (nada que cambiar)"),
        *(Stage(f"simulacro: {name}") for name in DRILLS),
    ]


def rehearse(plan, rate: float, duration: float, log: Callable[[str], None]) -> list[Stage]:
    """Every stage on the plan of the derived lab site; the list of stages, each with its result."""
    from .. import lab
    from ..plan.secrets import read_secrets

    site = plan.site
    result = stages()
    up, first, check, second, *drills = result

    def timed(stage: Stage, work: Callable[[], tuple[bool, str]]) -> bool:
        started = time.monotonic()
        try:
            stage.ok, stage.detail = work()
        except RunbookError as exc:
            stage.ok, stage.detail = False, str(exc)
        stage.seconds = round(time.monotonic() - started, 1)
        return bool(stage.ok)

    log("laboratorio nuevo con la forma de tu sitio")
    if not timed(up, lambda: _up(lab, site, log)):
        return result
    log("despliegue")
    if not timed(first, lambda: _deploy(plan, read_secrets(site), first=True)):
        return result
    log("verificación")
    if not timed(check, lambda: _verify(plan)):
        return result
    log("segundo despliegue")
    timed(second, lambda: _deploy(plan, read_secrets(site), first=False))
    for name, stage in zip(DRILLS, drills, strict=True):
        timed(stage, lambda n=name, s=stage: _drill(plan, n, s, rate, duration, log))
    return result


def _up(lab, site, log) -> tuple[bool, str]:
    lab.down(site)  # a fresh lab: the first deploy meets new servers, as production would
    status = lab.up(site, log=lambda m: log(f"lab: {m}"))
    nodes = ", ".join(f"{n['name']} ({n['lan_interface']})" for n in status["nodes"])
    backends = ", ".join(f"{b['name']} :{','.join(map(str, b['http_ports'] + b['tcp_ports']))}"
                         for b in status["backends"])
    return status["running"], f"balanceadores {nodes}; backends {backends}"


def _deploy(plan, secrets: dict[str, str], first: bool) -> tuple[bool, str]:
    from ..deploy import deploy
    from ..vocabulary import Status
    from .mapping import state_dir

    # Its transcripts beside the rehearsal, not in runs/ among your production deploys'.
    result = deploy(plan, secrets, runs_directory=state_dir(plan.site.name) / "runs")
    changed = sum(1 for o in result.outcomes if o.status is Status.CHANGED)
    problems = [*result.errors, *(f"{n}: {why}" for n, why in result.unreachable.items()),
                *(p.message() for p in result.remaining)]
    if result.exit_code:
        return False, "; ".join(problems) or f"código {result.exit_code}"
    if first:
        return True, f"{changed} acciones aplicadas en {len(result.nodes)} nodos"
    if changed:
        what = sorted({f"{o.node} · {o.step}" for o in result.outcomes if o.status is Status.CHANGED})
        return False, f"volvió a cambiar {changed} acciones: {', '.join(what)}"
    return True, "nada que cambiar"


def _verify(plan) -> tuple[bool, str]:
    from ..checks import Status
    from ..verify import run_verify

    report = run_verify(plan)
    passed = report.count(Status.PASSED)
    bad = [f"{r.check}@{r.where}" for r in report.results if r.status in (Status.FAILED, Status.ERROR)]
    bad += [f"{node}: {why}" for node, why in report.unreachable.items()]
    if report.exit_code:
        return False, f"{passed} correctas; fallan: {', '.join(bad)}"
    return True, f"{passed} comprobaciones correctas"


def _drill(plan, name: str, stage: Stage, rate: float, duration: float, log) -> tuple[bool, str]:
    from ..drill import LoadSpec
    from ..drill.runner import run_drill

    doc = run_drill(plan, [name], LoadSpec(rate=rate, duration=duration),
                    log=lambda m: log(f"simulacro: {m}"))
    scenario = doc["scenarios"][0]
    stage.requests, stage.failed_requests = scenario["requests"], scenario["failed"]
    if scenario["new_holder"] and scenario["vip_moved_s"] is not None:
        moved = (f"la IP virtual pasó de {scenario['holder_before']} a {scenario['new_holder']} en "
                 f"{scenario['vip_moved_s']:.2f} s")
    else:
        moved = f"la IP virtual no se movió de {scenario['holder_before']}"
    window = scenario["longest_error_window_s"]
    errors = f" (la racha de errores más larga: {window:.2f} s)" if scenario["failed"] and window else ""
    detail = f"{scenario['failed']} de {scenario['requests']} peticiones fallidas{errors}; {moved}"
    if scenario["verify_after"] != "ok":
        return False, detail + "; después, verify falla: " + ", ".join(scenario["verify_after_failures"])
    return True, detail
