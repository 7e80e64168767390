"""The directives a page may hold, `<!-- runbook:NAME ARG... -->`, and how they are read.

A Directive names its arguments and the plugin method that renders it; the
plugin keeps one table of them (name -> Directive), so the grammar lives in
one place: `parse` finds the table entry and checks the argument count, and
a wrong name or count is a PluginError (so `mkdocs build --strict` fails)
whose Spanish message names the page and line and quotes the comment as
written. `Place` says where a directive sits, for its handler's errors too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from mkdocs.exceptions import PluginError

from .blocks import BlockStash

DIRECTIVE_RE = re.compile(r"<!--\s*runbook:(?P<body>.*?)\s*-->")


@dataclass(frozen=True)
class Place:
    """Where a directive is being rendered: the page, its source line, the page's stash."""

    src: str
    line: int | None
    stash: BlockStash

    def error(self, message: str) -> PluginError:
        return _error(self.src, self.line, message)


@dataclass(frozen=True)
class Directive:
    """One directive: its name, its arguments' names (for messages) and its handler.

    The handler is called as handler(plugin, place, *args), one string per
    argument, and returns the Markdown that replaces the comment.
    """

    name: str
    params: tuple[str, ...]
    handler: Callable[..., str]


def directive_table(*directives: Directive) -> dict[str, Directive]:
    table = {d.name: d for d in directives}
    if len(table) != len(directives):
        raise ValueError("dos directivas con el mismo nombre")
    return table


def parse(
    body: str, table: Mapping[str, Directive], src: str, line: int | None
) -> tuple[Directive, list[str]]:
    """"paso haproxy" -> (the paso Directive, ["haproxy"]); a PluginError if not valid."""
    words = body.split()
    name, args = (words[0], words[1:]) if words else ("", [])
    directive = table.get(name)
    if directive is None:
        raise _error(src, line, f"directiva desconocida <!-- runbook:{body} -->")
    if len(args) != len(directive.params):
        if not directive.params:
            raise _error(src, line, f"la directiva {name!r} no admite argumentos ({body!r})")
        count = len(directive.params)
        raise _error(
            src,
            line,
            f"la directiva {name!r} espera {count} argumento{'s' if count > 1 else ''} "
            f"({' '.join(directive.params)}): <!-- runbook:{body} -->"
        )
    return directive, args


def find(markdown: str) -> Iterator[tuple[re.Match[str], int]]:
    """Each directive comment in a page with its line number (1-based)."""
    for match in DIRECTIVE_RE.finditer(markdown):
        yield match, markdown.count("\n", 0, match.start()) + 1


def source_line(source: str, comment: str) -> int | None:
    """The line of a comment in the page as written (the rendered page may have moved it)."""
    at = source.find(comment)
    return None if at < 0 else source.count("\n", 0, at) + 1


def where(src: str, line: int | None) -> str:
    """"instalacion.md, línea 12": how every message of the site names a place in a page."""
    return f"{src}, línea {line}" if line else src


def _error(src: str, line: int | None, message: str) -> PluginError:
    return PluginError(f"runbook: {where(src, line)}: {message}")
