"""HTML blocks for the by-hand path: what a reader types, and what it prints.

Each block is built from plan objects (through `manual` for actions), so
what a reader types is derived from what deploy runs. As in blocks,
every value sits in an element with `data-field` and the block carries
`data-*` attributes, so the drift test can read the page back.
"""

from __future__ import annotations

import html

from ..plan.steps import Action, Check, FileAction, Observation
from .blocks import attrs, code_block, file_language, inline_markdown, output_block
from .manual import HandCommand, hand_commands


def _command_html(action: Action, command: HandCommand) -> str:
    if command.role == "write" and isinstance(action, FileAction):
        # The here-document's first and last lines are shell; its body is the file.
        first, _, rest = command.text.partition("\n")
        body, _, last = rest.rpartition("\n")
        pieces = [(first + "\n", "bash"), (body + "\n", file_language(action.path)), (last, "bash")]
        return code_block(pieces, "bash", "write")
    return code_block(command.text, "bash", command.role)


def manual_block(action: Action, nodes: list[str], when: str | None) -> str:
    """The commands a person types for one plan action, each with its lead and output."""
    extra = {"path": action.path} if isinstance(action, FileAction) else {}
    parts = [
        f'<div class="rb-manual" '
        f"{attrs(step=action.step, nodes=' '.join(nodes), kind=action.kind, when=when, **extra)}>"
    ]
    for command in hand_commands(action):
        parts.append(f'<p class="rb-lead">{inline_markdown(command.lead)}</p>')
        parts.append(_command_html(action, command))
        if command.output is not None:
            parts.append(output_block(command.output, f"{command.role}_output"))
        if command.after:
            parts.append(f'<p class="rb-after">{inline_markdown(command.after)}</p>')
    parts.append("</div>")
    return "\n".join(parts)


def check_block(check: Check, nodes: list[str]) -> str:
    """A documented check as a reader runs it: the command, what it prints, what that means."""
    parts = [
        f'<div class="rb-check" {attrs(step=check.step, nodes=" ".join(nodes), check_id=check.id)}>',
        f'<p class="rb-check-title"><strong data-field="title">{html.escape(check.title)}</strong></p>',
    ]
    if check.explanation:
        parts.append(f'<p data-field="explanation">{inline_markdown(check.explanation)}</p>')
    parts.append(code_block(check.command, "bash", "command"))
    if check.output is not None:
        parts.append(output_block(check.output, "output", check.output_partial))
        lead = "Lo que importa:"
    else:
        lead = "Resultado esperado:"
    parts.append(
        f'<p class="rb-expect"><strong>{lead}</strong> '
        f'<span data-field="description">{inline_markdown(check.description)}</span></p>'
    )
    parts.append("</div>")
    return "\n".join(parts)


def observation_block(item: Observation, node: str) -> str:
    """A look-only command (not run by verify) and its output on `node` (or on a client)."""
    command, output = item.rendered[node]
    nodes = "" if item.where == "cliente" else " ".join(item.rendered if item.identical() else [node])
    return "\n".join(
        [
            f'<div class="rb-orden" {attrs(observation=item.id, where=item.where, nodes=nodes)}>',
            f'<p class="rb-check-title"><strong data-field="title">{html.escape(item.title)}</strong></p>',
            code_block(command, "bash", "command"),
            output_block(output, "output", item.output_partial),
            f'<p class="rb-expect" data-field="description">{inline_markdown(item.description)}</p>',
            "</div>",
        ]
    )
