"""Secrets in the Ansible project: where to read them, never their values.

The export holds only the sources deploy uses (an environment variable,
else a file on the machine that runs ansible-playbook). The playbook reads
them at run time with `lookup('ansible.builtin.env')` / `lookup('ansible.builtin.file')`,
which run on the controller. The files the plan writes hold a marker
(`@@SECRETO_name@@`) where the secret goes; the task that copies such a file
swaps the value in and runs with `no_log` and without diff, so the value
never reaches Ansible's output.
"""

from __future__ import annotations

from ..data.records import Site
from ..plan.secrets import SAFE_SECRET_RE
from ..plan.steps import SECRET_MARKER
from .host_values import jinja_string

SECRETS_VAR = "rb_secrets"


def _file_expression(path: str) -> str:
    if path.startswith("~/"):
        return f"lookup('ansible.builtin.env', 'HOME') ~ {jinja_string(path[1:])}"
    return jinja_string(path)


def source_expression(site: Site, name: str) -> str:
    """Jinja reading secret `name` like runbook.plan.secrets: the variable if set, else the file (trimmed)."""
    source = site.secrets[name]
    from_file = (
        f"(lookup('ansible.builtin.file', {_file_expression(source.file)}, errors='ignore')"
        " | default('', true) | trim)"
        if source.file
        else "''"
    )
    if not source.env:
        return "{{ " + from_file + " }}"
    env = f"lookup('ansible.builtin.env', {jinja_string(source.env)})"
    return "{{ (" + env + " | trim) if " + env + " else " + from_file + " }}"


def describe_source(site: Site, name: str) -> str:
    """Where the secret comes from, for a task name (Spanish)."""
    source = site.secrets[name]
    parts = [f"variable {source.env}"] if source.env else []
    parts += [f"fichero {source.file}"] if source.file else []
    return ", si no, ".join(parts)


def how_to_provide(site: Site, name: str) -> str:
    """What to do when it is missing, as runbook.plan.secrets says it (Spanish)."""
    source = site.secrets[name]
    parts = [f"define {source.env}"] if source.env else []
    parts += [f"crea {source.file}"] if source.file else []
    return " o ".join(parts)


def secrets_vars(site: Site) -> dict:
    return {SECRETS_VAR: {name: source_expression(site, name) for name in site.secrets}}


def secrets_play(site: Site) -> dict:
    """First play: every secret present and usable, checked on the controller before any node is touched."""
    tasks = []
    for name in site.secrets:
        tasks.append({
            "name": f"secreto {name} (de {describe_source(site, name)})",
            "ansible.builtin.assert": {
                "that": [f"{SECRETS_VAR}.{name} is match({jinja_string(SAFE_SECRET_RE.pattern)})"],
                "fail_msg": (
                    f"falta el secreto {name} o no es válido"
                    f" (8-128 caracteres de A-Z a-z 0-9 . _ ~ ! % ^ * + = -): {how_to_provide(site, name)}"
                ),
                "success_msg": f"secreto {name} leído (su valor no se muestra)",
                "quiet": True,
            },
        })
    return {
        "name": "Secretos: se leen en esta máquina al ejecutar; no se guardan en el proyecto",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "tags": ["always"],
        "tasks": tasks,
    }


def file_expression(source_path_expression: str, names: list[str]) -> str:
    """Jinja expression: the plan's file read on the controller, each secret marker replaced by its value."""
    expression = f"lookup('ansible.builtin.file', {source_path_expression}, rstrip=false)"
    for name in names:
        expression += f" | replace({jinja_string(SECRET_MARKER.format(name=name))}, {SECRETS_VAR}.{name})"
    return expression
