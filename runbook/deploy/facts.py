"""Facts about a node, gathered in ONE round trip.

Each SSH command costs a round trip (~50 ms on the lab, more on a real WAN),
so instead of probing file by file we send a single shell script that prints
one parseable line per question:

    F <i> <sha256> <mode> <owner> <group>   file i exists (regular file)
    F <i> -                                 file i is absent
    F <i> !                                 path i exists but is not a regular file
    X <i> <path> <mode> <owner> <group>     a copy deploy keeps of file i (backup, temp) exists
    G <i> <exit status>                     guard (`unless`) i, run exactly as written
    E <i> 0|1                               path i exists (a step's `when`)
    V 0|1                                   the node holds the VIP right now
    END                                     the report is complete

Every value embedded in the script is shlex-quoted. The module is pure
except for `gather`, which only needs something with invoke's `run()`
(a Fabric Connection or a local invoke Context), so verify can reuse it.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..copies import copy_paths
from ..errors import RunbookError
from ..plan import FileAction, Plan, PlannedStep, RunAction

FACTS_TIMEOUT = 120  # seconds; guards such as `dpkg -s` are fast, but never hang forever

_FILE_FUNCTION = (
    # sha256 and stat in one go; the file is read by sha256sum, never printed.
    'rb_file() { if [ -f "$2" ]; then '
    "printf 'F %s %s %s\\n' \"$1\" \"$(sha256sum < \"$2\" | cut -d' ' -f1)\" "
    "\"$(stat -c '%a %U %G' -- \"$2\")\"; "
    'elif [ -e "$2" ]; then echo "F $1 !"; else echo "F $1 -"; fi; '
    # The backup and temporary copies: they must not be more open than the file.
    'i=$1; shift 2; for c in "$@"; do if [ -e "$c" ]; then '
    "printf 'X %s %s\\n' \"$i\" \"$(stat -c '%n %a %U %G' -- \"$c\")\"; fi; done; }"
)


class FactsError(RunbookError):
    """The node's report could not be read; the message is Spanish."""


@dataclass(frozen=True)
class FileFact:
    exists: bool
    sha256: str | None = None
    mode: int | None = None
    owner: str | None = None
    group: str | None = None
    not_regular: bool = False
    copies: tuple[tuple[str, int, str, str], ...] = ()  # (path, mode, owner, group) of backup/temp


@dataclass(frozen=True)
class FactsQuery:
    """The questions to ask one node, deduplicated, in a stable order."""

    files: tuple[str, ...] = ()
    guards: tuple[str, ...] = ()
    exists: tuple[str, ...] = ()
    vip: str | None = None

    @classmethod
    def build(
        cls,
        files: Iterable[str] = (),
        guards: Iterable[str] = (),
        exists: Iterable[str] = (),
        vip: str | None = None,
    ) -> FactsQuery:
        return cls(
            files=tuple(dict.fromkeys(files)),
            guards=tuple(dict.fromkeys(guards)),
            exists=tuple(dict.fromkeys(exists)),
            vip=vip,
        )


@dataclass(frozen=True)
class Facts:
    files: dict[str, FileFact] = field(default_factory=dict)
    guards: dict[str, int] = field(default_factory=dict)  # guard command -> exit status
    exists: dict[str, bool] = field(default_factory=dict)
    holds_vip: bool | None = None  # None: not asked

    def merged(self, newer: Facts) -> Facts:
        """These facts updated with a fresher, possibly partial, report."""
        return Facts(
            files={**self.files, **newer.files},
            guards={**self.guards, **newer.guards},
            exists={**self.exists, **newer.exists},
            holds_vip=newer.holds_vip if newer.holds_vip is not None else self.holds_vip,
        )


def query_for_actions(
    actions: Iterable[RunAction | FileAction], when: Iterable[str] = (), vip: str | None = None
) -> FactsQuery:
    actions = list(actions)
    return FactsQuery.build(
        files=[a.path for a in actions if isinstance(a, FileAction)],
        guards=[a.unless for a in actions if a.unless],
        exists=when,
        vip=vip,
    )


def query_for(plan: Plan, node: str, steps: Iterable[PlannedStep] | None = None) -> FactsQuery:
    """Everything deploy needs to know about `node` for these steps (default: all)."""
    steps = list(plan.steps if steps is None else steps)
    actions = [a for s in steps for a in s.actions[node]]
    when = [s.when_file_exists for s in steps if s.when_file_exists]
    return query_for_actions(actions, when, str(plan.site.vip))


def vip_probe(vip: str) -> str:
    """A shell condition that holds when this node has the VIP right now (also used by the export)."""
    return f"ip -o -4 addr show 2>/dev/null | grep -qF -- {shlex.quote(f' inet {vip}/')}"


def script(query: FactsQuery) -> str:
    q = shlex.quote
    lines = ["echo BEGIN"]
    if query.files:
        lines.append(_FILE_FUNCTION)
        lines += [
            f"rb_file {i} {q(path)} " + " ".join(q(c) for c in copy_paths(path))
            for i, path in enumerate(query.files)
        ]
    for i, guard in enumerate(query.guards):
        # The guard runs exactly as the site shows it, in its own shell, silenced.
        lines.append(f'bash -c {q(guard)} </dev/null >/dev/null 2>&1; echo "G {i} $?"')
    for i, path in enumerate(query.exists):
        lines.append(f"if [ -e {q(path)} ]; then echo 'E {i} 1'; else echo 'E {i} 0'; fi")
    if query.vip is not None:
        lines.append(f"if {vip_probe(query.vip)}; then echo 'V 1'; else echo 'V 0'; fi")
    lines.append("echo END")
    return "\n".join(lines) + "\n"


_LINE_RE = re.compile(r"^(F|G|E|X) (\d+) (.*)$")


def parse(output: str, query: FactsQuery) -> Facts:
    text = output.split("BEGIN\n", 1)[-1]  # anything a login shell printed first is noise
    if not text.rstrip().endswith("END"):
        raise FactsError("el informe del nodo llegó incompleto (falta END)")
    files: dict[str, FileFact] = {}
    guards: dict[str, int] = {}
    exists: dict[str, bool] = {}
    holds_vip: bool | None = None
    copies: dict[str, list] = {}
    for line in text.splitlines():
        if line in ("V 0", "V 1"):
            holds_vip = line == "V 1"
            continue
        match = _LINE_RE.match(line)
        if not match:
            continue
        kind, index, rest = match.group(1), int(match.group(2)), match.group(3)
        try:
            if kind == "F":
                files[query.files[index]] = _file_fact(rest)
            elif kind == "G":
                guards[query.guards[index]] = int(rest)
            elif kind == "X":
                path, mode, owner, group = rest.split(" ")
                copies.setdefault(query.files[index], []).append((path, int(mode, 8), owner, group))
            else:
                exists[query.exists[index]] = rest == "1"
        except (IndexError, ValueError):
            raise FactsError(f"línea del informe no válida: {line!r}") from None
    missing = (
        [p for p in query.files if p not in files]
        + [g for g in query.guards if g not in guards]
        + [p for p in query.exists if p not in exists]
    )
    if missing or (query.vip is not None and holds_vip is None):
        count = len(missing) + (query.vip is not None and holds_vip is None)
        raise FactsError(f"el informe del nodo no responde a todo lo preguntado ({count} sin respuesta)")
    for path, found in copies.items():
        files[path] = dataclasses.replace(files[path], copies=tuple(found))
    return Facts(files=files, guards=guards, exists=exists, holds_vip=holds_vip)


def _file_fact(rest: str) -> FileFact:
    if rest == "-":
        return FileFact(exists=False)
    if rest == "!":
        return FileFact(exists=True, not_regular=True)
    sha, mode, owner, group = rest.split(" ")
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise ValueError(sha)
    return FileFact(exists=True, sha256=sha, mode=int(mode, 8), owner=owner, group=group)


def gather(ctx, query: FactsQuery, timeout: int = FACTS_TIMEOUT) -> Facts:
    """Ask the node (one `run`) and parse its report."""
    result = ctx.run(script(query), hide=True, warn=True, in_stream=False, timeout=timeout)
    if result.exited != 0:
        raise FactsError(f"la consulta del estado falló (código {result.exited}): {result.stderr.strip()}")
    return parse(result.stdout, query)


# ------------------------------------------------------------------- contents


def contents_script(paths: Iterable[str]) -> str:
    """Print the current contents of files (base64, one line each) in one round trip."""
    q = shlex.quote
    lines = ["echo BEGIN"]
    for i, path in enumerate(paths):
        lines.append(f"if [ -f {q(path)} ]; then printf 'C {i} '; base64 -w0 < {q(path)}; echo; "
                     f"else echo 'C {i} -'; fi")
    lines.append("echo END")
    return "\n".join(lines) + "\n"


def parse_contents(output: str, paths: list[str]) -> dict[str, bytes | None]:
    text = output.split("BEGIN\n", 1)[-1]
    if not text.rstrip().endswith("END"):
        raise FactsError("el contenido de los ficheros llegó incompleto (falta END)")
    found: dict[str, bytes | None] = {}
    for line in text.splitlines():
        match = re.match(r"^C (\d+) ?(.*)$", line)
        if match:
            data = match.group(2)
            found[paths[int(match.group(1))]] = None if data == "-" else base64.b64decode(data)
    return found


def fetch_contents(ctx, paths: list[str], timeout: int = FACTS_TIMEOUT) -> dict[str, bytes | None]:
    if not paths:
        return {}
    result = ctx.run(contents_script(paths), hide=True, warn=True, in_stream=False, timeout=timeout)
    if result.exited != 0:
        raise FactsError(f"no se pudo leer el contenido actual (código {result.exited})")
    return parse_contents(result.stdout, paths)
