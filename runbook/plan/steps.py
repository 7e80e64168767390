"""The plan: ordered per-node actions and checks, the one object the site, deploy and verify read.

The MkDocs plugin renders `Plan.steps`; deploy executes them; `invoke plan
--json` prints them; verify runs their checks. Nothing here touches a
network or a node. planning.py builds a plan from the site and the
procedure (pydantic, Jinja2); this module holds only what a plan is made
of, so a plan read from the cache (plan_cache.py) is used without
importing either: its site is made of records (records.py), not models.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

from ..names import SECRET_MARKER, SECRET_MARKER_RE
from . import expected_output

if TYPE_CHECKING:
    from ..data.records import Admonition, Site

__all__ = ["SECRET_MARKER", "SECRET_MARKER_RE"]


@dataclass(frozen=True)
class RunAction:
    """A command deploy runs on a node (unless its guard says it is done already)."""

    node: str
    step: str
    command: str
    unless: str | None = None
    note: str = ""
    kind: Literal["run"] = "run"


@dataclass(frozen=True)
class FileAction:
    """A file deploy writes on a node: content, owner and mode, how it is validated and activated."""

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
    # Guard of on_change for an unchanged file: when it fails, the file is
    # right but not in effect, and on_change runs anyway.
    unless: str | None = None
    note: str = ""
    validate_output: str | None = None  # what `validate` prints for a good file (⟨⟩ = varies)
    apply_output: str | None = None  # what `on_change` prints
    kind: Literal["file"] = "file"

    def validate_command(self, candidate: str) -> str | None:
        if self.validate is None:
            return None
        return self.validate.replace("%s", shlex.quote(candidate))


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
    output: str | None = None  # an example of what the command prints (⟨⟩ = varies)
    output_partial: bool = False  # output lists lines found among others, in any order
    stdout_matches_output: bool = False  # the whole output is `output` (expected_output.mismatch)

    def passes(self, exit_code: int, stdout: str) -> bool:
        out = stdout.strip("\n")
        if exit_code != self.exit_code:
            return False
        if self.stdout_contains is not None and self.stdout_contains not in out:
            return False
        if self.stdout_regex is not None and not re.search(self.stdout_regex, out):
            return False
        return self.output_difference(stdout) is None

    def output_difference(self, stdout: str) -> str | None:
        """In Spanish, how the output differs from the documented one, when the check requires it."""
        if not self.stdout_matches_output or self.output is None:
            return None
        return expected_output.mismatch(self.output, stdout, self.output_partial)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Observation:
    """A read-only command a reader runs by hand, and what it prints (not run by verify)."""

    id: str
    title: str
    where: Literal["nodo", "cliente"]
    # node name -> (command, output): every node for "nodo"; for "cliente", the
    # single entry is rendered with the VIP owner as `node` (the expected holder).
    rendered: dict[str, tuple[str, str]]
    output_partial: bool
    description: str

    def identical(self) -> bool:
        return len(set(self.rendered.values())) == 1


@dataclass(frozen=True)
class PlannedStep:
    """One step of the procedure with its actions and checks rendered for every node."""

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
        return any(isinstance(a, FileAction) and a.service for acts in self.actions.values() for a in acts)


def _same_across_nodes(per_node: dict[str, tuple]) -> bool:
    def strip(items: tuple) -> list[dict]:
        return [{k: v for k, v in asdict(x).items() if k != "node"} for x in items]

    values = [strip(v) for v in per_node.values()]
    return all(v == values[0] for v in values)


@dataclass(frozen=True)
class Plan:
    """The ordered steps of a site: what the site shows, deploy runs and verify checks."""

    site: Site
    steps: tuple[PlannedStep, ...]
    node_names: tuple[str, ...] = field(default=())
    observations: tuple[Observation, ...] = field(default=())

    def _names(self, node: str | None) -> list[str]:
        """The nodes asked for (None: all), in site order."""
        return [name for name in self.node_names if node in (None, name)]

    def actions(self, node: str | None = None) -> list[Action]:
        """All actions in execution order (step by step, nodes in site order)."""
        return [a for step in self.steps for name in self._names(node) for a in step.actions[name]]

    def checks(self, node: str | None = None) -> list[Check]:
        return [c for step in self.steps for name in self._names(node) for c in step.checks[name]]

    def step(self, step_id: str) -> PlannedStep:
        return _by_id(self.steps, step_id)

    def observation(self, observation_id: str) -> Observation:
        return _by_id(self.observations, observation_id)

    def to_json(self, node: str | None = None) -> list[dict]:
        return [{**asdict(action), "when_file_exists": step.when_file_exists}
                for step in self.steps for name in self._names(node) for action in step.actions[name]]


def _by_id(items, item_id: str):
    """The item with this id (a step, an observation); KeyError if there is none."""
    for item in items:
        if item.id == item_id:
            return item
    raise KeyError(item_id)


# Writing 1 here puts a node in maintenance: keepalived lowers its priority
# (track_file in keepalived.conf.j2) and another node takes the VIP first.
MAINTENANCE_FILE = "/etc/keepalived/mantenimiento"


def secret_names(text: str) -> set[str]:
    return set(SECRET_MARKER_RE.findall(text))
