"""Read an exported Ansible project back as the plan's actions, for one node.

Independent of runbook.export's code: it parses the YAML Ansible would load
(site.yml, host_vars, files/, tasks/) and follows what Ansible would do for
that node: which file each `copy` writes, with which mode, owner, validator
and on-change command; which command runs behind which guard; under which
`when_file_exists`. Every shell or command task must be explained (a plan
command or guard, an activation, deploy's backup, restore and VIP probe);
anything else is reported, so an export that does more than the plan fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from runbook.deploy.executor import backup_path
from runbook.export.validation import plan_validator
from runbook.export.yaml_text import unsafe_loader
from runbook.facts.net import vip_condition as vip_probe

FIELDS = {
    "run": ("command", "unless"),
    "file": ("path", "content", "mode", "owner", "group", "validate", "on_change", "unless"),
}
MODULES = {  # every module the project may use, and nothing else
    "ansible.builtin.copy", "ansible.builtin.shell", "ansible.builtin.command", "ansible.builtin.stat",
    "ansible.builtin.file", "ansible.builtin.assert", "ansible.builtin.group_by", "ansible.builtin.add_host",
    "ansible.builtin.set_fact", "ansible.builtin.include_tasks", "ansible.builtin.fail",
}
_REF = re.compile(r"^\{\{ (rb_\w+) \}\}$")
_LOOKUP = re.compile(
    r"^\{\{ lookup\('ansible\.builtin\.file', playbook_dir ~ '/files/' ~ inventory_hostname ~ '(?P<path>[^']+)',"
    r" rstrip=false\)(?P<swaps>( \| replace\('@@SECRETO_\w+@@', rb_secrets\.\w+\))*) \}\}$"
)
_SWAP = re.compile(r"replace\('@@SECRETO_(\w+)@@', rb_secrets\.(\w+)\)")


def plan_view(items: list[dict]) -> list[dict]:
    """The plan's JSON actions reduced to what an export must reproduce."""
    return [
        {"step": i["step"], "kind": i["kind"], "when_file_exists": i["when_file_exists"]}
        | {f: i[f] for f in FIELDS[i["kind"]]}
        for i in items
    ]


@dataclass
class Reading:
    actions: list[dict] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    files_read: set[Path] = field(default_factory=set)


def load(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=unsafe_loader())


def _module(task: dict) -> str | None:
    found = [k for k in task if k.startswith("ansible.builtin.")]
    return found[0] if found else None


def _walk(tasks: list[dict], when_exists: str | None, stats: dict[str, str]):
    """(task, when_file_exists, enclosing block) in run order, blocks opened."""
    for task in tasks:
        if "block" in task:
            inner = when_exists
            if "when" in task:  # a block only ever runs under a step's when_file_exists
                m = re.fullmatch(r"(rb_\w+_when)\.stat\.exists", str(task["when"]))
                assert m, f"bloque con una condición desconocida: {task['when']!r}"
                inner = stats[m.group(1)]
            for t in task["block"]:
                if "block" in t:
                    yield from _walk([t], inner, stats)
                else:
                    yield t, inner, task
            continue
        if _module(task) == "ansible.builtin.stat" and str(task.get("register", "")).endswith("_when"):
            stats[task["register"]] = task["ansible.builtin.stat"]["path"]
        yield task, when_exists, None


def read_export(project: Path, node: str, vip: str) -> Reading:
    host_vars_file = project / "host_vars" / f"{node}.yml"
    host_vars = load(host_vars_file) if host_vars_file.exists() else {}

    def value(text: str) -> str:
        m = _REF.match(text)
        return host_vars[m.group(1)] if m else text

    reading = Reading()
    for play in load(project / "site.yml"):
        if play["hosts"] == "localhost":
            for task in play["tasks"]:
                if _module(task) != "ansible.builtin.assert":
                    reading.unexplained.append(f"localhost: {task}")
            continue
        step = play["tags"][0]
        tasks = list(_walk(play["tasks"], None, {}))
        consumed: set[int] = set()
        commands: list[int] = []
        for index, (task, when_exists, block) in enumerate(tasks):
            module = _module(task)
            if module not in MODULES:
                reading.unexplained.append(f"{step}: módulo {module}: {task.get('name')}")
                continue
            args = task[module]
            if module == "ansible.builtin.copy":
                item = _file_action(project, node, step, task, block, tasks, consumed, value, reading)
                reading.actions.append(item | {"when_file_exists": when_exists})
            elif module == "ansible.builtin.shell" and index not in consumed:
                register = task.get("register", "")
                if register.endswith("_guard"):
                    assert task["changed_when"] is False and task["failed_when"] is False
                    assert task["check_mode"] is False
                    command = next(
                        (j, t) for j, (t, _, _) in enumerate(tasks)
                        if t.get("when") == f"{register}.rc != 0"
                    )
                    consumed.add(command[0])
                    reading.actions.append({
                        "step": step, "kind": "run", "when_file_exists": when_exists,
                        "command": value(command[1]["ansible.builtin.shell"]["cmd"]), "unless": value(args["cmd"]),
                    })
                elif register.endswith(("_live", "_reapply")):
                    commands.append(index)  # read with its file (a file action's own guard)
                elif register.endswith("_run") and "when" not in task:
                    reading.actions.append({"step": step, "kind": "run", "when_file_exists": when_exists,
                                            "command": value(args["cmd"]), "unless": None})
                elif args["cmd"] != vip_probe(vip) or task.get("changed_when") is not False:
                    reading.unexplained.append(f"{step}: orden {args['cmd']!r}")
            elif module == "ansible.builtin.command":
                commands.append(index)
        # A file's backup comes before its copy: judge commands once every file is read.
        reading.unexplained += [f"{step}: orden {tasks[i][0].get(_module(tasks[i][0]))}"
                                for i in commands if i not in consumed]
    for name in ("vip_settle.yml", "file_failed.yml"):
        for task in load(project / "tasks" / name):
            module = _module(task)
            cmd = task.get(module, {}).get("cmd") if module == "ansible.builtin.shell" else None
            argv = task.get(module, {}).get("argv") if module == "ansible.builtin.command" else None
            known = (
                module in MODULES - {"ansible.builtin.shell", "ansible.builtin.command"}
                or cmd in (vip_probe(vip), "{{ rb_on_change }}")
                or argv == ["cp", "-p", "--", "{{ rb_backup }}", "{{ rb_path }}"]
            )
            if not known:
                reading.unexplained.append(f"tasks/{name}: {task.get('name')}")
    return reading


def _file_action(project, node, step, task, block, tasks, consumed, value, reading) -> dict:
    args = task["ansible.builtin.copy"]
    assert "when" not in task, f"un fichero del plan con condición propia: {task['when']!r}"
    path = value(args["dest"])
    # What the node's file is compared with: the plan's file, read on the controller.
    wanted = re.sub(r" \| hash\('sha1'\) \}\}$", " }}", block["vars"]["rb_sha1"])
    m = _LOOKUP.match(wanted)
    assert m and m.group("path") == path, wanted
    for marker, secret in _SWAP.findall(m.group("swaps")):
        assert marker == secret, (marker, secret)  # each marker gets its own secret
    if "src" in args:
        assert not m.group("swaps")
        source = args["src"].replace("{{ playbook_dir }}/", "").replace("{{ inventory_hostname }}", node)
        assert source == f"files/{node}{path}", source
    else:
        assert args["content"] == wanted, "el contenido escrito no es el comparado"
        assert m.group("swaps")
        assert task["no_log"] is True and task["diff"] is False  # the value stays out of the output
    source = project / "files" / node / path.lstrip("/")
    content = source.read_text(encoding="utf-8")
    reading.files_read.add(source)
    register = task["register"]
    before = register.removesuffix("_file") + "_before"
    backups = [
        j for j, (other, _, _) in enumerate(tasks)
        if _module(other) == "ansible.builtin.command"
        and other["ansible.builtin.command"]["argv"] == [
            "install", "-p", "-m", args["mode"], "-o", args["owner"], "-g", args["group"], "--",
            args["dest"], backup_path(path)]
    ]
    if "content" in args:  # the current file's checksum would help guess the secret: not shown either
        stat = next(o for o, _, _ in tasks if o.get("register") == before)
        assert stat["no_log"] is True, stat
    # deploy's hidden backup name (never `name.NNN~` next to the file), only when the content differs
    assert len(backups) == 1, backups
    assert tasks[backups[0]][0]["when"] == f"{before}.stat.exists and ({before}.stat.checksum | default('')) != rb_sha1"
    consumed.update(backups)
    on_change = None
    for j, (other, _, _) in enumerate(tasks):
        if _module(other) == "ansible.builtin.shell" and other.get("when", "").startswith(f"{register} is changed"):
            assert other["when"].endswith(" != rb_sha1")  # only when the content changed
            on_change = other["ansible.builtin.shell"]["cmd"]
            consumed.add(j)
    unless = None
    live = register.removesuffix("_file") + "_live"
    for j, (other, _, _) in enumerate(tasks):
        if other.get("register") == live:
            assert other["changed_when"] is False and other["failed_when"] is False
            assert other["check_mode"] is False
            unless = value(other["ansible.builtin.shell"]["cmd"])
            consumed.add(j)
        elif other.get("when", "") == f"not (({before}.stat.checksum | default('')) != rb_sha1) and {live}.rc != 0":
            assert other["ansible.builtin.shell"]["cmd"] == on_change  # the same activation, again
            consumed.add(j)
    if on_change is not None:
        # A failed activation goes back to the previous file and runs this same command again.
        assert block["vars"]["rb_on_change"] == on_change
        assert block["vars"]["rb_backup"] == backup_path(path)
        assert block["rescue"][0]["ansible.builtin.include_tasks"] == "tasks/file_failed.yml"
    else:
        assert "rescue" not in block
    return {
        "step": step, "kind": "file", "path": path, "content": content,
        "mode": args["mode"], "owner": args["owner"], "group": args["group"],
        "validate": plan_validator(args["validate"]) if "validate" in args else None,
        "on_change": on_change, "unless": unless,
    }
