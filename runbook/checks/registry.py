"""The registry: every check verify runs for a site, built from its plan.

Documented checks come straight from `plan.checks(node)`. Verify's own
checks are built here from the plan and the site, each with its own
documentation (title, Spanish description, step): one per managed file, per
unit a managed file reloads, per persisted sysctl, per service... Paths,
units and keys are read from the plan (managed.py: what `procedure.yaml` declares), never
typed here. The site's verification page lists `catalog(plan)`, the very
checks this builds, so it cannot describe a check verify does not run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..data.records import DEFAULT_HEALTH_CHECK
from ..facts.base import Fact
from ..facts.net import Ipv4Addresses
from ..plan.steps import Plan
from ..vocabulary import Kind, Scope
from . import cluster, node
from .base import Check, ClusterCheck, NodeCheck
from .documented import DocumentedCheck
from .managed import (
    enabling_step,
    file_check_id,
    haproxy_config,
    keepalived_config,
    keepalived_names,
    managed_files,
    managed_units,
    per_node,
    persisted_sysctls,
    step_of,
    sysctl_check_id,
    sysctl_name,
)
from .parse import haproxy_stats_socket

if TYPE_CHECKING:
    from ..data.records import Site
    from ..plan.masking import SecretMask

DEFAULT_HAPROXY_SOCKET = "/run/haproxy/admin.sock"


@dataclass
class Registry:
    """Every check verify runs for a plan, in report order, and the facts each node must answer."""

    checks: list[Check]  # in report order: documented, node state, cluster

    @property
    def documented(self) -> list[DocumentedCheck]:
        return [c for c in self.checks if c.kind is Kind.DOCUMENTED]

    @property
    def node(self) -> list[NodeCheck]:
        """Verify's own checks of each node's state."""
        return [c for c in self.checks if c.kind is Kind.STATE]

    @property
    def cluster(self) -> list[ClusterCheck]:
        return [c for c in self.checks if c.kind is Kind.CLUSTER]

    @property
    def own(self) -> list[Check]:
        """Verify's own checks (beyond the documented ones): what the site's catalog lists."""
        return [c for c in self.checks if c.kind is not Kind.DOCUMENTED]

    @property
    def own_ids(self) -> list[str]:
        return [c.id for c in self.own]

    def node_checks(self) -> list[NodeCheck]:
        return [c for c in self.checks if c.scope is Scope.NODE]

    def facts(self, node_name: str) -> list[Fact]:
        """Every fact the node's checks need (the runner asks each key once), in check order."""
        return [*(f for check in self.node_checks() for f in check.facts(node_name)), Ipv4Addresses()]


def catalog(plan: Plan) -> list[Check]:
    """Verify's own checks for the site's verification page: the registry's, as built.

    No secrets: the page shows descriptions only, never the files' contents.
    """
    return build_registry(plan).own


def build_registry(
    plan: Plan, secrets: dict[str, str] | None = None, secret_error: str | None = None
) -> Registry:
    from ..plan.masking import SecretMask

    secrets = secrets or {}
    mask = SecretMask.for_plan(plan, secrets)  # hides secrets in outputs and diffs shown
    checks: list[Check] = [*_documented_checks(plan, mask)]
    checks += _file_checks(plan, secrets, secret_error, mask)
    checks += _unit_checks(plan)
    checks += _sysctl_checks(plan)
    checks += _keepalived_checks(plan)
    checks += _backend_checks(plan)
    checks += _cluster_checks(plan)
    _assert_unique(checks)
    return Registry(checks)


# --------------------------------------------------------------------- documented


def _documented_checks(plan: Plan, mask: SecretMask) -> Iterator[DocumentedCheck]:
    first = plan.node_names[0]
    for step in plan.steps:
        for index, check in enumerate(step.checks[first]):
            yield DocumentedCheck(
                check.id,
                check.title,
                step.id,
                checks={n: step.checks[n][index] for n in plan.node_names},
                when_file_exists=step.when_file_exists,
                redact=mask.text,
                description=check.description,
                # A step with checks only (the servers answer) has nothing deploy could redo.
                checks_only=not any(step.actions.values()),
            )


# --------------------------------------------------------------------- node state


def _file_checks(
    plan: Plan, secrets: dict[str, str], secret_error: str | None, mask: SecretMask
) -> Iterator[NodeCheck]:
    from ..plan.secrets import materialize

    for action in managed_files(plan):
        files = per_node(plan, action.path)
        yield node.FileMatches(
            file_check_id(action.path),
            f"{action.path} es el del sitio",
            action.step,
            path=action.path,
            mode=action.mode,
            owner=action.owner,
            group=action.group,
            expected={n: _materialize(a.content, secrets, materialize) for n, a in files.items()},
            shown={n: a.content for n, a in files.items()},
            secret_error=secret_error,
            mask=mask,
            description=(
                f"El contenido de `{action.path}` en el nodo es idéntico al generado para ese "
                f"nodo (modo {action.mode}, {action.owner}:{action.group}) y ninguna copia que "
                "guarde el despliegue (`.runbook-bak`, `.runbook-tmp`) tiene permisos más "
                "abiertos; si no, se muestra la diferencia (nodo frente a sitio), con los "
                "secretos ocultos."
            ),
        )


def _unit_checks(plan: Plan) -> Iterator[NodeCheck]:
    units = managed_units(plan)
    for unit in units:
        yield node.UnitActiveEnabled(
            f"unidad-{unit}",
            f"{unit} en marcha y habilitado",
            enabling_step(plan, unit),
            unit=unit,
            description=f"systemd informa de `{unit}` como `active` y `enabled`.",
        )


def _sysctl_checks(plan: Plan) -> Iterator[NodeCheck]:
    for key, value, step in persisted_sysctls(plan):
        name, interface = sysctl_name(key)
        yield node.SysctlPersisted(
            sysctl_check_id(key),
            f"{name}{f' ({interface})' if interface else ''} persiste tras un reinicio",
            step,
            key=key,
            value=value,
            description=(
                f"Un fichero de `/etc/sysctl.d/` (o `/etc/sysctl.conf`) fija `{key} = {value}` "
                "y ninguno posterior lo anula."
            ),
        )


def _keepalived_checks(plan: Plan) -> Iterator[NodeCheck]:
    config = keepalived_config(plan)
    if config is None:
        return
    scripts, instances = keepalived_names(plan)
    shown = " ".join(f"`{s}`" for s in scripts[plan.node_names[0]])
    yield node.KeepalivedTracking(
        "keepalived-seguimiento",
        "La comprobación de HAProxy de Keepalived funciona",
        config.step,
        scripts=scripts,
        instances=instances,
        description=(
            f"Según el volcado de estado del propio keepalived, el script {shown} "
            "está en estado bueno (ni fallando ni desactivado) y la instancia VRRP no está en FAULT."
        ),
    )
    if plan.site.vrrp.unicast:
        lan = {n.name: str(n.lan_address) for n in plan.site.nodes}
        yield node.VrrpUnicast(
            "vrrp-unicast",
            "Keepalived envía sus anuncios por unicast",
            config.step,
            instances=instances,
            peers={name: [a for other, a in lan.items() if other != name] for name in lan},
            sources=lan,
            description=(
                "Según el volcado de estado del propio keepalived (no según el fichero), cada "
                "instancia VRRP envía sus anuncios por unicast a la dirección LAN de cada uno de los "
                "demás nodos, desde la suya. Si keepalived no entiende el bloque `unicast_peer`, "
                "vuelve al multicast sin avisar: en una red sin multicast los dos nodos se quedarían "
                "con la IP virtual."
            ),
        )


def _backend_checks(plan: Plan) -> Iterator[NodeCheck]:
    config = haproxy_config(plan)
    configs = per_node(plan, config.path) if config else {}
    sockets = {haproxy_stats_socket(a.content) for a in configs.values()} - {None}
    socket = sorted(sockets)[0] if sockets else DEFAULT_HAPROXY_SOCKET
    step = step_of(config)
    for svc in plan.site.services:
        backends = [b.name for b in svc.backends]
        yield node.BackendsUp(
            f"servicio-{svc.name}-backends",
            f"Servidores de {svc.name} disponibles",
            step,
            svc.name,
            backends,
            socket,
            description=(
                "En la vista de HAProxy (`show stat` del socket de administración) todos los "
                f"servidores de `{svc.name}` ({', '.join(backends)}) están `UP`."
            ),
        )


# --------------------------------------------------------------------- cluster


def _cluster_checks(plan: Plan) -> Iterator[ClusterCheck]:
    site = plan.site
    vip = str(site.vip)
    _, instances = keepalived_names(plan)
    proxy = haproxy_config(plan)
    vrrp_step, proxy_step = step_of(keepalived_config(plan)), step_of(proxy)
    yield cluster.VipUnique(
        "vip-unica",
        "La IP virtual está en un solo nodo",
        vrrp_step,
        vip=vip,
        multicast=not site.vrrp.unicast,
        description=f"Exactamente un nodo tiene {vip} en `{site.network.lan.interface}`.",
    )
    yield cluster.VipExpected(
        "vip-nodo-previsto",
        "La IP virtual está en el nodo que dicen las prioridades",
        vrrp_step,
        vip,
        {n.name: n.priority for n in site.nodes},
        instances,
        description=(
            f"{vip} la tiene el nodo de mayor prioridad entre los que compiten por ella: "
            "keepalived en marcha y su instancia VRRP fuera de FAULT (con todo sano, "
            f"{site.vip_owner.name})."
        ),
    )
    for svc in site.services:
        backends = [b.name for b in svc.backends]
        yield cluster.ServiceResponds(
            f"servicio-{svc.name}-responde",
            f"{svc.name} responde a través de la IP virtual",
            enabling_step(plan, proxy.service if proxy else None),
            svc.name,
            f"{vip}:{svc.port}",
            description=(
                f"Desde un cliente de la LAN, {_answer(site, svc)}, servida por uno de sus servidores."
            ),
        )
        yield cluster.ServiceSpread(
            f"servicio-{svc.name}-reparto",
            f"{svc.name} reparte la carga como promete `balance {svc.balance}`",
            proxy_step,
            svc.name,
            svc.balance,
            backends,
            description=_balance_promise(svc.balance),
        )
    yield cluster.StatsProtected(
        "estadisticas-protegidas",
        "La página de estadísticas pide contraseña",
        proxy_step,
        nodes=list(plan.node_names),
        description=(
            f"En cada nodo, `http://<dirección del nodo>:{site.stats.port}{site.stats.uri}` sin "
            "credenciales responde 401."
        ),
    )


def _answer(site: Site, svc) -> str:
    """What a client on the LAN gets from a service through the VIP (Spanish)."""
    if svc.mode == "http":
        check = svc.health_check or DEFAULT_HEALTH_CHECK
        return (
            f"`GET http://{site.vip}:{svc.port}{check.path}` responde {check.expect_description} "
            "(lo que acepta su comprobación de salud) y, siguiendo las redirecciones como un "
            "navegador, acaba en una página que no redirige"
        )
    return f"la orden `version` de memcached a {site.vip}:{svc.port} recibe `VERSION …`"


def _balance_promise(balance: str) -> str:
    if balance == "source":
        return (
            "Varias direcciones de cliente distintas acaban en servidores distintos, y cada "
            "dirección siempre en el mismo."
        )
    return "Peticiones seguidas desde un mismo cliente llegan a todos los servidores."


def _assert_unique(checks: list[Check]) -> None:
    seen: set[str] = set()
    for check in checks:
        if check.id in seen:
            raise ValueError(f"id de comprobación repetido en verify: {check.id}")
        seen.add(check.id)


def _materialize(content: str, secrets: dict[str, str], materialize: Callable[[str, dict], str]) -> str:
    try:
        return materialize(content, secrets)
    except Exception:  # noqa: BLE001 - a missing secret is reported by the file check itself
        return content
