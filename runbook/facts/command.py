"""A command run exactly as written: a guard (`unless`) or a documented check."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Fact, Probe


@dataclass(frozen=True)
class Command(Fact[Probe]):
    """Its exit status and what a person at the terminal would see (stdout+stderr).

    `name` keys it when the same text must stay a separate question (a
    documented check is asked by its id); by default the command is its key.
    """

    text: str
    name: str | None = None

    @property
    def key(self) -> str:
        return self.name or f"orden:{self.text}"

    def command(self) -> str:
        return self.text

    def parse(self, probe: Probe) -> Probe:
        return probe
