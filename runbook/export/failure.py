"""tasks/file_failed.yml: what happens when writing or activating a file fails, as in deploy.

Included from the rescue of every file that has an on-change command, with
the block's vars (rb_path, rb_backup, rb_sha1, rb_validate, rb_on_change,
rb_secret_names) and the results of its tasks (rb_before, rb_written,
rb_applied). A failed validation left the old file and the running service
alone (copy never moved the candidate in); a failed activation gets the
previous file back (from deploy's backup name) and runs the on-change
command again, or removes the new file if there was none before. Then the
node fails with deploy's message, secrets replaced by their markers.
"""

from __future__ import annotations

from ..plan.steps import SECRET_MARKER
from .host_values import shell
from .secret_vars import SECRETS_VAR

TASKS = "tasks/file_failed.yml"

# The node's file was replaced (not only its mode): only then is there something to undo.
_CHANGED = "rb_written is changed and (rb_before.stat.checksum | default('')) != rb_sha1"
_EXISTED = "(rb_before.stat.exists | default(false))"


def _output(result: str) -> str:
    """Jinja statements leaving a result's output (or its msg) in ns.text, secrets masked."""
    marker = SECRET_MARKER.replace("{name}", "' ~ name ~ '")
    return (
        "{% set ns = namespace(text=((" + result + ".stdout | default('')) ~ '\\n' ~ ("
        + result + ".stderr | default(''))) | trim or (" + result + ".msg | default('sin salida'))) %}"
        "{% for name in rb_secret_names %}{% set ns.text = ns.text | replace(" + SECRETS_VAR
        + "[name], '" + marker + "') %}{% endfor %}{{ ns.text }}"
    )


MESSAGE = (
    "{% if (rb_written.msg | default('')) == 'failed to validate' %}"
    "la validación falló ({{ rb_validate }}):\n" + _output("rb_written")
    + "{% elif rb_applied is failed %}"
    "«{{ rb_on_change }}» falló (código {{ rb_applied.rc | default('?') }}): " + _output("rb_applied") + "; "
    "{% if not " + _EXISTED + " %}se retiró el fichero nuevo (no había uno anterior en {{ rb_path }})"
    "{% elif (rb_restored.rc | default(1)) != 0 %}"
    "ATENCIÓN: no se pudo restaurar {{ rb_path }} desde {{ rb_backup }}"
    "{% elif (rb_again.rc | default(1)) != 0 %}"
    "se restauró el fichero anterior, pero «{{ rb_on_change }}» vuelve a fallar"
    "{% else %}se restauró el fichero anterior y sigue en servicio{% endif %}"
    "{% else %}{{ ansible_failed_task.name | default('') }}: "
    + _output("ansible_failed_result") + "{% endif %}"
)


def tasks() -> list[dict]:
    return [
        {"name": "volver a poner el fichero anterior ({{ rb_backup }} → {{ rb_path }})",
         "ansible.builtin.command": {"argv": ["cp", "-p", "--", "{{ rb_backup }}", "{{ rb_path }}"]},
         "register": "rb_restored", "failed_when": False,
         "when": f"{_CHANGED} and {_EXISTED}"},
        {"name": "retirar el fichero nuevo {{ rb_path }} (no había uno anterior)",
         "ansible.builtin.file": {"path": "{{ rb_path }}", "state": "absent"},
         "when": f"{_CHANGED} and not {_EXISTED}"},
        {"name": "aplicar otra vez el fichero anterior: {{ rb_on_change }}",
         "ansible.builtin.shell": shell("{{ rb_on_change }}"),
         "register": "rb_again", "failed_when": False,
         "when": f"{_CHANGED} and {_EXISTED} and rb_restored.rc == 0"},
        {"name": "el nodo queda fallido",
         "ansible.builtin.fail": {"msg": MESSAGE}},
    ]
