"""One procedure step as page Markdown: heading, explanation, warnings, actions, checks.

Everything comes from a `PlannedStep`; the command and file blocks themselves
are stashed HTML (see site_blocks). Per-node content tabs appear only where
the nodes really differ, so a reader sees at a glance what is node-specific.
"""

from __future__ import annotations

from .plan import FileAction, Plan, PlannedStep
from .site_blocks import BlockStash, check_block, file_block, run_block


def node_label(name: str) -> str:
    """How a node is named on the site (tab labels, tables): Hera, Afrodita."""
    return name.capitalize()


def indent(text: str, levels: int = 1) -> str:
    pad = "    " * levels
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())


def admonition(kind: str, title: str, body: str) -> str:
    return f'!!! {kind} "{title}"\n\n{indent(body)}\n'


def spanish_list(items: list[str], fmt: str = "{}") -> str:
    """"A", "A y B", "A, B y C" (each item put into `fmt`): any number of nodes, in Spanish."""
    items = [fmt.format(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " y " + items[-1]


def _both(names: list[str]) -> str:
    return spanish_list([node_label(n) for n in names])


def _tabs(per_node: dict[str, str]) -> str:
    """pymdownx.tabbed, one tab per node; linked tabs switch together on the page."""
    out = []
    for name, body in per_node.items():
        out.append(f'=== "{node_label(name)}"\n\n{indent(body)}\n')
    return "\n".join(out)


def _action_tokens(step: PlannedStep, names: list[str], stash: BlockStash, node: str) -> str:
    tokens = []
    for action in step.actions[node]:
        if isinstance(action, FileAction):
            block = file_block(action, names, step.when_file_exists)
        else:
            block = run_block(action, names, step.when_file_exists)
        tokens.append(stash.add(block))
    return "\n\n".join(tokens)


def _check_tokens(step: PlannedStep, names: list[str], stash: BlockStash, node: str) -> str:
    return "\n\n".join(stash.add(check_block(c, names)) for c in step.checks[node])


def step_markdown(plan: Plan, step: PlannedStep, stash: BlockStash, level: int = 2) -> str:
    nodes = list(plan.node_names)
    out = [f"{'#' * level} {step.title} {{#{step.id}}}", ""]
    if step.when_file_exists:
        out.append(
            admonition(
                "info",
                "Paso condicional",
                f"Deploy solo aplica este paso en los nodos donde existe "
                f"`{step.when_file_exists}`; donde no existe, lo omite sin tocar nada.",
            )
        )
    out += [step.explanation.strip(), ""]
    for adm in step.admonitions:
        out.append(admonition(adm.kind, adm.title, adm.text.strip()))

    if any(step.actions[n] for n in nodes):
        if step.actions_identical():
            out.append(f"**Lo que hace deploy** (igual en {_both(nodes)}):\n")
            out.append(_action_tokens(step, nodes, stash, nodes[0]) + "\n")
        else:
            out.append("**Lo que hace deploy** (distinto en cada nodo):\n")
            out.append(_tabs({n: _action_tokens(step, [n], stash, n) for n in nodes}))

    if any(step.checks[n] for n in nodes):
        if step.checks_identical():
            body = f"Igual en {_both(nodes)}.\n\n" + _check_tokens(step, nodes, stash, nodes[0])
        else:
            body = _tabs({n: _check_tokens(step, [n], stash, n) for n in nodes})
        title = "Comprobación" if sum(len(step.checks[n]) for n in nodes[:1]) == 1 else "Comprobaciones"
        out.append(admonition("comprobacion", title, body))
    return "\n".join(out) + "\n"
