"""The plan: a pure function from (site, procedure) to ordered per-node actions.

This is the one object both the site and deploy read. The MkDocs plugin
renders `Plan.steps`; deploy executes them; `invoke plan --json` prints them;
verify runs their checks. Nothing here touches a network or a node.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

import jinja2

from .model import (
    ABS_PATH_RE,
    Admonition,
    CheckSpec,
    FileSpec,
    Node,
    Procedure,
    RunSpec,
    Site,
    StepSpec,
)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# Secrets never enter the plan: templates get this marker instead, and only
# the executor, at the last moment, swaps in the real value.
SECRET_MARKER = "@@SECRETO_{name}@@"
SECRET_MARKER_RE = re.compile(r"@@SECRETO_([a-z][a-z0-9_]*)@@")


class PlanError(Exception):
    """A template or value could not be rendered: names step and field, in Spanish."""


@dataclass(frozen=True)
class RunAction:
    node: str
    step: str
    command: str
    unless: str | None = None
    note: str = ""
    kind: Literal["run"] = "run"

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FileAction:
    node: str
    step: str
    path: str
    content: str
    mode: str
    owner: str
    group: str
    validate: str | None = None  # command with %s for the candidate file
    on_change: str | None = None  # command that makes the new file take effect
    service: str | None = None  # set when on_change reloads/restarts a service
    note: str = ""
    kind: Literal["file"] = "file"

    def validate_command(self, candidate: str) -> str | None:
        if self.validate is None:
            return None
        return self.validate.replace("%s", shlex.quote(candidate))

    def to_json(self) -> dict:
        return asdict(self)


Action = RunAction | FileAction


@dataclass(frozen=True)
class Check:
    """A documented "Comprobación": a command on the node and what it must print."""

    node: str
    step: str
    id: str
    title: str
    command: str
    exit_code: int
    stdout_contains: str | None
    stdout_regex: str | None
    description: str
    explanation: str = ""

    def passes(self, exit_code: int, stdout: str) -> bool:
        out = stdout.strip("\n")
        if exit_code != self.exit_code:
            return False
        if self.stdout_contains is not None and self.stdout_contains not in out:
            return False
        if self.stdout_regex is not None and not re.search(self.stdout_regex, out):
            return False
        return True

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PlannedStep:
    id: str
    title: str
    explanation: str  # Markdown, Spanish, rendered with the published values
    when_file_exists: str | None
    admonitions: tuple[Admonition, ...]
    actions: dict[str, tuple[Action, ...]]  # node name -> actions, in order
    checks: dict[str, tuple[Check, ...]]

    def actions_identical(self) -> bool:
        """True when every node gets the very same actions (one block on the site)."""
        return _same_across_nodes(self.actions)

    def checks_identical(self) -> bool:
        return _same_across_nodes(self.checks)

    @property
    def rolling(self) -> bool:
        """A step that reloads or restarts a service goes one node at a time."""
        return any(
            isinstance(a, FileAction) and a.service for acts in self.actions.values() for a in acts
        )


def _same_across_nodes(per_node: dict[str, tuple]) -> bool:
    def strip(items: tuple) -> list[dict]:
        return [{k: v for k, v in asdict(x).items() if k != "node"} for x in items]

    values = [strip(v) for v in per_node.values()]
    return all(v == values[0] for v in values)


@dataclass(frozen=True)
class Plan:
    site: Site
    steps: tuple[PlannedStep, ...]
    node_names: tuple[str, ...] = field(default=())

    def actions(self, node: str | None = None) -> list[Action]:
        """All actions in execution order (step by step, nodes in site order)."""
        out: list[Action] = []
        for step in self.steps:
            for name in self.node_names:
                if node is None or node == name:
                    out.extend(step.actions[name])
        return out

    def checks(self, node: str | None = None) -> list[Check]:
        out: list[Check] = []
        for step in self.steps:
            for name in self.node_names:
                if node is None or node == name:
                    out.extend(step.checks[name])
        return out

    def step(self, step_id: str) -> PlannedStep:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def to_json(self, node: str | None = None) -> list[dict]:
        out = []
        for step in self.steps:
            for name in self.node_names:
                if node is None or node == name:
                    for action in step.actions[name]:
                        item = action.to_json()
                        item["when_file_exists"] = step.when_file_exists
                        out.append(item)
        return out


# ----------------------------------------------------------------------- render


def template_dir() -> Path:
    """The templates in use: the package's, unless RUNBOOK_TEMPLATE_DIR names a copy."""
    return Path(os.environ.get("RUNBOOK_TEMPLATE_DIR", TEMPLATE_DIR))


def _environment() -> jinja2.Environment:
    return _environment_for(template_dir())


@cache
def _environment_for(directory: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # configs and shell text, not HTML
    )
    env.filters["q"] = lambda value: shlex.quote(str(value))
    env.globals["secret"] = lambda name: SECRET_MARKER.format(name=name)
    return env


# Writing 1 here puts a node in maintenance: keepalived lowers its priority
# (track_file in keepalived.conf.j2) and another node takes the VIP first.
MAINTENANCE_FILE = "/etc/keepalived/mantenimiento"


def context(site: Site, node: Node, step_id: str = "") -> dict:
    return {
        "site": site,
        "node": node,
        "peers": [n for n in site.nodes if n.name != node.name],
        "lan": site.network.lan,
        "vrrp": site.vrrp,
        "vip": site.vip,
        "maintenance_file": MAINTENANCE_FILE,
        "managed": f"Gestionado por runbook (sitio {site.name}, paso {step_id}). No editar a mano.",
    }


def render_text(source: str, ctx: dict, where: str) -> str:
    try:
        return _environment().from_string(source).render(ctx)
    except jinja2.TemplateError as exc:
        raise PlanError(f"{where}: no se puede generar: {_jinja_message(exc)}") from None


def render_template(name: str, ctx: dict, where: str) -> str:
    try:
        return _environment().get_template(name).render(ctx)
    except jinja2.TemplateNotFound:
        raise PlanError(f"{where}: no existe la plantilla {name!r} en {template_dir()}") from None
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        at = f" (línea {line})" if line else ""
        raise PlanError(f"{where}: plantilla {name}{at}: {_jinja_message(exc)}") from None


def _jinja_message(exc: jinja2.TemplateError) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        return f"variable no definida ({exc.message})"
    return exc.message or type(exc).__name__


def build_plan(site: Site, procedure: Procedure) -> Plan:
    steps = tuple(_plan_step(site, spec, i) for i, spec in enumerate(procedure.steps))
    return Plan(site=site, steps=steps, node_names=tuple(n.name for n in site.nodes))


def _plan_step(site: Site, spec: StepSpec, index: int) -> PlannedStep:
    where = f"procedure.yaml: steps[{index}] ({spec.id})"
    publish_ctx = context(site, site.vip_owner, spec.id)
    actions: dict[str, tuple[Action, ...]] = {}
    checks: dict[str, tuple[Check, ...]] = {}
    for node in site.nodes:
        ctx = context(site, node, spec.id)
        actions[node.name] = tuple(
            _plan_action(node, spec, a, ctx, f"{where}.actions[{j}]")
            for j, a in enumerate(spec.actions)
        )
        checks[node.name] = tuple(
            _plan_check(node, spec, c, ctx, f"{where}.checks[{j}]") for j, c in enumerate(spec.checks)
        )
    return PlannedStep(
        id=spec.id,
        title=spec.title,
        explanation=render_text(spec.explanation, publish_ctx, f"{where}.explanation"),
        when_file_exists=spec.when.file_exists if spec.when else None,
        admonitions=tuple(
            Admonition(
                kind=a.kind,
                title=a.title,
                text=render_text(a.text, publish_ctx, f"{where}.admonitions[{k}]"),
            )
            for k, a in enumerate(spec.admonitions)
        ),
        actions=actions,
        checks=checks,
    )


def _plan_action(node: Node, step: StepSpec, spec: RunSpec | FileSpec, ctx: dict, where: str) -> Action:
    if isinstance(spec, RunSpec):
        return RunAction(
            node=node.name,
            step=step.id,
            command=render_text(spec.run, ctx, f"{where}.run").strip(),
            unless=render_text(spec.unless, ctx, f"{where}.unless").strip() if spec.unless else None,
            note=spec.note,
        )
    path = render_text(spec.file, ctx, f"{where}.file").strip()
    if not ABS_PATH_RE.match(path):
        raise PlanError(f"{where}.file: la ruta generada {path!r} no es válida")
    content = render_template(spec.template, ctx, f"{where}.template")
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
        note=spec.note,
    )


def _plan_check(node: Node, step: StepSpec, spec: CheckSpec, ctx: dict, where: str) -> Check:
    def r(text: str | None, part: str) -> str | None:
        return None if text is None else render_text(text, ctx, f"{where}.{part}")

    regex = r(spec.expect.stdout_regex, "expect.stdout_regex")
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as exc:
            raise PlanError(f"{where}.expect.stdout_regex: expresión no válida: {exc}") from None
    return Check(
        node=node.name,
        step=step.id,
        id=spec.id,
        title=spec.title,
        command=render_text(spec.command, ctx, f"{where}.command").strip(),
        exit_code=spec.expect.exit_code,
        stdout_contains=r(spec.expect.stdout_contains, "expect.stdout_contains"),
        stdout_regex=regex,
        description=render_text(spec.expect.description, ctx, f"{where}.expect.description").strip(),
        explanation=spec.explanation,
    )


def secret_names(text: str) -> set[str]:
    return set(SECRET_MARKER_RE.findall(text))


def load_plan(site_name: str | None = None) -> Plan:
    """Convenience for callers: load the data and build the plan."""
    from .load import PUBLISHED_SITE, load_procedure, load_site

    return build_plan(load_site(site_name or PUBLISHED_SITE), load_procedure())
