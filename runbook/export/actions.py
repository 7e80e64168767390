"""One plan action → the Ansible tasks that do exactly what deploy does with it.

A file (`FileAction`), as `runbook.deploy.executor.apply_file` handles it:
the node's file is compared (sha1) with the plan's bytes; if they differ,
the current version is kept under deploy's hidden backup name
`.<name>.runbook-bak` (copy's own `backup: yes` would leave a timestamped
`name.NNN~` next to the file, even when validation then fails, and globs
such as `source /etc/network/interfaces.d/*` would read it); the parent
directory is made if missing; `ansible.builtin.copy` writes the file with
the plan's mode, owner and group after checking the candidate with the
plan's validator (its output read, see validation.py); the on-change
command runs only if the *content* changed (a mode-only change does not
reload anything). If anything in that fails, the block's rescue
(failure.py) puts the previous file back and runs the command again (or
removes a file that did not exist before), then fails the node with
deploy's message.

A command (`RunAction`): its guard (`unless`) runs first as its own task,
read-only (`changed_when: false`, `check_mode: false`, `failed_when: false`),
and the command runs only `when:` the guard failed, as deploy decides it.
Commands and guards run in bash, as deploy runs them over SSH.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from ..plan.copies import backup_path
from ..plan.steps import FileAction, PlannedStep, RunAction, secret_names
from . import failure
from .host_values import ExportError, HostValues, jinja_string, look_task, shell
from .secret_vars import file_expression
from .validation import ansible_validate
from .yaml_text import Unsafe

FILES_DIR = "files"  # files/<node>/<absolute path>: each node's file as the plan has it


@dataclass
class ActionTasks:
    tasks: list[dict]
    changed: list[str] = field(default_factory=list)  # results whose `is changed` means "this node changed"


def var_prefix(step: PlannedStep, index: int) -> str:
    return f"rb_{step.id.replace('-', '_')}_{index}"


def action_tasks(step: PlannedStep, index: int, values: HostValues) -> ActionTasks:
    per_node = {node: actions[index] for node, actions in step.actions.items()}
    kinds = {a.kind for a in per_node.values()}
    if kinds == {"file"}:
        return file_tasks(step, index, per_node, values)
    if kinds == {"run"}:
        return run_tasks(step, index, per_node, values)
    raise ExportError(f"paso {step.id}: la acción {index + 1} no es del mismo tipo en todos los nodos")


# --------------------------------------------------------------------- commands


def run_tasks(
    step: PlannedStep, index: int, per_node: dict[str, RunAction], values: HostValues
) -> ActionTasks:
    prefix = var_prefix(step, index)
    command = values.text(f"{prefix}_command", {n: a.command for n, a in per_node.items()})
    shown = command if isinstance(command, Unsafe) else f"orden {index + 1} (la de cada nodo, en host_vars)"
    guards = {n: a.unless for n, a in per_node.items()}
    run = {"name": Unsafe(f"{step.id} · {shown}"), "ansible.builtin.shell": shell(command),
           "register": f"{prefix}_run"}
    unguarded = {n: g is None for n, g in guards.items()}
    if HostValues.same(f"paso {step.id}: la condición de la acción {index + 1}", unguarded):
        return ActionTasks([run], [f"{prefix}_run"])
    guard = values.text(f"{prefix}_unless", guards)
    guard_shown = guard if isinstance(guard, Unsafe) else "la de cada nodo, en host_vars"
    tasks = [look_task(f"{step.id} · ¿hace falta? salvo si: {guard_shown}", guard, f"{prefix}_guard"),
             {**run, "when": f"{prefix}_guard.rc != 0"}]
    return ActionTasks(tasks, [f"{prefix}_run"])


# ------------------------------------------------------------------------ files


@dataclass(frozen=True)
class _Paths:
    dest: str
    directory: str
    backup: str
    source: str  # the plan's file in the export, for copy's src
    source_expression: str  # the same as a Jinja expression, for the file lookup
    shown: str


def _paths(prefix: str, index: int, per_node: dict[str, FileAction], values: HostValues) -> _Paths:
    dest = values.text(f"{prefix}_path", {n: a.path for n, a in per_node.items()})
    node_dir = "{{ playbook_dir }}/" + FILES_DIR + "/{{ inventory_hostname }}"
    node_dir_expression = f"playbook_dir ~ '/{FILES_DIR}/' ~ inventory_hostname"
    if isinstance(dest, Unsafe):  # one path for every node (plan paths are plain: ABS_PATH_RE)
        path = str(dest)
        return _Paths(dest, posixpath.dirname(path), backup_path(path), node_dir + path,
                      f"{node_dir_expression} ~ {jinja_string(path)}", path)
    ref = dest[3:-3]  # the host var's name
    return _Paths(
        dest=dest,
        directory="{{ " + ref + " | dirname }}",
        backup="{{ " + ref + " | dirname }}/.{{ " + ref + " | basename }}.runbook-bak",
        source=node_dir + "{{ " + ref + " }}",
        source_expression=f"{node_dir_expression} ~ {ref}",
        shown=f"fichero {index + 1} (la ruta de cada nodo, en host_vars)",
    )


def backup_argv(action: FileAction, dest: str, backup: str) -> list[str]:
    """The command that keeps the current file as deploy's hidden backup, with the file's mode."""
    return ["install", "-p", "-m", action.mode, "-o", action.owner, "-g", action.group, "--", dest, backup]


def file_tasks(
    step: PlannedStep, index: int, per_node: dict[str, FileAction], values: HostValues
) -> ActionTasks:
    prefix = var_prefix(step, index)
    first = next(iter(per_node.values()))
    for attr in ("mode", "owner", "group", "validate", "on_change", "unless"):
        HostValues.same(f"paso {step.id}: {attr} de {first.path}",
                        {n: getattr(a, attr) for n, a in per_node.items()})
    paths = _paths(prefix, index, per_node, values)
    secrets = sorted(set().union(*(secret_names(a.content) for a in per_node.values())))
    before, written, applied = f"{prefix}_before", f"{prefix}_file", f"{prefix}_apply"
    label = f"{step.id} · {paths.shown}"
    # The file's final bytes, read on the controller (secrets swapped in): its
    # sha1 says whether the node's file must change before anything is touched.
    wanted = file_expression(paths.source_expression, secrets)
    # A secret-bearing file's checksum would let someone guess the secret offline:
    # its stat, like its copy, stays out of the output.
    hidden = {"no_log": True, "diff": False} if secrets else {}
    differs = f"({before}.stat.checksum | default('')) != rb_sha1"

    copy: dict = {"dest": paths.dest, "mode": first.mode, "owner": first.owner, "group": first.group}
    if secrets:
        copy["content"] = "{{ " + wanted + " }}"
    else:
        copy["src"] = paths.source
    if first.validate:
        copy["validate"] = Unsafe(ansible_validate(first.validate))
    what = f"escribir ({first.mode} {first.owner}:{first.group})"
    if first.validate:
        what += f", validado con «{first.validate}»"
    tasks: list[dict] = [
        {"name": Unsafe(f"{label}: estado actual"),
         "ansible.builtin.stat": {"path": paths.dest, "get_checksum": True, "checksum_algorithm": "sha1"},
         "register": before, **hidden},
        {"name": Unsafe(f"{label}: carpeta {paths.directory}"),
         "ansible.builtin.file": {"path": paths.directory, "state": "directory"},
         "when": f"not {before}.stat.exists"},
        {"name": Unsafe(f"{label}: la versión actual se guarda en {paths.backup}"),
         # Never more open than the file (it may hold a secret): install sets the
         # file's mode, owner and group on the copy, as deploy does.
         "ansible.builtin.command": {"argv": backup_argv(first, paths.dest, paths.backup)},
         "when": f"{before}.stat.exists and {differs}",
         "changed_when": False},
        {"name": Unsafe(f"{label}: {what}"), "ansible.builtin.copy": copy, "register": written, **hidden},
    ]
    changed = [written]
    if first.unless:
        # As deploy: a file that is already right but not in effect (its guard
        # fails, e.g. a live sysctl flipped by hand) gets its activation again.
        live, reapplied = f"{prefix}_live", f"{prefix}_reapply"
        guard = values.text(live, {n: a.unless for n, a in per_node.items()})
        guard_shown = guard if isinstance(guard, Unsafe) else "la de cada nodo, en host_vars"
        tasks.insert(1, look_task(f"{label}: ¿en vigor? salvo si: {guard_shown}", guard, live))
        changed.append(reapplied)
    block_vars: dict = {"rb_sha1": "{{ " + wanted + " | hash('sha1') }}"}
    if first.on_change:
        tasks.append({"name": Unsafe(f"{label}: si cambió el contenido, {first.on_change}"),
                      "ansible.builtin.shell": shell(Unsafe(first.on_change)),
                      "register": applied,
                      "when": f"{written} is changed and {differs}"})
        if first.unless:
            again = f"{label}: el fichero está bien pero no en vigor, {first.on_change}"
            tasks.append({"name": Unsafe(again),
                          "ansible.builtin.shell": shell(Unsafe(first.on_change)),
                          "register": f"{prefix}_reapply",
                          "when": f"not ({differs}) and {prefix}_live.rc != 0"})
        block_vars |= {"rb_path": paths.dest, "rb_backup": paths.backup,
                       "rb_validate": Unsafe(first.validate or ""), "rb_on_change": Unsafe(first.on_change),
                       "rb_secret_names": secrets}
    block: dict = {"name": Unsafe(label), "vars": block_vars, "block": tasks}
    if first.on_change:
        block["rescue"] = [{
            "name": Unsafe(f"{label}: falló; volver al fichero anterior"),
            "ansible.builtin.include_tasks": failure.TASKS,
            "vars": {"rb_before": "{{ " + before + " | default({}) }}",
                     "rb_written": "{{ " + written + " | default({}) }}",
                     "rb_applied": "{{ " + applied + " | default({}) }}"},
        }]
    return ActionTasks([block], changed)
