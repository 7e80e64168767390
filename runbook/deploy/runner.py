"""Runs a plan on a site's nodes: connect, gather facts, then step by step.

Order and failure rules (what the CLI documents):

- One connection per node, opened in parallel and reused for all its work;
  facts for every selected step, and the health checks' facts, come back in
  one round trip per node: a run that changes nothing asks each node once.
  Commands go over the OpenSSH client and its ControlMaster (sshmux.py);
  files are uploaded by Fabric over SFTP, connected at the first upload
  only, so a run that changes nothing never loads paramiko.
- Steps run in plan order, all nodes finishing a step before the next one.
  A rolling step (service reload/restart) goes node by node, VIP holder
  last; any other step runs on all nodes in parallel.
- After a node changes something, its facts are stale: they are asked again
  (one round trip) before its next action, so guards and file comparisons
  always see the node as it is now.
- A node that cannot be reached (or refuses our key, or shows a different
  host key) is left out; the others complete their work.
- A failed action ends that node's deploy; the other nodes go on, except in
  a rolling step: there the rollout stops and the nodes that had not taken
  the step yet are not touched (they keep their old, working config).
- After the whole plan (not with --step), deploy waits until the checks
  verify runs for the cluster's health pass (units, keepalived's track
  script, HAProxy's backends, the VIP): see health.py. What still fails is
  an error (exit 1); drift the procedure does not own (a backend down) is
  named as something deploy cannot fix.
- `--check` gathers the same facts, fetches the current content of the
  files that would change (one more round trip) and changes nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..checks import NodeFacts
from ..plan.steps import Action, FileAction, Plan, PlannedStep
from ..remote import sshmux
from ..remote.target import NodeUnreachableError, close_all
from ..vocabulary import Status
from .diff import Prediction, predict_action, predict_step
from .executor import Shell, apply_file, apply_run
from .facts import FactError, Facts, fetch_contents, gather, query_for
from .health import Health, settle, stable_window
from .outcome import ActionError, ActionResult, describe
from .result import DeployOptions, DeployResult
from .rolling import rolling_order
from .transcript import Transcript

if TYPE_CHECKING:
    from ..data.records import Node

# The daemon that holds the VIP: a step that configures it must end with the
# VIP on exactly one node.
VRRP_SERVICE = "keepalived"

# How long a rollout waits for VRRP to settle after a reload, on top of
# 3 × advert_int (the time a backup waits before claiming a silent VIP).
VIP_SETTLE_S = 7


@dataclass
class NodeState:
    node: Node
    shell: Shell | None = None
    facts: Facts | None = None
    stale: bool = False  # something changed since the facts were gathered
    out: str | None = None  # why this node takes no further part (None: still in play)
    first_look: NodeFacts | None = None  # health's facts from the opening round trip

    @property
    def name(self) -> str:
        return self.node.name


class Reporter:
    """What the runner tells the display; report.py implements it."""

    def node_state(self, node: str, text: str) -> None: ...
    def outcome(self, outcome: ActionResult) -> None: ...
    def error(self, message: str) -> None: ...


class Deployment:
    def __init__(
        self,
        plan: Plan,
        secrets: dict[str, str],
        options: DeployOptions,
        transcript: Transcript,
        reporter: Reporter | None = None,
        connect: Callable = sshmux.connect,
        health: Callable[[Plan, dict[str, str]], Health] | None = Health,
    ):
        self.plan = plan
        self.site = plan.site
        self.secrets = secrets
        self.mask = transcript.mask  # the same masking for messages, diffs and the transcript
        self.options = options
        self.transcript = transcript
        self.reporter = reporter or Reporter()
        self.connect = connect
        # Built before connecting, so the opening round trip carries health's facts too.
        whole_run = health is not None and options.step is None and not options.check
        self._health = health(plan, secrets) if whole_run else None
        self.steps = [s for s in plan.steps if options.step in (None, s.id)]
        nodes = [n for n in self.site.nodes if options.node in (None, n.name)]
        self.states = {n.name: NodeState(n) for n in nodes}
        self.result = DeployResult(site=self.site.name, check=options.check, nodes=list(self.states))
        self.result.transcript = transcript.path
        self.connections: dict = {}
        self._batch = threading.Lock()

    # ---------------------------------------------------------------- driver

    def run(self) -> DeployResult:
        started = time.monotonic()
        self.transcript.write("start", site=self.site.name, check=self.options.check,
                              node=self.options.node, step=self.options.step, nodes=list(self.states))
        try:
            self._parallel(list(self.states.values()), self._open)
            if self.options.check:
                self._parallel(self._in_play(), self._check_node)
            else:
                for step in self.steps:
                    self._run_step(step)
                if self.options.step is None:
                    self._settle_health()
        finally:
            close_all(self.connections)
            self.result.duration_s = time.monotonic() - started
            self.transcript.write("end", exit_code=self.result.exit_code, recap=self.result.recap(),
                                  errors=self.result.errors, duration_s=round(self.result.duration_s, 3))
            self.transcript.close()
        return self.result

    def _in_play(self) -> list[NodeState]:
        return [s for s in self.states.values() if s.out is None]

    def _parallel(self, states: list[NodeState], work: Callable[[NodeState], None]) -> None:
        if len(states) <= 1:
            for state in states:
                self._guarded(work, state)
            return
        with ThreadPoolExecutor(max_workers=len(states)) as pool:
            list(pool.map(lambda s: self._guarded(work, s), states))

    def _guarded(self, work: Callable[[NodeState], None], state: NodeState) -> None:
        # A bug or an unforeseen library error on one node must not take the
        # other node's work down with it, nor leave the run without a message.
        try:
            work(state)
        except Exception as exc:  # noqa: BLE001
            where = f"paso {state.shell.step}" if state.shell and state.shell.step else "despliegue"
            self._fail(state, where, f"error inesperado: {type(exc).__name__}: {exc}")

    # --------------------------------------------------------------- opening

    def _open(self, state: NodeState) -> None:
        self.reporter.node_state(state.name, "conectando")
        try:
            conn = self.connect(self.site, state.node)
        except NodeUnreachableError as exc:
            reason = str(exc).removeprefix(f"{state.name}: ")
            state.out = reason
            self.result.unreachable[state.name] = reason
            self._error(f"{state.name} · conexión: {reason}")
            self.reporter.node_state(state.name, "inalcanzable")
            return
        self.connections[state.name] = conn
        state.shell = Shell(conn, state.name, self.secrets, self.transcript, self.mask)
        self.reporter.node_state(state.name, "consultando estado")
        try:
            also = self._health.facts(state.name) if self._health else []
            state.facts = gather(state.shell, query_for(self.plan, state.name, self.steps), also)
        except (FactError, ActionError) as exc:
            self._fail(state, "estado", f"no se pudo consultar el estado: {exc}")
            return
        if self._health:
            state.first_look = NodeFacts(state.name, probes=state.facts.answers)

    # ----------------------------------------------------------------- steps

    def _run_step(self, step: PlannedStep) -> None:
        states = self._in_play()
        if not step.rolling or len(states) <= 1:
            self._parallel(states, lambda s: self._apply_step(s, step))
            return
        self._parallel(states, self._refresh)
        states = self._in_play()
        if not any(self._would_change(s, step) for s in states):
            self._parallel(states, lambda s: self._apply_step(s, step))
            return
        # The order depends on who holds the VIP *now* (an earlier step may
        # have moved it): ask every node again before choosing.
        self._parallel(states, lambda s: self._refresh(s, force=True))
        states = self._in_play()
        order = rolling_order([s.node for s in states], {s.name: s.facts.holds_vip for s in states})
        self.transcript.write("rolling", step=step.id, order=order)
        # Only wait for VRRP where there is a VIP to keep: it was served
        # before this step, or this step configures the daemon that holds it.
        order_settles = any(s.facts.holds_vip for s in states) or configures_vrrp(step)
        for i, name in enumerate(order):
            last = i == len(order) - 1
            if self._apply_step(self.states[name], step) and (
                not order_settles or self._settle_vip(step, last)
            ):
                continue
            for rest in order[i + 1:]:
                self._stop(self.states[rest], step, f"despliegue escalonado detenido porque falló {name}")
            return

    def _settle_vip(self, step: PlannedStep, last: bool) -> bool:
        """Wait until exactly one node holds the VIP before touching the next node.

        A reload is only safe for the cluster once VRRP has settled again;
        without this wait a rollout (or a verify right after deploy) could
        find the VIP on no node while keepalived's track script is still
        rising. After the last node every node runs the new config, so we
        also wait for the highest priority to take the VIP back (preemption);
        if it does not within the time limit, one holder is still a served
        VIP and the rollout goes on. Polling reuses the facts query.
        """
        states = self._in_play()
        if not any(s.stale for s in states):
            return True  # nothing was reloaded on this pass
        deadline = time.monotonic() + VIP_SETTLE_S + 3 * self.site.vrrp.advert_int
        preferred = max(states, key=lambda s: s.node.priority).name if last else None
        holders: list[str] = []
        while True:
            self._parallel(states, lambda s: self._refresh(s, force=True))
            states = self._in_play()
            holders = [s.name for s in states if s.facts.holds_vip]
            if len(holders) == 1 and preferred in (None, holders[0]):
                break
            if time.monotonic() > deadline:
                break
            for state in states:
                self.reporter.node_state(state.name, f"{step.id}: esperando a la IP virtual")
            time.sleep(0.2)
        self.transcript.write("vip", step=step.id, holders=holders)
        if len(holders) == 1 or len(states) < len(self.site.nodes):
            return True  # a partial run (--node, unreachable peer) cannot judge the cluster
        where = ", ".join(holders) if holders else "ningún nodo"
        self._error(f"paso {step.id}: la IP virtual {self.site.vip} no se asentó (está en {where})")
        self.result.unsettled = True
        return False

    def _settle_health(self) -> None:
        """After the whole plan: wait for verify's health checks to pass, report what still fails.

        Only a run that changed something waits (a restarted service, an
        interface brought up: VRRP, keepalived's track script and HAProxy's
        backend checks need a few seconds); a no-op run looks once. Whatever
        still fails ends the run with exit code 1, and a failure deploy does
        not own says so (see health.py).
        """
        if self._health is None or not self._in_play():
            return
        health = self._health
        changed = any(o.status == Status.CHANGED for o in self.result.outcomes)
        # Nothing changed: the opening round trip's answers are the node as it is now (first look only).
        looks = []

        def look() -> dict:
            looks.append(1)
            return self._health_facts(health, reuse=not changed and len(looks) == 1)

        problems = settle(health, look, wait=changed, waiting=self._waiting,
                          stable_s=stable_window(self.site.vrrp.advert_int))
        self.transcript.write("health", problems=[p.to_json() for p in problems])
        self.result.remaining = problems
        for problem in problems:
            self._error(problem.message())

    def _health_facts(self, health: Health, reuse: bool = False) -> dict:
        facts = {}

        def look(state: NodeState) -> None:
            if reuse and state.first_look is not None:
                facts[state.name] = state.first_look
                return
            try:
                facts[state.name] = health.gather(state.shell, state.name)
            except ActionError as exc:
                self._fail(state, "estado", f"no se pudo consultar el estado: {exc}")

        self._parallel(self._in_play(), look)
        return {s.name: facts[s.name] for s in self._in_play()}

    def _waiting(self) -> None:
        for state in self._in_play():
            self.reporter.node_state(state.name, "esperando a que el clúster se asiente")

    def _would_change(self, state: NodeState, step: PlannedStep) -> bool:
        predictions = predict_step(step, state.name, state.facts, self.secrets)
        return any(p.status is Status.CHANGED for p in predictions)

    def _apply_step(self, state: NodeState, step: PlannedStep) -> bool:
        """Apply one step on one node; False if the node is out of play."""
        if state.out is not None:
            return False
        state.shell.step = step.id
        self.reporter.node_state(state.name, step.id)
        for action in step.actions[state.name]:
            if not self._refresh(state):
                return False
            if step.when_file_exists and not state.facts.exists[step.when_file_exists]:
                prediction = predict_step(step, state.name, state.facts, self.secrets)[0]
                self._record(state, step, action, Status.SKIPPED, prediction.reason)
                continue
            prediction = predict_action(action, state.facts, self.secrets)
            if prediction.status != Status.CHANGED:
                self._record(state, step, action, prediction.status, prediction.reason)
            elif not self._apply(state, step, prediction):
                return False
        return True

    def _apply(self, state: NodeState, step: PlannedStep, prediction: Prediction) -> bool:
        action = prediction.action
        self.reporter.node_state(state.name, f"{step.id}: {describe(action)}")
        started = time.monotonic()
        state.stale = True  # even a failed action may have changed something
        try:
            if isinstance(action, FileAction):
                message = apply_file(state.shell, action, prediction)
            else:
                message = apply_run(state.shell, action)
        except ActionError as exc:
            self._record(state, step, action, Status.FAILED, str(exc), started=started)
            self._fail(state, f"paso {step.id}", str(exc))
            return False
        self._record(state, step, action, Status.CHANGED, f"{prediction.reason}: {message}", started=started)
        return True

    def _refresh(self, state: NodeState, force: bool = False) -> bool:
        """Facts again (one round trip) if something changed since; False if that failed."""
        if state.out is not None:
            return False
        if not (state.stale or force):
            return True
        try:
            state.facts = gather(state.shell, query_for(self.plan, state.name, self.steps))
        except (FactError, ActionError) as exc:
            self._fail(state, "estado", f"no se pudo consultar el estado: {exc}")
            return False
        state.stale = False
        return True

    # ------------------------------------------------------------ --check

    def _check_node(self, state: NodeState) -> None:
        self.reporter.node_state(state.name, "comparando")
        predictions = [(step, p) for step in self.steps
                       for p in predict_step(step, state.name, state.facts, self.secrets)]
        paths = [p.action.path for _, p in predictions if p.content_changed]
        try:
            current = fetch_contents(state.shell, paths)
        except (FactError, ActionError) as exc:
            self._fail(state, "estado", str(exc))
            return
        with self._batch:  # one node's lines together, not interleaved with the other's
            for step, p in predictions:
                diff = None
                if p.content_changed:
                    path = p.action.path
                    diff = self.mask.file_diff(current.get(path), p.action.content,
                                               f"{path} (en el nodo)", f"{path} (según el plan)")
                self._record(state, step, p.action, p.status, p.reason, diff=diff)
        self.reporter.node_state(state.name, "comparado")

    # ----------------------------------------------------------- bookkeeping

    def _record(self, state: NodeState, step: PlannedStep, action: Action, status: Status, message: str,
                diff: str | None = None, started: float | None = None) -> None:
        outcome = ActionResult(
            node=state.name,
            step=step.id,
            kind=action.kind,
            target=describe(action),
            status=status,
            message=self.mask.text(message),
            diff=diff,
            duration_s=round(time.monotonic() - started, 3) if started else 0.0,
        )
        self.result.outcomes.append(outcome)
        self.transcript.write("outcome", **{k: v for k, v in outcome.to_json().items() if k != "diff"})
        self.reporter.outcome(outcome)

    def _fail(self, state: NodeState, where: str, message: str) -> None:
        state.out = message
        self.result.failed_nodes[state.name] = message
        self._error(f"{state.name} · {where}: {message}")
        self.reporter.node_state(state.name, "fallido")

    def _stop(self, state: NodeState, step: PlannedStep, reason: str) -> None:
        state.out = reason
        self.result.stopped[state.name] = reason
        for action in step.actions[state.name]:
            self._record(state, step, action, Status.SKIPPED, reason)
        self.reporter.node_state(state.name, "detenido")

    def _error(self, message: str) -> None:
        message = self.mask.text(message)
        self.result.errors.append(message)
        self.transcript.write("error", message=message)
        self.reporter.error(message)


def configures_vrrp(step: PlannedStep) -> bool:
    """The step writes a file of the daemon that holds the VIP (export's rollout waits the same way)."""
    actions = [a for acts in step.actions.values() for a in acts]
    return any(isinstance(a, FileAction) and a.service == VRRP_SERVICE for a in actions)
