"""The first round trip of verify and deploy, started before the command can read it.

A `./rb verify` spends most of its own time importing what reads the
answers (pydantic and the models, the checks, rich) and about as long
waiting for the nodes to answer. Both need only the plan, and the plan of
unchanged files is in the plan cache: so the cache also keeps, beside the
plan, what each command will ask each node first (`record`, built once,
when the plan is stored), and the command starts those round trips
(`start_verify`, `start_deploy`) before importing anything heavy. When the
command then asks a node the very same thing, byte for byte on the same
master socket, it takes the answer already there (sshmux.run_ahead,
facts/runner.reserve); anything else runs as usual.

What this keeps true:
- nothing is sent for data that has not been validated: a record exists
  only beside a plan that was built without error from the very same
  files (same digest), and the command's own arguments are checked first;
- nothing is sent that the command would not send itself, to a node it
  would not contact: the same facts (read-only), the same target, the same
  OpenSSH path with its checks (strict host keys, the lab's ProxyCommand);
- deploy's rules before a connection hold: its secrets are read, and its
  lock taken, before anything is started (start_deploy);
- a guess that does not match is a wasted read, never a wrong answer.

RUNBOOK_AHEAD=0 turns it off (benchmarks/bench_cli.py compares both ways).

This module is imported before the models: standard library, plan_cache,
sshmux and the fact runner only; the record is plain JSON data.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import Future
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from . import sshmux
from .facts import runner
from .ssh_target import SshTarget

if TYPE_CHECKING:
    from .plan import Plan

VERSION = 1
CLIENT_DEADLINE = 30.0  # seconds for all of the lab client's requests (verify/gather.py's too)


# ------------------------------------------------------------------ record


def record(plan: Plan) -> dict:
    """What verify and deploy (whole, default options) will ask each node first; plain data."""
    from .checks import build_registry
    from .deploy import preflight
    from .deploy.facts import opening_facts, query_for
    from .deploy.health import Health
    from .secrets import SecretError
    from .ssh_target import target
    from .verify.gather import client_probe_args

    site = plan.site
    registry = build_registry(plan)
    health = Health(plan, {})
    nodes = {}
    for node in site.nodes:
        t = target(site, node)
        nodes[node.name] = {
            "target": {"node": t.node, "host": t.host, "user": t.user, "port": t.port,
                       "config": _path(t.config), "identity": _path(t.identity)},
            "verify": _trip(registry.facts(node.name)),
            "deploy": _trip(opening_facts(query_for(plan, node.name), health.facts(node.name))),
        }
    secrets = [{"name": name, "env": s.env, "file": s.file} for name, s in site.secrets.items()]
    try:  # a file that needs a secret the site does not define: deploy refuses before any connection
        preflight(plan, {name: "definido" for name in site.secrets})
        deploy_ready = True
    except SecretError:
        deploy_ready = False
    probe = client_probe_args(site)
    client = None if probe is None else {"netns": probe[0], "request": probe[1]}
    return {
        "version": VERSION,
        "site": site.name,
        "lab_namespace": site.lab.namespace if site.lab else None,
        "nodes": nodes,
        "client": client,
        "secrets": secrets,
        "deploy_ready": deploy_ready,
    }


def _trip(facts) -> dict:
    facts = runner.unique(facts)
    return {"commands": [f.command() for f in facts], "quick": [f.quick for f in facts]}


def _path(path: Path | None) -> str | None:
    return None if path is None else str(path)


# ------------------------------------------------------------------- start


def _target(data: dict) -> SshTarget:
    return SshTarget(node=data["node"], host=data["host"], user=data["user"], port=data["port"],
                     config=None if data["config"] is None else Path(data["config"]),
                     identity=None if data["identity"] is None else Path(data["identity"]))


def _start(found: dict, kind: str, node: str | None) -> None:
    for name, entry in found["nodes"].items():
        if node in (None, name):
            trip = entry[kind]
            command = runner.reserve(trip["commands"], trip["quick"])
            sshmux.run_ahead(_target(entry["target"]), found["lab_namespace"], command, runner.RUN_TIMEOUT)


# The cache file each command's record came from: its plan is read from the same place
# (plan_or_exit), without hashing every input a second time. Cleared by forget().
_places: dict[str, object] = {}


def _found(site_name: str) -> dict | None:
    from .plan_cache import cached_extras

    if os.environ.get("RUNBOOK_AHEAD", "1") in ("0", ""):
        return None  # off: every round trip is asked when the command reaches it

    found = cached_extras(site_name)
    if found is None or not isinstance(found[0], dict) or found[0].get("version") != VERSION:
        return None
    _places[site_name] = found[1]
    return found[0]


def place(site_name: str | None):
    """Where this command found its record (plan_cache.Place), or None."""
    return _places.get(site_name)


def start_verify(site_name: str, node: str | None) -> dict | None:
    """verify's round trips to the nodes (and the lab client's requests) started now; the record used."""
    found = _found(site_name)
    if found is None or (node is not None and node not in found["nodes"]):
        return None
    _start(found, "verify", node)
    if node is None and found["client"] is not None:  # only a whole verify asks the lab client
        _start_client(found["client"]["netns"], found["client"]["request"])
    return found


# The lab client's requests asked ahead: (namespace, request as JSON) -> the probe's answer.
_client_answers: dict[tuple[str, str], Future] = {}
_client_lock = threading.Lock()


def _client_key(netns: str, request: dict) -> tuple[str, str]:
    return netns, json.dumps(request, sort_keys=True)


def _start_client(netns: str, request: dict) -> None:
    from .netns import run_in_netns
    from .verify.client_probe import probe

    answer: Future = Future()
    with _client_lock:
        _client_answers.setdefault(_client_key(netns, request), answer)

    def work() -> None:
        try:
            answer.set_result(run_in_netns(netns, probe, request, timeout=CLIENT_DEADLINE))
        except BaseException as exc:  # noqa: BLE001 - replayed to probe_client, which words it
            answer.set_exception(exc)

    threading.Thread(target=work, name="ahead-client", daemon=True).start()


def take_client(netns: str, request: dict) -> Future | None:
    """The probe's answer for exactly this request, asked ahead (once; None: not asked)."""
    with _client_lock:
        return _client_answers.pop(_client_key(netns, request), None)


def start_deploy(site_name: str, node: str | None, held: ExitStack) -> bool:
    """deploy's opening round trips started now, the deploy lock entered on `held`; False: nothing started.

    Only for a whole deploy (no --step, no --check, checked by the caller)
    whose secrets can all be read: otherwise the command takes its usual
    path and says what is wrong before any connection, as always. The lock
    is taken here, before anything is sent, exactly as deploy takes it
    (LockBusy, exit 2, when another deploy runs); `held` keeps it until the
    deploy ends.
    """
    from .deploy_lock import deploy_lock
    from .secrets import SecretError, read_source

    found = _found(site_name)
    if found is None or not found["deploy_ready"] or (node is not None and node not in found["nodes"]):
        return False
    try:
        for secret in found["secrets"]:
            read_source(secret["name"], secret["env"], secret["file"])
    except SecretError:
        return False  # the usual path reads them again and says which one is wrong
    held.enter_context(deploy_lock(found["site"]))  # LockBusy here: another deploy runs, nothing was sent
    _start(found, "deploy", node)
    return True


def forget() -> None:
    """The end of a command: what was asked ahead and not used is dropped."""
    sshmux.forget_ahead()
    runner.forget_reserved()
    _places.clear()
    with _client_lock:
        _client_answers.clear()
