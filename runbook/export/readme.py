"""LEEME.md of an exported project: how to run it and what it does (Spanish)."""

from __future__ import annotations

from ..plan.steps import Plan
from .plays import GROUP
from .secret_vars import how_to_provide


def readme(plan: Plan) -> str:
    site = plan.site
    rows = []
    for s in plan.steps:
        how = "un nodo cada vez, el que tiene la IP virtual al final" if s.rolling else "todos a la vez"
        if s.when_file_exists:
            how += f"; solo donde existe `{s.when_file_exists}`"
        rows.append(f"| `{s.id}` | {s.title} | {how} |")
    steps = "\n".join(rows)
    secrets = "\n".join(f"- `{name}`: {how_to_provide(site, name)}." for name in site.secrets)
    return f"""# Proyecto de Ansible del sitio {site.name}

Generado por `./rb export ansible --site {site.name}` a partir del mismo plan que muestra la
web y que ejecuta `./rb deploy`. No lo edites a mano: cambia los datos y vuelve a exportar.

## Uso

Desde esta carpeta (lee `ansible.cfg`):

```sh
ansible-playbook site.yml                 # aplica el plan
ansible-playbook site.yml --check --diff  # simulacro: qué cambiaría, sin tocar nada
ansible-playbook site.yml --tags haproxy  # un solo paso (como ./rb deploy --step haproxy)
```

## Qué hace

Los pasos, en el orden del plan, sobre el grupo `{GROUP}` (`inventory.yml`):

| paso | título | cómo |
|---|---|---|
{steps}

- Cada fichero se escribe con el modo y el propietario del plan; si el plan lo valida
  (`haproxy -c`, `keepalived -t`), la validación lee también la salida, no solo el código.
  Antes de cambiarlo, la versión que había queda como `.<nombre>.runbook-bak` a su lado.
  La orden que activa el fichero solo se ejecuta si cambió su contenido; si falla, se
  vuelve al fichero anterior y el nodo se da por fallido.
- Cada orden con condición «salvo si» se ejecuta solo si esa condición falla.
- Tras cada nodo de un paso escalonado se espera a que la IP virtual {site.vip} esté en un
  solo nodo (tras el último, en el de más prioridad), como hace `./rb deploy`. Si un nodo
  falla en un paso escalonado, la ejecución se detiene y los nodos siguientes no se tocan.

## Secretos

Ningún secreto está en esta carpeta. Se leen al ejecutar, en esta máquina:

{secrets}

Las tareas que escriben un fichero con secretos llevan `no_log` y no muestran diferencias.

## Ficheros

- `files/NODO/...`: cada fichero tal como lo escribe el plan en ese nodo (los secretos,
  como `@@SECRETO_nombre@@`).
- `host_vars/NODO.yml`: los valores que cambian de un nodo a otro.
- `group_vars/all.yml`: la IP virtual, el orden de prioridades y de dónde salen los secretos.
- `tasks/vip_settle.yml`: la espera a que VRRP se asiente.
- `tasks/file_failed.yml`: qué se hace cuando falla escribir o activar un fichero.
"""
