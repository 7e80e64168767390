"""Hostile site data, by class: one Spanish line naming file, line and field, exit 2, nothing written.

The corpus (tests/hostile_cases.py) holds, per class, data files that are
not clean UTF-8 YAML, values of the wrong type, sites that cannot work,
templates that fail at render time, misspelt keys, and valid inputs that
must keep working. Every case runs twice: in process (fast, precise) and
through the real `./rb plan` with RUNBOOK_DATA_DIR pointing at a temporary
data directory, where the issue's limits are held as safety bounds: 5 s,
300 MB, no traceback, and nothing written.
"""

from __future__ import annotations

import hashlib
import re
import typing
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic_core.core_schema import ErrorType
from support.hostile_cases import CORPUS, REPO, Case, materialize, run_cli

from runbook.data.load import DataError, load_procedure, load_site
from runbook.data.messages import MESSAGES, spanish
from runbook.plan.build import PlanError, build_plan

# The bounds per case, whole command included: safety bounds, not a benchmark
# (benchmarks/bench_hostile.py measures). Time is CPU time (user + system): other work on
# a 2-core machine stretches wall time, not what the command costs; a hang is caught by
# the wall-clock guard.
LIMIT_S = 5.0
LIMIT_MB = 300
HANG_S = 60.0
# Words that betray a message left in English (pydantic, PyYAML, Jinja, invoke).
ENGLISH = re.compile(
    r"\b(Input should|should be|is not|is undefined|expected|found|could not|unexpected|"
    r"Traceback|Error:|error at|No idea|must be|not allowed|invalid|Value error)\b"
)


def _plan_in_process(case: Case, directory: Path) -> str | None:
    try:
        build_plan(load_site(case.site, directory), load_procedure(directory))
    except (DataError, PlanError) as exc:
        return str(exc)
    return None


def _assert_message(case: Case, message: str, path: Path) -> None:
    assert "\n" not in message.strip(), message
    assert str(path) in message or path.name in message, message
    match = re.search(r"línea (\d+): campo '([^']*)'", message)
    assert match, f"sin línea ni campo: {message}"
    if case.field is not None:
        assert match.group(2) == case.field, message
    assert case.phrase in message, message
    said = message.split(f"campo '{match.group(2)}'", 1)[-1]
    assert not ENGLISH.search(said), f"inglés en el mensaje: {message}"
    assert len(message) < 600, f"mensaje demasiado largo ({len(message)} caracteres)"
    line = int(match.group(1))
    if case.place is not None:  # not a regular file: nothing to read lines from
        assert line == 1, message
        return
    lines = path.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    assert 1 <= line <= max(len(lines), 1), message
    key = re.findall(r"[A-Za-z_]\w*", match.group(2))
    if case.klass in ("tipos", "sitio", "erratas") and key and match.group(2) != "(raíz)":
        assert key[-1] in lines[line - 1] or "-" in lines[line - 1], f"línea {line}: {lines[line - 1]!r}"


@pytest.mark.parametrize("case", CORPUS, ids=[f"{c.klass}-{c.id}" for c in CORPUS])
def test_case_in_process(tmp_path, case):
    path = materialize(case, tmp_path / "data")
    message = _plan_in_process(case, tmp_path / "data")
    if case.code == 0:
        assert message is None
    else:
        assert message is not None, "se aceptó un dato que debía rechazarse"
        _assert_message(case, message, path)


def test_every_class_has_cases():
    counts = Counter(c.klass for c in CORPUS)
    assert set(counts) == {"fichero", "tipos", "sitio", "plantilla", "erratas", "valido"}
    assert min(counts.values()) >= 8, counts
    assert len({c.id for c in CORPUS}) == len(CORPUS)


def _snapshot(*roots: Path) -> dict[str, str]:
    """Every entry under the roots with its content hash (files) or kind: to prove nothing was written."""
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")) if root.is_dir() else []:
            if p.is_symlink() or not p.is_file():
                out[str(p)] = "enlace" if p.is_symlink() else ("carpeta" if p.is_dir() else "especial")
            else:
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _top_level() -> list[str]:
    """The repository's top-level names, but runs/: the lab's tests (run beside these) create it."""
    return sorted(p.name for p in REPO.iterdir() if p.name != "runs")


def test_corpus_through_the_real_cli(tmp_path):
    """Every case through `./rb plan`: exit code, one Spanish line, limits, nothing written."""
    dirs = {}
    for case in CORPUS:
        dirs[case.id] = tmp_path / case.id
        materialize(case, dirs[case.id])
    # Transcripts go to a folder of this test's own: `./rb test` runs the lab's
    # tests at the same time, and their deploys write to the repository's runs/.
    runs = tmp_path / "runs"
    watched = [runs, REPO / "site", REPO / "site_data"]
    before_repo = _snapshot(*watched)
    top_before = _top_level()
    before_data = _snapshot(tmp_path)

    def run(case: Case):
        return case, run_cli(["plan", "--site", case.site], dirs[case.id], env={"RUNBOOK_RUNS_DIR": str(runs)})

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(run, CORPUS))
    problems = []
    for case, result in runs:
        where = (f"{case.id}: código {result.code}, {result.seconds:.2f} s ({result.cpu_seconds:.2f} s de CPU), "
                 f"{result.max_rss_mb:.0f} MB")
        if result.code != case.code:
            problems.append(f"{where}: se esperaba {case.code}: {result.stderr[-400:]}")
            continue
        if result.cpu_seconds > LIMIT_S or result.max_rss_mb > LIMIT_MB or result.seconds > HANG_S:
            problems.append(f"{where}: pasa de {LIMIT_S} s o {LIMIT_MB} MB")
        if "Traceback" in result.stderr:
            problems.append(f"{where}: traceback")
        if case.code == 0:
            continue
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        if len(lines) != 1 or not lines[0].startswith("error: "):
            problems.append(f"{where}: se esperaba una línea «error: …»: {result.stderr[:400]!r}")
            continue
        try:
            _assert_message(case, lines[0], dirs[case.id] / case.target)
        except AssertionError as exc:
            problems.append(f"{where}: {exc}")
    assert _snapshot(tmp_path) == before_data, "el CLI escribió en la carpeta de datos"
    assert _snapshot(*watched) == before_repo, "el CLI escribió en runs/, site/ o site_data/"
    assert _top_level() == top_before
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------- pydantic's English


def _all_error_types() -> tuple[str, ...]:
    return typing.get_args(ErrorType)


def test_every_pydantic_error_type_has_a_spanish_message():
    missing = [t for t in _all_error_types() if t not in MESSAGES]
    assert not missing, missing


@pytest.mark.parametrize("kind", [*_all_error_types(), "some_future_error", "another_type"])
def test_no_pydantic_error_reaches_the_user_in_english(kind):
    err = {"type": kind, "loc": ("x",), "msg": "Input should be a valid thing", "input": "v",
           "ctx": {"ge": 1, "le": 2, "gt": 0, "lt": 3, "expected": "'a' or 'b'", "min_length": 1,
                   "max_length": 3, "multiple_of": 2, "pattern": "^x$", "expected_tags": "'run', 'file'",
                   "discriminator": "'kind'", "error": ValueError("English detail")}}
    message = spanish(err, None)
    assert message and "Input should" not in message and "English" not in message
    assert " or " not in message
    assert not ENGLISH.search(message), message
