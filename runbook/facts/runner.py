"""Gather any set of facts from a node in ONE round trip.

Every fact's command goes into one generated bash script, run with a single
`ctx.run` (a Fabric Connection, deploy's Shell or a local invoke Context).
The commands run in parallel on the node, each in its own shell with
stdout+stderr merged and its own time limit; the script then prints each
answer between markers carrying a random per-run token, followed by the
command's exit status, so no output (a file's content, a guard's chatter)
can fake the framing.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Iterable

from .base import Fact, FactsError, Probe

# One timeout policy for every gathering: each fact gets FACT_TIMEOUT (it is
# killed and answers exit status 124 after that), the whole round trip RUN_TIMEOUT.
FACT_TIMEOUT = 10
RUN_TIMEOUT = 30


def unique(facts: Iterable[Fact]) -> list[Fact]:
    """The facts once each (by key), in first-seen order."""
    seen: dict[str, Fact] = {}
    for fact in facts:
        seen.setdefault(fact.key, fact)
    return list(seen.values())


def new_token() -> str:
    return f"@@RB-{secrets.token_hex(8)}"


def script(commands: list[str], token: str) -> str:
    """A bash script running every command in parallel, then printing each answer framed.

    Process creation is what a gathering costs on the node, so each fact runs
    in a forked subshell of this one script (no `timeout` or `bash -c` exec of
    its own) and `eval` parses its text there: a syntax error is that fact's
    exit status 2, as under `bash -c`, and breaks no other fact. Job control
    (`set -m`) puts each fact in its own process group, so ONE watchdog can
    end a fact that runs past FACT_TIMEOUT whole, children included, and
    mark it: its exit status is then 124, as `timeout` reports it. Each answer
    is written to its own file between the markers; one `cat` prints them all.
    """
    count = len(commands)
    lines = [
        "export LC_ALL=C",
        "d=$(mktemp -d) || exit 99",
        "{ set -m",
    ]
    for index, command in enumerate(commands):
        lines.append(f"printf '%s\\n' '{token} BEGIN {index}' >\"$d/{index}\"")
        lines.append(f"( eval {shlex.quote(command)} ) </dev/null >>\"$d/{index}\" 2>&1 & p[{index}]=$!")
    # The watchdog: after FACT_TIMEOUT, every fact still running is marked, then ended.
    lines.append(
        f"( sleep {FACT_TIMEOUT}; for i in ${{!p[@]}}; do"
        " if kill -0 \"${p[i]}\" 2>/dev/null; then : >\"$d/$i.cut\"; kill -TERM -- -\"${p[i]}\"; fi;"
        " done ) </dev/null >/dev/null 2>&1 & w=$!"
    )
    lines.append("set +m; } 2>/dev/null")  # the groups are made; no job notices on stderr
    # Set only now: a forked shell keeps the trap and runs it when signalled
    # before it is fully set up (the watchdog, ended early, would remove $d).
    lines.append("trap 'rm -rf \"$d\"' EXIT")
    lines.append(
        "for i in ${!p[@]}; do wait \"${p[i]}\"; r=$?; if [ -e \"$d/$i.cut\" ]; then r=124; fi;"
        f" printf '\\n%s %s\\n' \"{token} END $i\" \"$r\" >>\"$d/$i\"; done"
    )
    lines.append('kill -TERM -- -"$w" 2>/dev/null')
    if count:
        lines.append("cat " + " ".join(f'"$d/{i}"' for i in range(count)))
    return "\n".join(lines) + "\n"


def parse_sections(text: str, count: int, token: str) -> dict[int, Probe]:
    """Answer index -> Probe, for every complete section of the report."""
    pattern = re.compile(
        rf"^{re.escape(token)} BEGIN (\d+)\n(.*?)\n{re.escape(token)} END \1 (\d+)$", re.S | re.M
    )
    return {
        int(m.group(1)): Probe(exit_code=int(m.group(3)), output=m.group(2))
        for m in pattern.finditer(text)
        if int(m.group(1)) < count
    }


def gather(ctx, facts: Iterable[Fact]) -> dict[str, Probe]:
    """Ask the node every fact in one `ctx.run`: fact key -> raw answer.

    A fact without an answer is simply absent (reading it says so); a round
    trip that brought back nothing at all raises FactsError.
    """
    facts = unique(facts)
    token = new_token()
    command = f"bash -c {shlex.quote(script([f.command() for f in facts], token))}"
    result = ctx.run(command, hide=True, warn=True, in_stream=False, timeout=RUN_TIMEOUT)
    sections = parse_sections(result.stdout, len(facts), token)
    if facts and not sections:
        why = (result.stderr.strip() or result.stdout.strip())[:200]
        raise FactsError(f"el nodo no devolvió datos (código {result.exited}): {why}")
    return {facts[i].key: probe for i, probe in sections.items()}
