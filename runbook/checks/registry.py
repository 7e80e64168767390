"""The registry: every check verify runs for a site, built from its plan.

Documented checks come straight from `plan.checks(node)`. Verify's own
checks are built here from the plan and the site (one per managed file, per
unit, per service...); their titles and steps come from the catalog the
site publishes, and an id the catalog does not list is an error, so the
verification page cannot describe a different set of checks than this one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..facts.base import Fact
from ..facts.net import Ipv4Addresses
from ..plan import FileAction, Plan
from ..verify_catalog import NONLOCAL_BIND_KEY, UNITS, CheckDoc, catalog, file_check_id, managed_files
from . import cluster, node
from .base import ClusterCheck, NodeCheck
from .documented import DocumentedCheck
from .parse import haproxy_stats_socket, keepalived_config_names

KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"
DEFAULT_HAPROXY_SOCKET = "/run/haproxy/admin.sock"


@dataclass
class Registry:
    documented: list[DocumentedCheck]
    node: list[NodeCheck]
    cluster: list[ClusterCheck]

    @property
    def own_ids(self) -> list[str]:
        """Ids of verify's own checks: must equal the catalog's."""
        return [c.id for c in self.node] + [c.id for c in self.cluster]

    def node_checks(self) -> list[NodeCheck]:
        return [*self.documented, *self.node]

    def facts(self, node_name: str) -> list[Fact]:
        """Every fact the node's checks need (the runner asks each key once), in check order."""
        return [*(f for check in self.node_checks() for f in check.facts(node_name)), Ipv4Addresses()]


def build_registry(
    plan: Plan, secrets: dict[str, str] | None = None, secret_error: str | None = None
) -> Registry:
    from ..masking import SecretMask
    from ..secrets import materialize

    site = plan.site
    docs = {d.id: d for d in catalog(site, plan)}
    secrets = secrets or {}

    def doc(check_id: str) -> CheckDoc:
        if check_id not in docs:
            raise KeyError(f"la comprobación {check_id} no está en el catálogo de verify")
        return docs[check_id]

    mask = SecretMask.for_plan(plan, secrets)

    def contents(path: str) -> dict[str, FileAction]:
        return {
            n: a
            for n in plan.node_names
            for a in plan.actions(n)
            if isinstance(a, FileAction) and a.path == path
        }

    documented = []
    for step in plan.steps:
        first = plan.node_names[0]
        for index, check in enumerate(step.checks[first]):
            documented.append(
                DocumentedCheck(
                    id=check.id,
                    title=check.title,
                    step=step.id,
                    checks={n: step.checks[n][index] for n in plan.node_names},
                    when_file_exists=step.when_file_exists,
                    redact=mask.text,
                )
            )

    node_checks: list[NodeCheck] = []
    for action in managed_files(plan):
        per_node = contents(action.path)
        d = doc(file_check_id(action.path))
        node_checks.append(
            node.FileMatches(
                id=d.id,
                title=d.title,
                step=d.step,
                path=action.path,
                mode=action.mode,
                owner=action.owner,
                group=action.group,
                expected={n: _materialize(a.content, secrets, materialize) for n, a in per_node.items()},
                shown={n: a.content for n, a in per_node.items()},
                secret_error=secret_error,
                mask=mask,
            )
        )
    for unit in UNITS:
        d = doc(f"unidad-{unit}")
        node_checks.append(node.UnitActiveEnabled(d.id, d.title, d.step, unit=unit))
    d = doc("nonlocal-bind-persistente")
    node_checks.append(node.SysctlPersisted(d.id, d.title, d.step, key=NONLOCAL_BIND_KEY, value="1"))

    keepalived = contents(KEEPALIVED_CONF)
    scripts = {n: keepalived_config_names(a.content)[0] for n, a in keepalived.items()}
    instances = {n: keepalived_config_names(a.content)[1] for n, a in keepalived.items()}
    d = doc("keepalived-seguimiento")
    node_checks.append(node.KeepalivedTracking(d.id, d.title, d.step, scripts=scripts, instances=instances))

    haproxy = contents(HAPROXY_CFG)
    sockets = {haproxy_stats_socket(a.content) for a in haproxy.values()} - {None}
    socket = sorted(sockets)[0] if sockets else DEFAULT_HAPROXY_SOCKET
    for svc in site.services:
        d = doc(f"servicio-{svc.name}-backends")
        backends = [b.name for b in svc.backends]
        node_checks.append(node.BackendsUp(d.id, d.title, d.step, svc.name, backends, socket))

    vip = str(site.vip)
    cluster_checks: list[ClusterCheck] = []
    d = doc("vip-unica")
    cluster_checks.append(cluster.VipUnique(d.id, d.title, d.step, vip=vip))
    d = doc("vip-nodo-previsto")
    priorities = {n.name: n.priority for n in site.nodes}
    cluster_checks.append(cluster.VipExpected(d.id, d.title, d.step, vip, priorities, instances))
    for svc in site.services:
        d = doc(f"servicio-{svc.name}-responde")
        cluster_checks.append(cluster.ServiceResponds(d.id, d.title, d.step, svc.name, f"{vip}:{svc.port}"))
        d = doc(f"servicio-{svc.name}-reparto")
        backends = [b.name for b in svc.backends]
        cluster_checks.append(cluster.ServiceSpread(d.id, d.title, d.step, svc.name, svc.balance, backends))
    d = doc("estadisticas-protegidas")
    cluster_checks.append(cluster.StatsProtected(d.id, d.title, d.step, nodes=list(plan.node_names)))
    return Registry(documented=documented, node=node_checks, cluster=cluster_checks)


def _materialize(content: str, secrets: dict[str, str], materialize: Callable[[str, dict], str]) -> str:
    try:
        return materialize(content, secrets)
    except Exception:  # noqa: BLE001 - a missing secret is reported by the file check itself
        return content
