"""Secrets out of everything shown: diffs, transcripts, messages, reports.

Masking by value (today's password → its marker) is not enough: a node may
still hold an *old* password, and a diff would print it. So a secret is
also masked by position: every line of the managed files' templates that
carries a secret marker (`    stats auth admin:@@SECRETO_stats_password@@`)
gives a rule, and any line of shown text that looks like it — the same line
with any value, the same directive (`stats auth`) with anything after it,
even commented out — gets its value replaced by a marker. In a file diff,
a node line that the diff pairs with a secret line and that no rule
recognised is masked whole. Deploy and verify use this one class.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .steps import SECRET_MARKER, SECRET_MARKER_RE, FileAction, Plan

_COMMENT = r"(?:#+|;+|//|!)?"


def stale_marker(name: str) -> str:
    """What replaces a value found where a secret goes but that is not today's secret."""
    return f"@@SECRETO_{name}_anterior@@"


@dataclass(frozen=True)
class _Rule:
    names: tuple[str, ...]  # the secrets on the template line, in order
    shape: re.Pattern  # the whole line, any value at each marker
    directive: re.Pattern | None  # what introduces the value (`stats auth`), if anything does
    line: str  # the template line itself


def _rule(line: str) -> _Rule:
    parts = SECRET_MARKER_RE.split(line)  # text, name, text, name, ..., text
    texts, names = parts[0::2], tuple(parts[1::2])
    shape = "".join(
        (_loose(text) + ("(.+?)" if i < len(names) else "")) for i, text in enumerate(texts)
    )
    tokens = texts[0].split()
    if tokens and not texts[0][-1:].isspace():
        tokens = tokens[:-1]  # the marker is glued to its last word ("admin:"): that word may vary
    directive = None
    if tokens:
        tail = r"(?=\s|$)" if tokens[-1][-1:].isalnum() else ""
        body = r"\s+".join(re.escape(t) for t in tokens)
        directive = re.compile(rf"^(\s*{_COMMENT}\s*{body}{tail})", re.IGNORECASE)
    return _Rule(names, re.compile(rf"^\s*{_COMMENT}\s*{shape}\s*$", re.IGNORECASE), directive, line)


def _loose(text: str) -> str:
    """A literal piece of a template line, with any run of spaces matching any run of spaces."""
    return r"\s+".join(re.escape(chunk) for chunk in re.split(r"\s+", text.strip())) if text.strip() else ""


class SecretMask:
    """Hides secrets by value and by position. Build one per plan with `for_plan`."""

    def __init__(self, secrets: dict[str, str], templates: Iterable[str] = ()):
        self.secrets = {name: value for name, value in secrets.items() if value}
        lines = {line for text in templates for line in text.splitlines() if SECRET_MARKER_RE.search(line)}
        self.rules = [_rule(line) for line in sorted(lines)]

    @classmethod
    def for_plan(cls, plan: Plan, secrets: dict[str, str]) -> SecretMask:
        return cls(secrets, (a.content for a in plan.actions() if isinstance(a, FileAction)))

    # ---------------------------------------------------------------- text

    def text(self, text: str) -> str:
        """Any text about to be shown or logged: secrets replaced by markers."""
        if not text:
            return text
        for name, value in self.secrets.items():
            text = text.replace(value, SECRET_MARKER.format(name=name))
        if not self.rules:
            return text
        return "".join(self._line(line)[0] for line in text.splitlines(keepends=True))

    def _line(self, line: str) -> tuple[str, _Rule | None]:
        body, end = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        for rule in self.rules:
            match = rule.shape.match(body)
            if match:
                return _replace_groups(body, match, rule.names) + end, rule
        for rule in self.rules:
            match = rule.directive.match(body) if rule.directive else None
            if match:
                rest = body[match.end():]
                markers = list(SECRET_MARKER_RE.finditer(rest))
                if markers and not rest[markers[-1].end():].strip():
                    return line, rule  # the value already is a marker (today's secret, by value)
                return f"{match.group(1)} {stale_marker(rule.names[0])}{end}", rule
        return line, None

    # ---------------------------------------------------------------- files

    def file_text(self, node_text: str, plan_text: str) -> str:
        """A node's copy of a managed file, masked against the plan's version of it."""
        masked: list[str] = []
        matched: set[str] = set()
        for line in self.text(node_text).splitlines(keepends=True):
            out, rule = self._line(line)
            masked.append(out)
            if rule is not None:
                matched.add(rule.line)
        plan_lines = plan_text.splitlines(keepends=True)
        secret_rows = [j for j, line in enumerate(plan_lines)
                       if SECRET_MARKER_RE.search(line) and line.rstrip("\n") not in matched]
        if not secret_rows:
            return "".join(masked)
        # A secret line no rule recognised on the node: mask what the diff pairs with it.
        import difflib  # here and below: only when a file differs, not at every start

        matcher = difflib.SequenceMatcher(None, masked, plan_lines, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "replace" and any(j1 <= j < j2 for j in secret_rows):
                names = SECRET_MARKER_RE.findall("".join(plan_lines[j1:j2]))
                for i in range(i1, i2):
                    if not SECRET_MARKER_RE.search(masked[i]):
                        indent = re.match(r"\s*", masked[i]).group(0).rstrip("\n")
                        end = "\n" if masked[i].endswith("\n") else ""
                        masked[i] = f"{indent}{stale_marker(names[0])}{end}"
        return "".join(masked)

    def file_diff(self, node_text: str | bytes | None, plan_text: str, fromfile: str, tofile: str) -> str:
        """The one unified diff deploy and verify show: node's file to the plan's, secrets masked.

        `plan_text` already holds markers; the node's copy holds real values,
        today's or older ones, and is masked by value and by position. An
        absent file (None) is diffed from /dev/null, as `diff -u` shows it.
        """
        if isinstance(node_text, bytes):
            node_text = node_text.decode("utf-8", errors="replace")  # shown, never written back
        if node_text is None:
            fromfile = "/dev/null"
        old = "" if node_text is None else self.file_text(node_text, plan_text)
        new = plan_text.splitlines(keepends=True)
        import difflib

        lines = difflib.unified_diff(old.splitlines(keepends=True), new, fromfile=fromfile, tofile=tofile)
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _replace_groups(body: str, match: re.Match, names: tuple[str, ...]) -> str:
    out, last = [], 0
    for index, name in enumerate(names, 1):
        start, end = match.span(index)
        value = body[start:end]
        out.append(body[last:start])
        out.append(value if SECRET_MARKER_RE.fullmatch(value) else stale_marker(name))
        last = end
    out.append(body[last:])
    return "".join(out)
