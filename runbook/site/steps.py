"""One procedure step as page Markdown, in the order a reader follows it by hand.

Heading, explanation and warnings; then what to type on the nodes (derived
from the plan's actions, see manual); then the checks with their
expected output; last, closed until opened, what `./rb deploy` does in the
step (guards, modes, validation and restore) and what `./rb verify` requires.
Everything comes from a `PlannedStep`; the blocks themselves are stashed
HTML. Per-node content tabs appear only where the nodes really differ.
"""

from __future__ import annotations

from ..plan.steps import FileAction, Observation, Plan, PlannedStep
from ..wording import spanish_list
from .blocks import BlockStash, criteria_block, file_block, run_block
from .hand_blocks import check_block, manual_block, observation_block


def node_label(name: str) -> str:
    """How a node is named on the site (tab labels, tables): Hera, Afrodita."""
    return name.capitalize()


def indent(text: str, levels: int = 1) -> str:
    pad = "    " * levels
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())


def admonition(kind: str, title: str, body: str) -> str:
    return f'!!! {kind} "{title}"\n\n{indent(body)}\n'


def collapsed(kind: str, title: str, body: str) -> str:
    """A pymdownx.details block, closed until the reader opens it."""
    return f'??? {kind} "{title}"\n\n{indent(body)}\n'

def _both(names: list[str]) -> str:
    return spanish_list([node_label(n) for n in names])


def _tabs(per_node: dict[str, str]) -> str:
    """pymdownx.tabbed, one tab per node; linked tabs switch together on the page."""
    out = []
    for i, (name, body) in enumerate(per_node.items()):
        # "===!" starts a new set: two blocks of tabs in a row must not merge into one.
        marker = "===!" if i == 0 else "==="
        out.append(f'{marker} "{node_label(name)}"\n\n{indent(body)}\n')
    return "\n".join(out)


def _per_node(nodes: list[str], identical: bool, tokens) -> tuple[str, bool]:
    """One body for every node when they agree, else one tab per node: (markdown, tabbed)."""
    if identical:
        return tokens(nodes, nodes[0]), False
    return _tabs({n: tokens([n], n) for n in nodes}), True


def _stashed(stash: BlockStash, blocks: list[str]) -> str:
    return "\n\n".join(stash.add(b) for b in blocks)


def step_markdown(
    plan: Plan, step: PlannedStep, stash: BlockStash, level: int = 2, values_note: str | None = None
) -> str:
    """A step as a reader follows it by hand; the tool's details in a collapsed box at its end."""
    nodes = list(plan.node_names)
    when = step.when_file_exists
    out = [f"{'#' * level} {step.title} {{#{step.id}}}", ""]
    if when:
        out.append(
            admonition(
                "info",
                "Paso condicional",
                f"Haz este paso solo donde exista `{when}`; donde no exista, sáltatelo. "
                "`./rb deploy` hace lo mismo: en esos nodos lo omite sin tocar nada.",
            )
        )
    out += [step.explanation.strip(), ""]
    if values_note:
        out.append(admonition("tip", "Tus valores", values_note))
    for adm in step.admonitions:
        out.append(admonition(adm.kind, adm.title, adm.text.strip()))

    has_actions = any(step.actions[n] for n in nodes)
    has_checks = any(step.checks[n] for n in nodes)
    if has_actions:
        body, tabbed = _per_node(
            nodes, step.actions_identical(),
            lambda names, n: _stashed(stash, [manual_block(a, names, when) for a in step.actions[n]]),
        )
        lead = "**En cada nodo**, con sus propios valores:" if tabbed else f"**En {_both(nodes)}**, lo mismo:"
        out += [lead, "", body, ""]

    if has_checks:
        body, tabbed = _per_node(
            nodes, step.checks_identical(),
            lambda names, n: _stashed(stash, [check_block(c, names) for c in step.checks[n]]),
        )
        if not tabbed:
            body = f"Igual en {_both(nodes)}.\n\n" + body
        title = "Comprobación" if len(step.checks[nodes[0]]) == 1 else "Comprobaciones"
        out.append(admonition("comprobacion", title, body))

    if has_actions or has_checks:
        out.append(_tool_box(step, nodes, stash))
    return "\n".join(out) + "\n"


def _tool_blocks(step: PlannedStep, names: list[str], node: str) -> list[str]:
    when = step.when_file_exists
    blocks = [
        file_block(a, names, when) if isinstance(a, FileAction) else run_block(a, names, when)
        for a in step.actions[node]
    ]
    return blocks + [criteria_block(c, names) for c in step.checks[node]]


def _tool_box(step: PlannedStep, nodes: list[str], stash: BlockStash) -> str:
    """The collapsed "Con ./rb" box: what deploy does in this step and what verify requires."""
    # The box shows no file content: nodes whose files differ may still get one box for all.
    identical = _tool_view_identical(step, nodes)
    body, _ = _per_node(
        nodes, identical, lambda names, n: _stashed(stash, _tool_blocks(step, names, n))
    )
    intro = "Lo que hace `./rb deploy` en cada nodo, en orden, y lo que exige `./rb verify`."
    return collapsed("info", "Con `./rb`: qué hace deploy y qué exige verify", f"{intro}\n\n{body}")


def _tool_view_identical(step: PlannedStep, nodes: list[str]) -> bool:
    """Whether the box would say the same for every node (so it is shown once, not per tab)."""
    first = _tool_blocks(step, nodes, nodes[0])
    return all(_tool_blocks(step, nodes, n) == first for n in nodes[1:])


def observation_markdown(item: Observation, stash: BlockStash) -> str:
    """A look-only command: one block when every node shows the same, else a tab per node."""
    names = list(item.rendered)
    if item.identical():
        return stash.add(observation_block(item, names[0])) + "\n"
    return _tabs({n: stash.add(observation_block(item, n)) for n in names})
