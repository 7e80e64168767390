"""Checks of the whole site: the VIP, and the services as a client on the LAN sees them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..facts.base import FactError
from ..facts.net import Ipv4Addresses, vip_held
from ..wording import spanish_list
from .base import ClusterCheck, ClusterFacts, NodeFacts, Outcome
from .node import gives_up_vip


def holds(facts: NodeFacts, vip: str) -> bool | None:
    """Whether the node holds the VIP; None when its addresses are unknown."""
    try:
        return vip_held(facts.value(Ipv4Addresses()), vip)
    except FactError:
        return None


def _holders(facts: ClusterFacts, vip: str) -> tuple[list[str], list[str]]:
    """(nodes holding the VIP, nodes whose state is unknown)."""
    holding, unknown = [], []
    for name, node in facts.nodes.items():
        state = None if node.unreachable else holds(node, vip)
        if state is None:
            unknown.append(name)
        elif state:
            holding.append(name)
    return holding, unknown


@dataclass
class VipUnique(ClusterCheck):
    """The virtual IP is on exactly one node."""

    vip: str
    multicast: bool = True  # the site's VRRP adverts go to 224.0.0.18 (not vrrp.unicast)

    def evaluate(self, facts: ClusterFacts) -> Outcome:
        holding, unknown = _holders(facts, self.vip)
        if len(holding) > 1:
            why = (": los nodos no se ven por VRRP; sus anuncios van por multicast a 224.0.0.18 y, si la "
                   "red no deja pasar el multicast, no llegan: usa unicast (vrrp.unicast: true)"
                   if self.multicast else ": los nodos no se ven por VRRP")
            return Outcome.fail(f"{self.vip} está a la vez en {spanish_list(holding)}{why}")
        if unknown:
            return Outcome.error(f"no se sabe si {', '.join(unknown)} tiene {self.vip} (nodo sin datos)")
        if not holding:
            return Outcome.fail(f"ningún nodo tiene {self.vip}: el servicio no es accesible")
        return Outcome.ok(f"{self.vip} solo está en {holding[0]}")


@dataclass
class VipExpected(ClusterCheck):
    """The virtual IP is on the node VRRP should elect (highest priority among those competing)."""

    vip: str
    priorities: dict[str, int]
    instances: dict[str, list[str]]  # node -> vrrp_instance names of its rendered config

    def predict(self, facts: ClusterFacts) -> tuple[str | None, list[str]]:
        """The node that should hold the VIP: highest priority among those that compete for it."""
        excluded = []
        candidates = []
        for name, node in facts.nodes.items():
            reason = "sin datos" if node.unreachable else gives_up_vip(node, self.instances[name])
            if reason:
                excluded.append(f"{name} {reason}")
            else:
                candidates.append(name)
        best = max(candidates, key=lambda n: self.priorities[n], default=None)
        return best, excluded

    def evaluate(self, facts: ClusterFacts) -> Outcome:
        holding, unknown = _holders(facts, self.vip)
        expected, excluded = self.predict(facts)
        why = f"prioridades {', '.join(f'{n} {p}' for n, p in self.priorities.items())}"
        if excluded:
            why += "; descartados: " + ", ".join(excluded)
        if expected is None:
            return Outcome.fail(f"ningún nodo está en condiciones de tener {self.vip} ({why})")
        if holding == [expected]:
            return Outcome.ok(f"{self.vip} está en {expected}, como se esperaba ({why})")
        if not holding and unknown:
            return Outcome.error(f"no se sabe dónde está {self.vip} ({why})")
        where = spanish_list(holding) if holding else "ningún nodo"
        return Outcome.fail(f"{self.vip} está en {where}; debería estar en {expected} ({why})")


# --------------------------------------------------------------------- client side


def _client_unavailable(facts: ClusterFacts) -> Outcome | None:
    if facts.client.available:
        return None
    if facts.client.skipped:
        return Outcome.skip(facts.client.reason)
    return Outcome.error(facts.client.reason)


@dataclass
class ServiceResponds(ClusterCheck):
    """Every request of the lab client to a service through the VIP got an answer."""

    service: str
    address: str  # VIP:port, for messages

    def evaluate(self, facts: ClusterFacts) -> Outcome:
        skipped = _client_unavailable(facts)
        if skipped:
            return skipped
        answers = facts.client.services.get(self.service, [])
        if not answers:
            return Outcome.error(f"el cliente no hizo ninguna petición a {self.service}")
        bad = [a for a in answers if not a.get("ok")]
        if bad:
            examples = "; ".join(
                f"desde {a['source']}: {a.get('error') or a.get('answer')}" for a in bad[:3]
            )
            return Outcome.fail(
                f"{len(bad)} de {len(answers)} peticiones a {self.address} fallaron ({examples})"
            )
        served = Counter(a.get("backend") or "?" for a in answers)
        spread = ", ".join(f"{name} {count}" for name, count in sorted(served.items()))
        total = len(answers)
        typical = Counter(a.get("answer") for a in answers if a.get("answer")).most_common(1)
        seen = f" ({typical[0][0]})" if typical else ""
        return Outcome.ok(f"{total} de {total} peticiones a {self.address} correctas{seen}: {spread}")


@dataclass
class ServiceSpread(ClusterCheck):
    """The lab client's requests to a service reach its backends as its balance promises."""

    service: str
    balance: str
    backends: list[str]

    def evaluate(self, facts: ClusterFacts) -> Outcome:
        skipped = _client_unavailable(facts)
        if skipped:
            return skipped
        answers = [a for a in facts.client.services.get(self.service, []) if a.get("ok")]
        if not answers:
            return Outcome.fail(
                f"ninguna petición a {self.service} tuvo respuesta: no se puede ver el reparto"
            )
        if any(not a.get("backend") for a in answers):
            return Outcome.skip(
                "la respuesta no dice qué servidor la atendió: no se puede comprobar el reparto"
            )
        want = min(2, len(self.backends))
        if self.balance == "source":
            return self._by_source(answers, want)
        seen = {a["backend"] for a in answers}
        if seen >= set(self.backends):
            names = ", ".join(sorted(seen))
            return Outcome.ok(f"{len(answers)} peticiones seguidas pasaron por todos: {names}")
        missing = sorted(set(self.backends) - seen)
        return Outcome.fail(f"{len(answers)} peticiones seguidas nunca llegaron a {', '.join(missing)}")

    def _by_source(self, answers: list[dict], want: int) -> Outcome:
        per_source: dict[str, set[str]] = {}
        for a in answers:
            per_source.setdefault(a["source"], set()).add(a["backend"])
        unstable = sorted(s for s, b in per_source.items() if len(b) > 1)
        if unstable:
            return Outcome.fail(
                "una misma dirección acabó en servidores distintos: "
                + "; ".join(f"{s} → {', '.join(sorted(per_source[s]))}" for s in unstable[:3])
            )
        groups: dict[str, list[str]] = {}
        for source, backends in per_source.items():
            groups.setdefault(next(iter(backends)), []).append(source.rsplit(".", 1)[-1])
        summary = "; ".join(f"{b} ← .{', .'.join(sorted(s, key=int))}" for b, s in sorted(groups.items()))
        if len(groups) < want:
            return Outcome.fail(
                f"las {len(per_source)} direcciones de cliente acaban todas en {next(iter(groups))}"
            )
        return Outcome.ok(f"{len(per_source)} direcciones, cada una siempre en el mismo: {summary}")


@dataclass
class StatsProtected(ClusterCheck):
    """HAProxy's statistics page on each node asks for its password."""

    nodes: list[str]

    def evaluate(self, facts: ClusterFacts) -> Outcome:
        skipped = _client_unavailable(facts)
        if skipped:
            return skipped
        results, problems = [], []
        for node in self.nodes:
            seen = facts.client.stats.get(node, {})
            status = seen.get("status")
            if status == 401:
                results.append(f"{node} 401")
            elif status is None:
                problems.append(f"{node}: sin respuesta ({seen.get('error', 'no se probó')})")
            else:
                problems.append(f"{node}: respondió {status} sin pedir contraseña")
        if problems:
            return Outcome.fail("; ".join(problems))
        return Outcome.ok("sin credenciales: " + ", ".join(results))

