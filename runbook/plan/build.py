"""Building the plan: a pure function from (site, procedure) to ordered per-node actions.

Every command, file and check is rendered here from the validated data
(model.py) with Jinja2 (templating.py), and the plan's rules (one action per
managed path and node, no secret in a command) are checked before anyone
reads it. The plan keeps the site as records (records.py): the same fields
and methods without pydantic, so the plan reads the same whether it was
just built or comes from the cache.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from ..data.model import (
    CheckSpec,
    FileSpec,
    Node,
    ObservationSpec,
    Procedure,
    RunSpec,
    Site,
    StepSpec,
    path_problem,
)
from ..data.records import Admonition, from_model
from ..errors import BadInputError
from ..names import template_dir
from .expected_output import check_markers
from .steps import (
    MAINTENANCE_FILE,
    Action,
    Check,
    FileAction,
    Observation,
    Plan,
    PlannedStep,
    RunAction,
    secret_names,
)

# templating (Jinja2) is imported where a plan is built, not here.
PLAN_BUDGET_S = 2.0  # the shipped plan takes ~50 ms; a template that loops for ever is stopped


class PlanError(BadInputError):
    """A template or value could not be rendered: names step and field, in Spanish."""


def context(site: Site, node: Node, step_id: str = "") -> dict:
    return {
        "site": site,
        "node": node,
        "peers": [n for n in site.nodes if n.name != node.name],
        "lan": site.network.lan,
        "vrrp": site.vrrp,
        "vip": site.vip,
        "maintenance_file": MAINTENANCE_FILE,
        # The by-hand reader edits some of these files (the stats password, with nano):
        # the header says where the file comes from and what deploy does to it, no "do not edit".
        "managed": (
            f"Del tutorial runbook (sitio {site.name}, paso {step_id}). "
            "Con ./rb deploy, los cambios van en los datos del sitio: reescribe este fichero entero."
        ),
    }


# Where a rendered value comes from: a field path in procedure.yaml.
Where = Callable[[tuple], str]


def _locator(procedure: Procedure) -> Where:
    source = procedure._source

    def where(path: tuple) -> str:
        if source is not None:
            return source.where(path)
        from ..data.load import field_path

        return f"procedure.yaml: campo '{field_path(path)}'"

    return where


def render_text(source: str, ctx: dict, where: str) -> str:
    from .templating import TemplateError, render_string

    try:
        return render_string(template_dir(), source, ctx)
    except TemplateError as exc:
        raise PlanError(f"{where}: no se puede generar: {exc}") from None


def render_template(name: str, ctx: dict, where: str) -> str:
    from .templating import TemplateError, render_file

    try:
        return render_file(template_dir(), name, ctx)
    except TemplateError as exc:
        raise PlanError(f"{where}: {exc}") from None


def build_plan(site: Site, procedure: Procedure) -> Plan:
    from .templating import TemplateBudgetError, time_budget

    where = _locator(procedure)
    try:
        with time_budget(PLAN_BUDGET_S):
            steps = tuple(_plan_step(site, spec, i, where) for i, spec in enumerate(procedure.steps))
            observations = tuple(
                _observation(site, spec, i, where) for i, spec in enumerate(procedure.observations)
            )
    except TemplateBudgetError:
        raise PlanError(f"{where(('steps',))}: el plan tarda más de {PLAN_BUDGET_S:.0f} s en generarse "
                        "(¿una plantilla con un bucle enorme?)") from None
    plan = Plan(site=from_model(site), steps=steps, node_names=tuple(n.name for n in site.nodes),
                observations=observations)
    _check_plan(plan, procedure, where)
    return plan


def render_output(source: str | None, ctx: dict, where: str) -> str | None:
    """An expected output rendered for one node; its ⟨variable⟩ marks must still pair up."""
    if source is None:
        return None
    text = render_text(source, ctx, where).strip("\n")
    try:
        check_markers(text)
    except ValueError as exc:
        raise PlanError(f"{where}: {exc}") from None
    return text


def _observation(site: Site, spec: ObservationSpec, index: int, where: Where) -> Observation:
    def at(*path) -> str:
        return f"{where(('observations', index) + path)} (orden {spec.id})"

    nodes = site.nodes if spec.where == "nodo" else [site.vip_owner]
    rendered = {}
    owner_ctx = context(site, site.vip_owner)
    for node in nodes:
        ctx = context(site, node)
        rendered[node.name] = (
            _command(spec.command, ctx, at("command")),
            render_output(spec.output, ctx, at("output")) or "",
        )
    return Observation(
        id=spec.id,
        title=spec.title,
        where=spec.where,
        rendered=rendered,
        output_partial=spec.output_partial,
        description=render_text(spec.description, owner_ctx, at("description")).strip(),
    )


def _plan_step(site: Site, spec: StepSpec, index: int, where: Where) -> PlannedStep:
    base = ("steps", index)

    def at(*path) -> str:
        return f"{where(base + path)} (paso {spec.id})"

    publish_ctx = context(site, site.vip_owner, spec.id)
    actions: dict[str, tuple[Action, ...]] = {}
    checks: dict[str, tuple[Check, ...]] = {}
    for node in site.nodes:
        ctx = context(site, node, spec.id)
        actions[node.name] = tuple(
            _plan_action(node, spec, a, ctx, lambda *p, j=j: at("actions", j, *p))
            for j, a in enumerate(spec.actions)
        )
        checks[node.name] = tuple(
            _plan_check(node, spec, c, ctx, lambda *p, j=j: at("checks", j, *p))
            for j, c in enumerate(spec.checks)
        )
    return PlannedStep(
        id=spec.id,
        title=spec.title,
        explanation=render_text(spec.explanation, publish_ctx, at("explanation")),
        when_file_exists=spec.when.file_exists if spec.when else None,
        admonitions=tuple(
            Admonition(
                kind=a.kind,
                title=a.title,
                text=render_text(a.text, publish_ctx, at("admonitions", k, "text")),
            )
            for k, a in enumerate(spec.admonitions)
        ),
        actions=actions,
        checks=checks,
    )


def _command(text: str, ctx: dict, where: str) -> str:
    """A rendered shell command: never empty, never holding a secret (it would show in `ps`)."""
    command = render_text(text, ctx, where).strip()
    if not command:
        raise PlanError(f"{where}: la orden generada está vacía")
    if "@@SECRETO_" in command:
        raise PlanError(f"{where}: un secreto no puede ir en una orden (se vería en la lista de procesos); "
                        "úsalo solo en ficheros")
    return command


def _plan_action(node: Node, step: StepSpec, spec: RunSpec | FileSpec, ctx: dict, at) -> Action:
    if isinstance(spec, RunSpec):
        return RunAction(
            node=node.name,
            step=step.id,
            command=_command(spec.run, ctx, at("run")),
            unless=_command(spec.unless, ctx, at("unless")) if spec.unless else None,
            note=spec.note,
        )
    path = render_text(spec.file, ctx, at("file")).strip()
    problem = path_problem(path)
    if problem:
        raise PlanError(f"{at('file')}: la ruta generada {path!r} no es válida: {problem}")
    content = render_template(spec.template, ctx, at("template"))
    if secret_names(content) and int(spec.mode, 8) & 0o007:
        raise PlanError(f"{at('mode')}: {path} lleva secretos: su modo {spec.mode} no puede dar permisos "
                        "a los demás usuarios (usa p. ej. 0640)")
    for part, text in (("validate", spec.validate_with), ("apply", spec.apply), ("unless", spec.unless)):
        if text is not None and "@@SECRETO_" in text:
            raise PlanError(f"{at(part)}: un secreto no puede ir en una orden; úsalo solo en ficheros")
    on_change, service = spec.apply, None
    if spec.service is not None:
        service = spec.service.name
        verb = "reload-or-restart" if spec.service.action == "reload" else "restart"
        on_change = f"systemctl {verb} {shlex.quote(service)}"
    return FileAction(
        node=node.name,
        step=step.id,
        path=path,
        content=content,
        mode=spec.mode,
        owner=spec.owner,
        group=spec.group,
        validate=spec.validate_with,
        on_change=on_change,
        service=service,
        unless=_command(spec.unless, ctx, at("unless")) if spec.unless else None,
        note=spec.note,
        validate_output=render_output(spec.validate_output, ctx, at("validate_output")),
        apply_output=render_output(spec.apply_output, ctx, at("apply_output")),
    )


def _plan_check(node: Node, step: StepSpec, spec: CheckSpec, ctx: dict, at) -> Check:
    def r(text: str | None, *part) -> str | None:
        return None if text is None else render_text(text, ctx, at(*part))

    regex = r(spec.expect.stdout_regex, "expect", "stdout_regex")
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as exc:
            where = at("expect", "stdout_regex")
            pos = f" (posición {exc.pos})" if exc.pos is not None else ""
            raise PlanError(f"{where}: la expresión generada no es válida{pos}") from None
    return Check(
        node=node.name,
        step=step.id,
        id=spec.id,
        title=spec.title,
        command=_command(spec.command, ctx, at("command")),
        exit_code=spec.expect.exit_code,
        stdout_contains=r(spec.expect.stdout_contains, "expect", "stdout_contains"),
        stdout_regex=regex,
        description=r(spec.expect.description, "expect", "description").strip(),
        explanation=spec.explanation,
        output=render_output(spec.output, ctx, at("output")),
        output_partial=spec.output_partial,
        stdout_matches_output=spec.expect.stdout_matches_output,
    )


def _check_plan(plan: Plan, procedure: Procedure, where: Where) -> None:
    """Rules about the plan as a whole: one action per managed path and node."""
    for node in plan.node_names:
        seen: dict[str, str] = {}
        for i, step in enumerate(plan.steps):
            for j, action in enumerate(step.actions[node]):
                if not isinstance(action, FileAction):
                    continue
                if action.path in seen:
                    raise PlanError(f"{where(('steps', i, 'actions', j, 'file'))} (paso {step.id}): "
                                    f"{action.path} ya lo gestiona el paso {seen[action.path]}")
                seen[action.path] = step.id


def load_plan(site_name: str | None = None) -> Plan:
    """Convenience for callers: load the data and build the plan."""
    from ..data.load import PUBLISHED_SITE, load_procedure, load_site

    return build_plan(load_site(PUBLISHED_SITE if site_name is None else site_name), load_procedure())
