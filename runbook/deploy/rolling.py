"""In which order nodes take a step.

A step that reloads or restarts a service (`PlannedStep.rolling`) goes one
node at a time: first the nodes that do not hold the VIP (lowest priority
first), the VIP holder last. While a backup node reloads, the holder keeps
serving; when the holder's turn comes, the backups are already running the
new configuration and can take the VIP if it moves. Every other step runs
on all nodes at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..data.records import Node


def rolling_order(nodes: list[Node], holds_vip: dict[str, bool | None]) -> list[str]:
    """Node names: non-holders by ascending priority, then holder(s).

    A node whose VIP state is unknown is treated as a holder (goes last):
    when in doubt, touch the node that might be serving last.
    """

    def key(node: Node) -> tuple[int, int]:
        holder = holds_vip.get(node.name) is not False
        return (1 if holder else 0, node.priority)

    return [n.name for n in sorted(nodes, key=key)]
