"""Pydantic models of the procedure: the ordered steps, their actions and checks.

Commands, paths and texts here are Jinja2 templates rendered per node by
the planner (runbook/plan.py), which checks rendered paths and commands
again; these models check what can be checked before rendering.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import ConfigDict, Discriminator, Field, PrivateAttr, Tag, field_validator, model_validator

from .fields import (
    STEP_ID_RE,
    AbsPath,
    FieldError,
    NonBlank,
    SafeName,
    Strict,
    Title,
    duplicate_index,
    path_problem,
)


class Expect(Strict):
    """What a check's command must produce to pass."""

    exit_code: Annotated[int, Field(ge=0, le=255)] = 0
    stdout_contains: str | None = None
    stdout_regex: str | None = None
    description: NonBlank  # the expected outcome, in Spanish, shown on the site

    @field_validator("stdout_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                at = f" (posición {exc.pos})" if exc.pos is not None else ""
                raise FieldError((), f"expresión regular no válida{at}") from None
        return value


class CheckSpec(Strict):
    """A documented "Comprobación": a command run on the node and its outcome."""

    id: Annotated[str, Field(pattern=STEP_ID_RE.pattern)]
    title: Title
    command: NonBlank  # Jinja2 template
    expect: Expect
    explanation: str = ""


class Condition(Strict):
    file_exists: AbsPath


class RunSpec(Strict):
    run: NonBlank  # Jinja2 template of the shell command
    unless: NonBlank | None = None  # guard: when it succeeds the command is not needed
    note: str = ""


class ServiceAction(Strict):
    name: SafeName
    action: Literal["reload", "restart"]


class FileSpec(Strict):
    file: NonBlank  # Jinja2 template; checked again once rendered
    template: Annotated[str, Field(pattern=r"^[a-z0-9._-]+\.j2$")]
    mode: Annotated[str, Field(pattern=r"^0[0-7]{3}$")] = "0644"
    owner: SafeName = "root"
    group: SafeName = "root"
    validate_with: NonBlank | None = Field(default=None, alias="validate")
    service: ServiceAction | None = None
    apply: NonBlank | None = None  # command that makes the file take effect (no service)
    note: str = ""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    @field_validator("file")
    @classmethod
    def _plain_path(cls, value: str) -> str:
        # A path without Jinja is checked now; a templated one once rendered.
        problem = path_problem(value) if "{" not in value else (
            None if value.startswith("/") else "debe ser absoluta (empezar por /)"
        )
        if problem:
            raise FieldError((), f"ruta no válida: {problem}")
        return value

    @model_validator(mode="after")
    def _one_activation(self) -> FileSpec:
        if self.service is not None and self.apply is not None:
            raise FieldError(("apply",), "use 'service' o 'apply', no ambos")
        if self.validate_with is not None and "%s" not in self.validate_with:
            raise FieldError(("validate",), "debe contener %s (el fichero a validar)")
        return self


def _action_kind(value: object) -> str:
    if isinstance(value, dict):
        return "file" if "file" in value else "run"
    return "file" if isinstance(value, FileSpec) else "run"


ActionSpec = Annotated[
    Annotated[RunSpec, Tag("run")] | Annotated[FileSpec, Tag("file")],
    Discriminator(_action_kind),
]


class Admonition(Strict):
    kind: Literal["note", "warning", "danger", "tip", "info", "failure", "success"]
    title: Title
    text: NonBlank


class StepSpec(Strict):
    id: Annotated[str, Field(pattern=STEP_ID_RE.pattern)]
    title: Title
    explanation: NonBlank
    when: Condition | None = None
    admonitions: Annotated[list[Admonition], Field(max_length=20)] = []
    actions: Annotated[list[ActionSpec], Field(max_length=50)] = []
    checks: Annotated[list[CheckSpec], Field(max_length=50)] = []


class Procedure(Strict):
    steps: Annotated[list[StepSpec], Field(min_length=1, max_length=200)]
    _source: object = PrivateAttr(default=None)  # load.Source: file and line of every field

    @model_validator(mode="after")
    def _unique_ids(self) -> Procedure:
        index = duplicate_index([s.id for s in self.steps])
        if index is not None:
            raise FieldError(("steps", index, "id"), "el id de paso aparece dos veces")
        seen: set[str] = set()
        for i, step in enumerate(self.steps):
            for j, check in enumerate(step.checks):
                if check.id in seen:
                    raise FieldError(("steps", i, "checks", j, "id"), "el id de comprobación se repite")
                seen.add(check.id)
        return self
