"""Which fault each round gets: drawn from a seeded generator, so a seed replays a soak."""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence


def new_seed() -> int:
    """A seed for a soak not given one (printed and saved, so it can be replayed)."""
    return secrets.randbelow(10**6)


def pick_faults(names: Sequence[str], rounds: int, seed: int) -> list[str]:
    """`rounds` fault names drawn from `names` (in the catalogue's order) by a generator seeded with `seed`.

    The same names, rounds and seed always give the same list, on any machine
    and Python version (`random.Random(int)` and `choice` are stable), and the
    first rounds of a longer soak are those of a shorter one with its seed.
    """
    if not names:
        raise ValueError("no hay fallos entre los que elegir")
    rng = random.Random(seed)
    return [rng.choice(list(names)) for _ in range(rounds)]
