"""Expected outputs: example text whose ⟨variable⟩ parts may differ, and nothing else."""

from __future__ import annotations

import shutil

import pytest
from support.site_fixtures import mkdocs_build

from runbook.data.load import REPO_ROOT
from runbook.plan.expected_output import check_markers, example, mismatch, parts


def test_parts_and_example():
    text = "⟨3⟩: eth1    inet 192.0.2.10/24"
    assert parts(text) == [("3", True), (": eth1    inet 192.0.2.10/24", False)]
    assert example(text) == "3: eth1    inet 192.0.2.10/24"


def test_only_marked_parts_may_differ():
    expected = "HAProxy version ⟨2.6.12-1⟩ - https://haproxy.org/"
    assert mismatch(expected, "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/\n") is None
    assert "línea 1" in mismatch(expected, "HAProxy version 2.6.12 - https://example.org/")
    assert "2 líneas" in mismatch("active\nactive", "active\n")
    assert mismatch("", "") is None and mismatch("", "algo") is not None


def test_column_padding_is_not_part_of_the_promise():
    expected = "LISTEN 0      ⟨4000⟩   192.0.2.150:80       0.0.0.0:*"
    assert mismatch(expected, "LISTEN 0      4000   192.0.2.150:80    0.0.0.0:*") is None
    assert mismatch(expected, "LISTEN 0 4000 192.0.2.150:8080 0.0.0.0:*") is not None


def test_partial_outputs_are_lines_among_others_in_any_order():
    expected = "b\na"
    assert mismatch(expected, "x\na\ny\nb\n", partial=True) is None
    assert "faltan" in mismatch(expected, "a\nx\n", partial=True)


@pytest.mark.parametrize("bad", ["⟨sin cerrar", "cerrado⟩ sin abrir", "⟨a⟨b⟩⟩", "⟨dos\nlíneas⟩"])
def test_unpaired_marks_are_refused(bad):
    with pytest.raises(ValueError, match="sin pareja"):
        check_markers(bad)


def test_unpaired_mark_in_the_data_fails_the_build(tmp_path):
    data = tmp_path / "site_data"
    shutil.copytree(REPO_ROOT / "site_data", data)
    procedure = data / "procedure.yaml"
    text = procedure.read_text(encoding="utf-8")
    assert "⟨3⟩: " in text
    procedure.write_text(text.replace("⟨3⟩: ", "⟨3: ", 1), encoding="utf-8")
    result = mkdocs_build(REPO_ROOT / "mkdocs.yml", tmp_path / "out", {"RUNBOOK_DATA_DIR": str(data)})
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "procedure.yaml" in result.stderr and "sin pareja" in result.stderr
