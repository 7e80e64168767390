"""The rules every soak round must keep, judged on its record: pure functions, no lab.

A round's record (a dict, as saved in the JSON) says what the repair did and
what was seen after it:

- `repair`: "deploy" (one deploy repairs the fault) or "restore" (the
  drill's own undo: a cable back, a file removed);
- `first_deploy`: {"exit": code, "changed": n} of the repairing deploy (deploy repairs only);
- `verify_green_after_s`: seconds from the repair returning to the start of
  the first green verify; None if none was green within VERIFY_WITHIN_S;
- `no_holder_after_healthy_s`: how long no node held the VIP once the repair
  said the cluster was healthy (deploy returned 0, or verify went green after a restore);
- `second_deploy`: {"exit": code, "changed": n} of the deploy run after that.
"""

from __future__ import annotations

VERIFY_WITHIN_S = 10.0


def broken_rules(record: dict) -> list[str]:
    """The rules this round broke, each a Spanish sentence ([] = a good round)."""
    broken = []
    first = record.get("first_deploy")
    if record["repair"] == "deploy" and (first is None or first["exit"] != 0):
        code = "sin ejecutar" if first is None else f"código {first['exit']}"
        broken.append(f"un deploy no lo reparó ({code})")
    green = record.get("verify_green_after_s")
    if green is None or green > VERIFY_WITHIN_S:
        what = "deploy" if record["repair"] == "deploy" else "la restauración"
        failing = ", ".join(record.get("verify_failures") or []) or "?"
        broken.append(f"verify no pasó en los {VERIFY_WITHIN_S:g} s siguientes a {what} (falla: {failing})")
    if (record.get("no_holder_after_healthy_s") or 0) > 0:
        lost = seconds(record["no_holder_after_healthy_s"])
        broken.append(f"ningún nodo tuvo la IP virtual durante {lost} "
                      "después de que se diera el clúster por sano")
    second = record.get("second_deploy")
    if second is None or second["exit"] != 0 or second["changed"] != 0:
        detail = ("sin ejecutar" if second is None
                  else f"código {second['exit']}, {second['changed']} cambio(s)")
        broken.append(f"el deploy siguiente no quedó sin cambios ({detail})")
    return broken


def healthy_since(first_deploy: dict | None, repaired: float, green_end: float | None) -> float | None:
    """When the sysadmin was told the cluster is healthy: deploy returned 0, else a green verify returned.

    A green verify counts from its end, when its verdict is shown: the VIP it read may have
    changed hands while it ran (soak seed 202, rounds 39 and 43: hera took the VIP back, with
    a 0,03 s handover gap, during the verify that then reported it on hera).
    """
    if first_deploy is not None and first_deploy["exit"] == 0:
        return repaired
    return green_end


def seconds(value: float | None, none: str = "—") -> str:
    """Spanish decimal comma, two decimals: 3.576 -> "3,58 s"."""
    return none if value is None else f"{value:.2f} s".replace(".", ",")


def no_holder_seconds(samples, since: float, until: float) -> float:
    """Seconds in [since, until] during which the sampled VIP had no holder (sum of sample intervals)."""
    total = 0.0
    for a, b in zip(samples, samples[1:], strict=False):
        if not a.holders and b.t > since and a.t < until:
            total += min(b.t, until) - max(a.t, since)
    return total
