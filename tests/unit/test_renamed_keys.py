"""Old key names still read: `controllers:` is `servers:` now, with one notice naming file and line.

The shipped files use `servers:`; a user's file written before the rename
must keep working (not an error) and say, every time it is read, what to
change. Every test works on a copy of site_data/ (RUNBOOK_DATA_DIR) and its
own plan cache.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runbook.cli.common import plan_or_exit
from runbook.data.load import DataError, load_site

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(REPO / "site_data", folder)
    monkeypatch.setenv("RUNBOOK_DATA_DIR", str(folder))
    monkeypatch.setenv("RUNBOOK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RUNBOOK_PLAN_CACHE", raising=False)
    monkeypatch.chdir(tmp_path)
    return folder


def old_olimpo(data: Path) -> Path:
    path = data / "olimpo.yaml"
    text = path.read_text()
    assert "\nservers:\n" in text
    path.write_text(text.replace("\nservers:\n", "\ncontrollers:\n"))
    return path


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


def test_the_shipped_sites_use_the_new_name():
    for path in (REPO / "site_data").glob("*.yaml"):
        assert "\ncontrollers:" not in path.read_text(), path.name


def test_an_old_file_reads_as_the_new_one_with_one_notice(data, capsys):
    new = load_site("olimpo")
    capsys.readouterr()
    path = old_olimpo(data)
    old = load_site("olimpo")
    assert old == new
    assert [s.name for s in old.servers] == ["zeus", "hades"]
    err = capsys.readouterr().err
    line = line_of(path, "controllers:")
    assert err == (f"data/olimpo.yaml, línea {line}: aviso: la clave 'controllers' está obsoleta; "
                   "se lee como 'servers': cámbiale el nombre en el fichero\n")


def test_an_error_inside_the_old_key_names_its_line(data, capsys):
    path = old_olimpo(data)
    text = path.read_text().replace("{name: hades, lan_address: 192.168.1.13,",
                                    "{name: hades, lan_address: 192.168.1.150,")
    path.write_text(text)
    with pytest.raises(DataError) as exc:
        load_site("olimpo")
    line = line_of(path, "  - {name: hades")
    assert str(exc.value) == (f"data/olimpo.yaml, línea {line}: campo 'servers[1].lan_address': "
                              "coincide con la IP virtual o con la dirección de un balanceador")


def test_both_names_at_once_is_an_error(data):
    path = old_olimpo(data)
    path.write_text(path.read_text() + "servers: []\n")
    with pytest.raises(DataError) as exc:
        load_site("olimpo")
    assert exc.value.code == 2
    assert str(exc.value) == (
        f"data/olimpo.yaml, línea {line_of(path, 'controllers:')}: campo 'controllers': 'controllers' es "
        "el nombre antiguo de 'servers' y el fichero usa los dos: deja solo 'servers'")


def test_the_plan_cache_never_hides_the_notice(data, capsys):
    old_olimpo(data)
    for _ in range(2):
        plan = plan_or_exit("olimpo")
        assert [s.name for s in plan.site.servers] == ["zeus", "hades"]
        assert "aviso: la clave 'controllers' está obsoleta" in capsys.readouterr().err
