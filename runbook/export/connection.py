"""How Ansible reaches the nodes: inventory.yml and ansible.cfg, from the site's `ssh` block.

The same facts deploy uses (`runbook.remote.transport.target`): each node by its
management address, the site's user, port, key and ssh_config. Host keys are
always checked (`host_key_checking`, `StrictHostKeyChecking=yes`): an unknown
or changed key stops the run, as deploy refuses it. For the lab, its
ssh_config carries the ProxyCommand into the lab's namespace and the lab's
own known_hosts.
"""

from __future__ import annotations

import os

from ..plan.steps import Plan
from .plays import GROUP, turn_groups

PYTHON = "/usr/bin/python3"  # Debian's python3 on every node (the lab's base has it too)


def inventory(plan: Plan) -> dict:
    site = plan.site
    group_vars: dict = {"ansible_user": site.ssh.user, "ansible_port": site.ssh.port,
                        "ansible_python_interpreter": PYTHON}
    if site.ssh.identity:
        group_vars["ansible_ssh_private_key_file"] = os.path.expanduser(site.ssh.identity)
    hosts = {node.name: {"ansible_host": str(node.management_address)} for node in site.nodes}
    children: dict = {GROUP: {"hosts": hosts, "vars": group_vars}}
    # Filled in rolling order while the playbook runs (add_host); declared here
    # so that Ansible knows them before then.
    children |= {group: {} for group in turn_groups(plan)}
    return {"all": {"children": children}}


def ansible_cfg(site, header: str) -> str:
    ssh_args = []
    if site.ssh.config:
        ssh_args += ["-F", os.path.expanduser(site.ssh.config)]
    ssh_args += ["-o", "StrictHostKeyChecking=yes", "-o", "ControlMaster=auto", "-o", "ControlPersist=60s"]
    lines = [
        *(f"# {line}".rstrip() for line in header.splitlines()),
        "[defaults]",
        "inventory = inventory.yml",
        "host_key_checking = True",
        "gathering = explicit",
        "retry_files_enabled = False",
        f"forks = {max(5, len(site.nodes))}",
        "",
        "[ssh_connection]",
        f"ssh_args = {' '.join(ssh_args)}",
        "pipelining = True",
    ]
    return "\n".join(lines) + "\n"
