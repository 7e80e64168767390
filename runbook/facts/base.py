"""What every fact shares: its raw answer, its errors, and how a value is read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..errors import RunbookError

T = TypeVar("T")


class FactError(RunbookError):
    """A fact could not be gathered or read; the message is Spanish."""


class FactCommandError(FactError):
    """The fact's command itself failed on the node (as opposed to unreadable output)."""


@dataclass(frozen=True)
class Probe:
    """The raw answer to one fact: its command's exit status and stdout+stderr merged."""

    exit_code: int
    output: str


class Fact(Generic[T]):
    """A question to a node. Subclasses are frozen dataclasses naming what they ask about.

    `key` identifies the question: two facts with the same key are the same
    question and are asked once per round trip.

    `quick` facts only read local files or kernel state: they cannot hang and
    never exit their shell, so the runner runs them one after the other in one
    shared subshell (a process saved per fact). Anything else, a command from
    the data above all, keeps a subshell and a time limit of its own.
    """

    quick = False

    @property
    def key(self) -> str:
        raise NotImplementedError

    def command(self) -> str:
        """The shell command asking the node; every value in it is shlex-quoted."""
        raise NotImplementedError

    def parse(self, probe: Probe) -> T:
        """The typed value; raises FactError (Spanish) when the answer cannot be read."""
        raise NotImplementedError


def read(probes: Mapping[str, Probe], fact: Fact[T]) -> T:
    """The value of `fact` from a round trip's raw answers."""
    probe = probes.get(fact.key)
    if probe is None:
        raise FactError(f"no se obtuvo el dato «{fact.key}» del nodo")
    return fact.parse(probe)
