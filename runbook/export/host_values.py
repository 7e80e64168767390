"""Values that differ from node to node go to host_vars; the rest is written in place.

The plan renders every action per node. Most of its text is the same on every
node (`apt-get install ...`, `/etc/haproxy/haproxy.cfg`) and reads best right
in the task; a few values carry the node's own data (the `ifup` guard greps
for the node's address). Those become one host variable per node, and the
task refers to it, so one task in site.yml serves every node with its own
value, exactly the plan's.
"""

from __future__ import annotations

from ..errors import BadInputError
from .yaml_text import Unsafe

SHELL = "/bin/bash"  # the plan's commands and guards run in bash, as deploy runs them over SSH


class ExportError(BadInputError):
    """The plan cannot be written as an Ansible project; the message is Spanish."""


class HostValues:
    def __init__(self, nodes: tuple[str, ...]) -> None:
        self.nodes = nodes
        self.vars: dict[str, dict[str, Unsafe]] = {n: {} for n in nodes}

    def text(self, name: str, per_node: dict[str, str]) -> str:
        """The value itself when every node has the same, else a reference to host var `name`."""
        values = set(per_node.values())
        if len(values) == 1:
            return Unsafe(values.pop())
        for node, value in per_node.items():
            self.vars[node][name] = Unsafe(value)
        return "{{ " + name + " }}"

    @staticmethod
    def same(what: str, per_node: dict[str, object]):
        """A value the export writes once: it must be the same on every node."""
        values = list(per_node.values())
        if any(v != values[0] for v in values):
            raise ExportError(f"{what} cambia de un nodo a otro; la exportación necesita uno solo")
        return values[0]


def jinja_string(text: str) -> str:
    """`text` as a Jinja string literal (for values placed inside an expression)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def shell(command: str) -> dict:
    """Arguments of ansible.builtin.shell running `command` in bash (plan text comes as Unsafe)."""
    return {"cmd": command, "executable": SHELL}


def look_task(name: str, command: str, register: str) -> dict:
    """A read-only shell task (a guard, a question to the node): never a change or a failure, run
    even in check mode; what it answers is read from `register`'s rc."""
    return {"name": Unsafe(name), "ansible.builtin.shell": shell(command), "register": register,
            "changed_when": False, "failed_when": False, "check_mode": False}
