"""The catalog of verify's own checks: what it checks beyond the documented ones.

Pure: built from the site and its plan, touches nothing. The documented
"Comprobación" checks of each step come from `plan.checks(node)`; this list
holds every *other* check `invoke verify` runs (state of the managed files,
units, keepalived's health check, the VIP, the backends, the services seen
from a client). The site renders it on its verification page, and the
verify registry is built to run exactly these ids (a test holds both to it),
so that page cannot promise a check verify does not perform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .model import HealthCheck, Site
from .plan import FileAction, Plan

Scope = Literal["nodo", "clúster"]

# The two units the procedure installs and enables (step "servicios").
UNITS = ("haproxy", "keepalived")
NONLOCAL_BIND_KEY = "net.ipv4.ip_nonlocal_bind"


@dataclass(frozen=True)
class CheckDoc:
    id: str
    title: str
    scope: Scope  # "nodo": run on every node; "clúster": once for the site
    description: str  # the expected outcome, in Spanish
    step: str | None  # the procedure step it relates to (its section on the site)


def file_check_id(path: str) -> str:
    """`/etc/haproxy/haproxy.cfg` -> `fichero-haproxy`: short, stable, readable."""
    base = path.rstrip("/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return f"fichero-{slug or 'sin-nombre'}"


def managed_files(plan: Plan) -> list[FileAction]:
    """Each managed path once (first node's action), in procedure order."""
    seen: dict[str, FileAction] = {}
    for action in plan.actions():
        if isinstance(action, FileAction) and action.path not in seen:
            seen[action.path] = action
    return list(seen.values())


def catalog(site: Site, plan: Plan | None = None) -> list[CheckDoc]:
    """Every check verify runs beyond the plan's documented checks, in report order."""
    if plan is None:
        from .load import load_procedure
        from .plan import build_plan

        plan = build_plan(site, load_procedure())
    docs: list[CheckDoc] = []
    docs += _file_checks(plan)
    docs += _node_checks(site)
    docs += _cluster_checks(site)
    _assert_unique(docs)
    return docs


def _file_checks(plan: Plan) -> list[CheckDoc]:
    out = []
    for action in managed_files(plan):
        out.append(
            CheckDoc(
                id=file_check_id(action.path),
                title=f"{action.path} es el del sitio",
                scope="nodo",
                description=(
                    f"El contenido de `{action.path}` en el nodo es idéntico al generado para ese "
                    f"nodo (modo {action.mode}, {action.owner}:{action.group}) y ninguna copia que "
                    "guarde el despliegue (`.runbook-bak`, `.runbook-tmp`) tiene permisos más "
                    "abiertos; si no, se muestra la diferencia (nodo frente a sitio), con los "
                    "secretos ocultos."
                ),
                step=action.step,
            )
        )
    return out


def _node_checks(site: Site) -> list[CheckDoc]:
    out = [
        CheckDoc(
            id=f"unidad-{unit}",
            title=f"{unit} en marcha y habilitado",
            scope="nodo",
            description=f"systemd informa de `{unit}` como `active` y `enabled`.",
            step="servicios",
        )
        for unit in UNITS
    ]
    out.append(
        CheckDoc(
            id="nonlocal-bind-persistente",
            title="ip_nonlocal_bind persiste tras un reinicio",
            scope="nodo",
            description=(
                f"Un fichero de `/etc/sysctl.d/` (o `/etc/sysctl.conf`) fija `{NONLOCAL_BIND_KEY} = 1` "
                "y ninguno posterior lo anula."
            ),
            step="ip-no-local",
        )
    )
    out.append(
        CheckDoc(
            id="keepalived-seguimiento",
            title="La comprobación de HAProxy de Keepalived funciona",
            scope="nodo",
            description=(
                "Según el volcado de estado del propio keepalived, el script `chk_haproxy` "
                "está en estado bueno (ni fallando ni desactivado) y la instancia VRRP no está en FAULT."
            ),
            step="keepalived",
        )
    )
    for svc in site.services:
        out.append(
            CheckDoc(
                id=f"servicio-{svc.name}-backends",
                title=f"Servidores de {svc.name} disponibles",
                scope="nodo",
                description=(
                    f"En la vista de HAProxy (`show stat` del socket de administración) todos los "
                    f"servidores de `{svc.name}` ("
                    + ", ".join(b.name for b in svc.backends)
                    + ") están `UP`."
                ),
                step="haproxy",
            )
        )
    return out


def _cluster_checks(site: Site) -> list[CheckDoc]:
    out = [
        CheckDoc(
            id="vip-unica",
            title="La IP virtual está en un solo nodo",
            scope="clúster",
            description=f"Exactamente un nodo tiene {site.vip} en `{site.network.lan.interface}`.",
            step="keepalived",
        ),
        CheckDoc(
            id="vip-nodo-previsto",
            title="La IP virtual está en el nodo que dicen las prioridades",
            scope="clúster",
            description=(
                f"{site.vip} la tiene el nodo de mayor prioridad entre los que compiten por ella: "
                "keepalived en marcha y su instancia VRRP fuera de FAULT (con todo sano, "
                f"{site.vip_owner.name})."
            ),
            step="keepalived",
        ),
    ]
    for svc in site.services:
        if svc.mode == "http":
            check = svc.health_check or HealthCheck()
            what = (
                f"`GET http://{site.vip}:{svc.port}{check.path}` responde {check.expect_description} "
                "(lo que acepta su comprobación de salud) y, siguiendo las redirecciones como un "
                "navegador, acaba en una página que no redirige"
            )
        else:
            what = f"la orden `version` de memcached a {site.vip}:{svc.port} recibe `VERSION …`"
        out.append(
            CheckDoc(
                id=f"servicio-{svc.name}-responde",
                title=f"{svc.name} responde a través de la IP virtual",
                scope="clúster",
                description=f"Desde un cliente de la LAN, {what}, servida por uno de sus servidores.",
                step="servicios",
            )
        )
        out.append(
            CheckDoc(
                id=f"servicio-{svc.name}-reparto",
                title=f"{svc.name} reparte la carga como promete `balance {svc.balance}`",
                scope="clúster",
                description=_balance_promise(svc.balance),
                step="haproxy",
            )
        )
    out.append(
        CheckDoc(
            id="estadisticas-protegidas",
            title="La página de estadísticas pide contraseña",
            scope="clúster",
            description=(
                f"En cada nodo, `http://<dirección del nodo>:{site.stats.port}{site.stats.uri}` sin "
                "credenciales responde 401."
            ),
            step="haproxy",
        )
    )
    return out


def _balance_promise(balance: str) -> str:
    if balance == "source":
        return (
            "Varias direcciones de cliente distintas acaban en servidores distintos, y cada "
            "dirección siempre en el mismo."
        )
    return "Peticiones seguidas desde un mismo cliente llegan a todos los servidores."


def _assert_unique(docs: list[CheckDoc]) -> None:
    seen: set[str] = set()
    for doc in docs:
        if doc.id in seen:
            raise ValueError(f"id de comprobación repetido en el catálogo: {doc.id}")
        seen.add(doc.id)
