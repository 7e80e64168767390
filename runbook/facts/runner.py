"""Gather any set of facts from a node in ONE round trip.

Every fact's command goes into one generated bash script, run with a single
`ctx.run` (a Fabric Connection, deploy's Shell or a local invoke Context).
The commands run in parallel on the node with stdout+stderr merged and a
time limit; the script then prints each answer between markers carrying a
random per-run token, followed by the command's exit status, so no output
(a file's content, a guard's chatter) can fake the framing.

Creating processes is what a gathering costs on the node (two cores shared
by both nodes in the lab), so the script creates as few as it can: no
`timeout` or `bash -c` per fact, one subshell per fact that could hang or
disturb a shell (a command from the data, a daemon's socket, systemd), and
ONE subshell for all the quick facts (`Fact.quick`: local files and kernel
state), which run there one after the other.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Iterable, Sequence

from .base import Fact, FactError, Probe

# One timeout policy for every gathering: every fact gets FACT_TIMEOUT from the
# start of the script (a fact with a subshell of its own is then ended and answers
# exit status 124; the quick facts share it, and those not done have no answer),
# the whole round trip RUN_TIMEOUT.
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


def framed(facts: Sequence[Fact]) -> tuple[str, str]:
    """(command, token): the one command that gathers these facts, in this order."""
    token = new_token()
    commands, quick = [f.command() for f in facts], [f.quick for f in facts]
    return f"bash -c {shlex.quote(script(commands, token, quick))}", token


def script(commands: list[str], token: str, quick: Sequence[bool] = ()) -> str:
    """A bash script running every command in parallel, then printing each answer framed.

    Command i is `quick[i]` (default: none is) when it only reads local files
    or kernel state, cannot hang and never exits its shell: those share one
    subshell. Every other runs in a forked subshell of its own, where `eval`
    parses its text: a syntax error is its exit status 2, as under `bash -c`,
    and breaks no other fact. Job control (`set -m`) gives each subshell its
    own process group, so ONE watchdog ends whatever runs past FACT_TIMEOUT
    whole, children included: a fact of its own answers 124, as `timeout`
    reports it; a quick fact not yet done has no answer. Each answer goes to
    its own file between the markers; one `cat` prints them all in order.
    """
    count = len(commands)
    shared = [i for i in range(count) if i < len(quick) and quick[i]]
    lines = [
        "export LC_ALL=C",
        "d=$(mktemp -d) || exit 99",
        "{ set -m",
    ]
    for index in range(count):
        lines.append(f"printf '%s\\n' '{token} BEGIN {index}' >\"$d/{index}\"")
    if shared:  # first: the longest chain of work, started while the others are forked
        lines.append("( set +m")  # a fact sees the shell options `bash -c` would give it
        for index in shared:
            lines.append(
                f"  {{ eval {shlex.quote(commands[index])}; }} </dev/null >>\"$d/{index}\" 2>&1;"
                f" printf '\\n%s %s\\n' '{token} END {index}' \"$?\" >>\"$d/{index}\""
            )
        lines.append(") & q=$!")
    for index, command in enumerate(commands):
        if index not in shared:
            lines.append(
                f"( set +m; eval {shlex.quote(command)} ) </dev/null >>\"$d/{index}\" 2>&1 & p[{index}]=$!"
            )
    # The watchdog: after FACT_TIMEOUT, every fact still running is marked, then ended.
    end_shared = ' kill -TERM -- -"$q";' if shared else ""
    lines.append(
        f"( sleep {FACT_TIMEOUT}; for i in ${{!p[@]}}; do"
        " if kill -0 \"${p[i]}\" 2>/dev/null; then : >\"$d/$i.cut\"; kill -TERM -- -\"${p[i]}\"; fi;"
        f" done;{end_shared} ) </dev/null >/dev/null 2>&1 & w=$!"
    )
    lines.append("set +m; } 2>/dev/null")  # the groups are made; no job notices on stderr
    # Set only now: a forked shell keeps the trap and runs it when signalled
    # before it is fully set up (the watchdog, ended early, would remove $d).
    lines.append("trap 'rm -rf \"$d\"' EXIT")
    lines.append(
        "for i in ${!p[@]}; do wait \"${p[i]}\"; r=$?; if [ -e \"$d/$i.cut\" ]; then r=124; fi;"
        f" printf '\\n%s %s\\n' \"{token} END $i\" \"$r\" >>\"$d/$i\"; done"
    )
    if shared:
        lines.append('wait "$q"')
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
    trip that brought back nothing at all raises FactError.
    """
    facts = unique(facts)
    command, token = framed(facts)
    result = ctx.run(command, hide=True, warn=True, in_stream=False, timeout=RUN_TIMEOUT)
    sections = parse_sections(result.stdout, len(facts), token)
    if facts and not sections:
        why = (result.stderr.strip() or result.stdout.strip())[:200]
        raise FactError(f"el nodo no devolvió datos (código {result.exited}): {why}")
    return {facts[i].key: probe for i, probe in sections.items()}
