"""The plan's steps as plays, in plan order, with deploy's rolling rules.

A step is one play over all nodes: Ansible's linear strategy finishes each
task on every node before the next, so every node finishes a step before
any node starts the next one, as in deploy; a node that fails takes no part
in later plays, the others go on.

A rolling step (one that reloads or restarts a service) goes one node at a
time, the VIP holder last (`runbook.deploy.rolling`). Who holds the VIP is
only known when the playbook runs, so the step gets two plays:

1. on every node: does it hold the VIP now? (`group_by`), then, once, the
   order — non-holders by ascending priority, then the holder(s) — becomes
   an in-memory group (`add_host` keeps the order it is given);
2. the step itself on that group with `serial: 1`. When a node fails there,
   its batch has failed entirely, and ansible-playbook stops: the nodes
   after it keep their old, working configuration, as deploy leaves them.

After each node that changed something, the play waits for VRRP to settle
as deploy's `_settle_vip` does (tasks/vip_settle.yml): the VIP on exactly one
node, and after the last node on the highest-priority one, within
VIP_SETTLE_S + 3 × advert_int seconds; the VIP anywhere else than on one
node then fails the rollout, unless only part of the site is in play.
"""

from __future__ import annotations

from ..deploy.runner import VIP_SETTLE_S, configures_vrrp
from ..facts.net import vip_condition
from ..plan.steps import Plan, PlannedStep
from .actions import action_tasks
from .host_values import HostValues, look_task
from .yaml_text import Unsafe

GROUP = "balancers"
SETTLE_TASKS = "tasks/vip_settle.yml"


def step_var(step: PlannedStep) -> str:
    return f"rb_{step.id.replace('-', '_')}"


def turn_groups(plan: Plan) -> list[str]:
    return [f"{step_var(s)}_turn" for s in plan.steps if s.rolling]


def plays(plan: Plan, values: HostValues) -> list[dict]:
    out = []
    for step in plan.steps:
        out += step_plays(plan, step, values)
    return out


def step_plays(plan: Plan, step: PlannedStep, values: HostValues) -> list[dict]:
    total = HostValues.same(f"paso {step.id}: el número de acciones",
                            {node: len(actions) for node, actions in step.actions.items()})
    if not total:
        return []  # nothing to do on any node (a step with checks only)
    tasks, changed = [], []
    for index in range(total):
        done = action_tasks(step, index, values)
        tasks += done.tasks
        changed += done.changed
    if step.when_file_exists:
        tasks = _only_where_file_exists(step, tasks)
    title = Unsafe(f"{step.id} · {step.title}")
    if not step.rolling:
        return [_play(title, GROUP, step, tasks)]
    turn = f"{step_var(step)}_turn"
    rolling = _play(Unsafe(f"{title} · un nodo cada vez, el que tiene la IP virtual al final"), turn, step,
                    tasks + _settle_tasks(plan, step, changed), serial=True)
    return [_turn_play(plan, step), rolling]


def _play(name: str, hosts: str, step: PlannedStep, tasks: list[dict], serial: bool = False) -> dict:
    play: dict = {"name": name, "hosts": hosts}
    if serial:
        play |= {"serial": 1, "order": "inventory"}  # one node at a time, in the group's order
    return play | {"gather_facts": False, "tags": [step.id], "tasks": tasks}


def _only_where_file_exists(step: PlannedStep, tasks: list[dict]) -> list[dict]:
    path = step.when_file_exists
    found = f"{step_var(step)}_when"
    return [
        {"name": Unsafe(f"{step.id} · ¿existe {path}? (si no, el paso no se aplica a este nodo)"),
         "ansible.builtin.stat": {"path": Unsafe(path), "get_checksum": False},
         "register": found},
        {"name": Unsafe(f"{step.id} · solo donde existe {path}"),
         "when": f"{found}.stat.exists",
         "block": tasks},
    ]


def _turn_play(plan: Plan, step: PlannedStep) -> dict:
    var = step_var(step)
    holders = f"(groups['{var}_holders'] | default([]))"
    rising = "(rb_nodes_rising | select('in', ansible_play_hosts) | list)"
    return _play(
        Unsafe(f"{step.id} · turno: primero los nodos sin la IP virtual, de menor a mayor prioridad"),
        GROUP, step,
        [
            look_task(f"{step.id} · ¿tiene este nodo la IP virtual {plan.site.vip}?",
                      Unsafe(vip_condition(str(plan.site.vip))), f"{var}_vip"),
            {"name": Unsafe(f"{step.id} · agrupar según la IP virtual"),
             "ansible.builtin.group_by": {
                 "key": "{{ '" + var + "_holders' if " + var + "_vip.rc == 0 else '" + var + "_others' }}"},
             "changed_when": False},
            {"name": Unsafe(f"{step.id} · orden del despliegue escalonado"),
             "ansible.builtin.add_host": {"name": "{{ item }}", "groups": f"{var}_turn"},
             "loop": "{{ " + rising + " | reject('in', " + holders + ") | list + "
                     + rising + " | select('in', " + holders + ") | list }}",
             "run_once": True,
             "changed_when": False},
        ],
    )


def _settle_tasks(plan: Plan, step: PlannedStep, changed: list[str]) -> list[dict]:
    var = step_var(step)
    # Deploy only waits where there is a VIP to keep: someone served it before
    # this step, or this step configures the daemon that holds it.
    when = "not ansible_check_mode and (" + " or ".join(f"{r} is changed" for r in changed) + ")"
    if not configures_vrrp(step):
        when += f" and (groups['{var}_holders'] | default([]) | length > 0)"
    limit = VIP_SETTLE_S + 3 * plan.site.vrrp.advert_int
    nodes = len(plan.node_names)
    return [
        {"name": Unsafe(f"{step.id} · esperar a VRRP: hasta {limit} s"),
         "ansible.builtin.set_fact": {
             "rb_vip_deadline": "{{ now().timestamp() + " + str(limit) + " }}",
             "rb_vip_last": "{{ inventory_hostname == groups['" + var + "_turn'][-1] }}",
             "rb_vip_preferred": "{{ rb_nodes_by_priority | select('in', ansible_play_hosts) | first }}",
         },
         "when": when},
        {"name": Unsafe(f"{step.id} · la IP virtual {plan.site.vip} en un solo nodo "
                        "(tras el último, en el de más prioridad)"),
         "ansible.builtin.include_tasks": SETTLE_TASKS,
         "when": when},
        {"name": Unsafe(f"{step.id} · la IP virtual se asentó"),
         "ansible.builtin.fail": {
             "msg": Unsafe(f"paso {step.id}: la IP virtual {plan.site.vip} no se asentó (está en ")
             + "{{ rb_vip_holders | join(', ') or 'ningún nodo' }})"},
         # A partial run (--limit, a node out) cannot judge the cluster.
         "when": f"{when} and rb_vip_holders | length != 1 and ansible_play_hosts | length == {nodes}"},
    ]


def settle_tasks(plan: Plan) -> list[dict]:
    """tasks/vip_settle.yml: ask every node in play for the VIP, again until settled or out of time."""
    settled = ("rb_vip_holders | length == 1 and "
               "(not (rb_vip_last | bool) or rb_vip_holders[0] == rb_vip_preferred)")
    return [
        {**look_task(f"¿qué nodos tienen la IP virtual {plan.site.vip}?",
                     Unsafe(vip_condition(str(plan.site.vip))), "rb_vip_poll"),
         "delegate_to": "{{ item }}", "loop": "{{ ansible_play_hosts }}"},
        {"name": "nodos con la IP virtual",
         "ansible.builtin.set_fact": {
             "rb_vip_holders": "{{ rb_vip_poll.results | selectattr('rc', 'defined') "
                               "| selectattr('rc', 'equalto', 0) | map(attribute='item') | list }}"}},
        {"name": "todavía no se ha asentado: mirar otra vez",
         "ansible.builtin.include_tasks": "vip_settle.yml",
         "when": f"not ({settled}) and now().timestamp() < (rb_vip_deadline | float)"},
    ]
