"""Pydantic models of the procedure: the ordered steps, their actions and checks.

Commands, paths and texts here are Jinja2 templates rendered per node by
the planner (runbook/plan/build.py), which checks rendered paths and commands
again; these models check what can be checked before rendering.
"""

# No `from __future__ import annotations`: pydantic would compile every annotation
# string when the classes are made, a third of the time of importing the models.

import re
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from ..plan.expected_output import check_markers
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
    # the whole output is the check's documented `output` (line by line, ⟨⟩ parts vary)
    stdout_matches_output: bool = False
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


def _variable_marks(value: str | None) -> str | None:
    if value is not None:
        try:
            check_markers(value)
        except ValueError as exc:
            raise FieldError((), str(exc)) from None
    return value


# What a reader sees after a command (Jinja2 template): an example, with the
# parts that change from one machine to another marked ⟨like this⟩.
ExpectedOutput = Annotated[str | None, AfterValidator(_variable_marks)]


class CheckSpec(Strict):
    """A documented "Comprobación": a command run on the node and its outcome."""

    id: Annotated[str, Field(pattern=STEP_ID_RE.pattern)]
    title: Title
    command: NonBlank  # Jinja2 template
    expect: Expect
    explanation: str = ""
    output: ExpectedOutput = None
    output_partial: bool = False  # output lists lines found among others, in any order

    @model_validator(mode="after")
    def _output_to_match(self) -> Self:
        if self.expect.stdout_matches_output and self.output is None:
            raise FieldError(("expect", "stdout_matches_output"),
                             "necesita 'output' (la salida que se exige)")
        return self


class ObservationSpec(Strict):
    """A read-only command a reader runs by hand to look at the cluster, with its output.

    Not run by verify: the lab tests prove its documented output on real nodes.
    """

    id: Annotated[str, Field(pattern=STEP_ID_RE.pattern)]
    title: Title
    where: Literal["nodo", "cliente"]  # on each balancer, or on a client of the LAN
    command: NonBlank  # Jinja2 template
    output: ExpectedOutput
    output_partial: bool = False
    description: NonBlank  # one Spanish sentence: what to look at in the output


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
    # Guard of the activation: when the file is already right but this command
    # fails, its content is not in effect (e.g. a live sysctl flipped by hand),
    # so deploy runs the activation anyway.
    unless: NonBlank | None = None
    note: str = ""
    validate_output: ExpectedOutput = None  # what the validation prints when the file is good
    apply_output: ExpectedOutput = None  # what applying it (apply or the service action) prints

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
    def _one_activation(self) -> Self:
        if self.service is not None and self.apply is not None:
            raise FieldError(("apply",), "usa 'service' o 'apply', no ambos")
        if self.unless is not None and self.service is None and self.apply is None:
            raise FieldError(("unless",), "'unless' necesita 'apply' o 'service' (la orden que se repite)")
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
    observations: Annotated[list[ObservationSpec], Field(max_length=100)] = []
    _source: object = PrivateAttr(default=None)  # load.Source: file and line of every field

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        index = duplicate_index([s.id for s in self.steps])
        if index is not None:
            raise FieldError(("steps", index, "id"), "el id de paso aparece dos veces")
        index = duplicate_index([o.id for o in self.observations])
        if index is not None:
            raise FieldError(("observations", index, "id"), "el id de la orden aparece dos veces")
        seen: set[str] = set()
        for i, step in enumerate(self.steps):
            for j, check in enumerate(step.checks):
                if check.id in seen:
                    raise FieldError(("steps", i, "checks", j, "id"), "el id de comprobación se repite")
                seen.add(check.id)
        return self
