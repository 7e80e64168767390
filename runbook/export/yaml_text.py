"""YAML for the Ansible project: data verbatim, never re-read as a template.

Ansible templates every string of a playbook or of its variables that holds
`{{`, `{%` or `{#`. A command, a guard or a path taken from the plan may hold
them (a Go template, a `{#` in a comment...), so such a value is written as
`!unsafe`: Ansible then uses it as the plain text it is. Text without those
marks is never templated and is written plainly, to keep the playbook easy
to read. Strings built here on purpose as Jinja expressions stay ordinary.
Lines are never folded (a command is shown as it runs), multi-line text is a
literal block, and keys keep the order they were written in.
"""

from __future__ import annotations

import yaml

JINJA_STARTS = ("{{", "{%", "{#")


class Unsafe(str):
    """Text from the plan: Ansible must never template it (`!unsafe` where it could)."""

    @property
    def needs_tag(self) -> bool:
        return any(start in self for start in JINJA_STARTS)


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False):
        # Lists under a key indented, as ansible-lint and most playbooks write them.
        return super().increase_indent(flow, False)


def _unsafe(dumper: yaml.SafeDumper, data: Unsafe) -> yaml.ScalarNode:
    if not data.needs_tag:
        return _text(dumper, str(data))
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("!unsafe", str(data), style=style)


def _text(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(Unsafe, _unsafe)
_Dumper.add_representer(str, _text)


def dump(data, header: str = "") -> str:
    """YAML text, with `header` (Spanish comment lines, without '#') on top."""
    body = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1_000_000,  # never fold a line: commands and paths are shown verbatim
        explicit_start=True,
    )
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + body


def unsafe_loader() -> type[yaml.SafeLoader]:
    """A safe loader that reads `!unsafe` back as plain text (for checks of an export)."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    return Loader
