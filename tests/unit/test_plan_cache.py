"""The plan cache (runbook/plan/cache.py): the same plan as building it, never a stale one.

Every test works on a copy of site_data/ (RUNBOOK_DATA_DIR) and its own
cache folder (RUNBOOK_CACHE_DIR), and counts how often the plan is really
built.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runbook.cli.common import plan_or_exit
from runbook.data.load import DataError, load_procedure, load_site
from runbook.plan import cache as plan_cache
from runbook.plan.build import build_plan

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(REPO / "site_data", folder)
    monkeypatch.setenv("RUNBOOK_DATA_DIR", str(folder))
    monkeypatch.setenv("RUNBOOK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RUNBOOK_PLAN_CACHE", raising=False)
    monkeypatch.delenv("RUNBOOK_TEMPLATE_DIR", raising=False)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


class Builds:
    """A `build` for cached_plan that counts its calls."""

    def __init__(self, site: str) -> None:
        self.site, self.count = site, 0

    def __call__(self):
        self.count += 1
        return build_plan(load_site(self.site), load_procedure())


def test_the_second_plan_comes_from_the_cache_and_equals_a_fresh_one(data):
    builds = Builds("lab")
    first = plan_cache.cached_plan("lab", builds)
    second = plan_cache.cached_plan("lab", builds)
    assert builds.count == 1
    assert second == first == build_plan(load_site("lab"), load_procedure())
    assert second is not first  # read back from the disk
    assert [p.name for p in (data.parent / "cache").iterdir()] == [f"plan-lab-{p}.pickle" for p in
                                                                   [plan_cache._key("lab")[0]]]


def test_the_cli_gets_the_published_site_from_the_cache_too(data):
    assert plan_or_exit(None) == plan_or_exit(None) == build_plan(load_site(), load_procedure())
    assert any(p.name.startswith("plan-olimpo-") for p in (data.parent / "cache").iterdir())


def test_editing_the_site_data_gives_the_new_plan(data):
    builds = Builds("lab")
    plan_cache.cached_plan("lab", builds)
    edit(data / "lab.yaml", "vip: 198.51.100.150", "vip: 198.51.100.151")
    plan = plan_cache.cached_plan("lab", builds)
    assert builds.count == 2
    assert str(plan.site.vip) == "198.51.100.151"
    assert plan_cache.cached_plan("lab", builds) == plan and builds.count == 2


def test_editing_the_procedure_gives_the_new_plan(data):
    builds = Builds("lab")
    before = plan_cache.cached_plan("lab", builds)
    title = before.steps[0].title
    edit(data / "procedure.yaml", f"title: {title}", f"title: {title} (2)")
    after = plan_cache.cached_plan("lab", builds)
    assert builds.count == 2
    assert after.steps[0].title == f"{title} (2)"


def test_editing_a_template_gives_the_new_plan(data, tmp_path, monkeypatch):
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "runbook" / "plan" / "templates", templates)
    monkeypatch.setenv("RUNBOOK_TEMPLATE_DIR", str(templates))
    builds = Builds("lab")
    plan_cache.cached_plan("lab", builds)
    with (templates / "haproxy.cfg.j2").open("a") as handle:
        handle.write("# una línea más\n")
    plan = plan_cache.cached_plan("lab", builds)
    assert builds.count == 2
    haproxy = [a for a in plan.actions("hera") if getattr(a, "path", "") == "/etc/haproxy/haproxy.cfg"]
    assert haproxy and haproxy[0].content.endswith("# una línea más\n")


def test_a_file_edited_while_the_plan_is_built_is_not_cached_under_the_old_contents(data):
    site_file = data / "lab.yaml"
    original = site_file.read_text()

    def edited_while_building():  # the key was taken from the file as it was; the plan reads it edited
        edit(site_file, "vip: 198.51.100.150", "vip: 198.51.100.151")
        return Builds("lab")()

    assert str(plan_cache.cached_plan("lab", edited_while_building).site.vip) == "198.51.100.151"
    assert not (data.parent / "cache").exists() or not list((data.parent / "cache").iterdir())
    site_file.write_text(original)  # back to what the plan was built from: built again, never guessed
    builds = Builds("lab")
    assert str(plan_cache.cached_plan("lab", builds).site.vip) == "198.51.100.150"
    assert builds.count == 1


def test_a_change_in_the_package_source_is_another_key(data, tmp_path, monkeypatch):
    package = tmp_path / "package"
    (package / "sub").mkdir(parents=True)
    (package / "sub" / "model.py").write_text("A = 1\n")
    monkeypatch.setattr(plan_cache, "PACKAGE_DIR", package)
    before = plan_cache._key("lab")
    (package / "sub" / "model.py").write_text("A = 2\n")
    after = plan_cache._key("lab")
    assert before[0] == after[0]  # the same slot (site, folders)...
    assert before[1] != after[1]  # ...holding another key
    (package / "sub" / "__pycache__").mkdir()
    (package / "sub" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"compiled")
    assert plan_cache._key("lab") == after  # bytecode is not source


def run_plan(data: Path, cache: str = "1") -> subprocess.CompletedProcess:
    env = {**os.environ, "RUNBOOK_DATA_DIR": str(data), "RUNBOOK_CACHE_DIR": str(data.parent / "cache"),
           "RUNBOOK_PLAN_CACHE": cache}
    return subprocess.run([sys.executable, "-m", "runbook.cli", "plan", "--site", "lab", "--json"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)


def test_bad_data_after_a_cached_plan_is_the_usual_error_never_the_stale_plan(data):
    good = run_plan(data)
    assert good.returncode == 0 and good.stdout.startswith("[")
    assert run_plan(data).stdout == good.stdout == run_plan(data, cache="0").stdout
    edit(data / "lab.yaml", "priority: 110", "priority: yes")
    cached, uncached = run_plan(data), run_plan(data, cache="0")
    assert cached.returncode == uncached.returncode == 2
    assert cached.stdout == "" and cached.stderr == uncached.stderr
    assert cached.stderr.count("\n") == 1
    assert "lab.yaml, línea" in cached.stderr and "nodes[0].priority" in cached.stderr


def test_a_fifo_in_place_of_the_site_is_the_loaders_error_not_a_hang(data):
    plan_cache.cached_plan("lab", Builds("lab"))
    (data / "lab.yaml").unlink()
    os.mkfifo(data / "lab.yaml")
    with pytest.raises(DataError, match="no es un fichero normal"):
        plan_or_exit("lab")


def test_a_cache_folder_that_others_can_write_is_never_read(data):
    builds = Builds("lab")
    plan_cache.cached_plan("lab", builds)
    (data.parent / "cache").chmod(0o777)
    plan_cache.cached_plan("lab", builds)
    plan_cache.cached_plan("lab", builds)
    assert builds.count == 3


def test_a_damaged_cache_file_is_built_again_and_replaced(data):
    builds = Builds("lab")
    plan = plan_cache.cached_plan("lab", builds)
    (path,) = (data.parent / "cache").iterdir()
    path.write_bytes(path.read_bytes()[:200])  # cut short: the pickle cannot be read
    assert plan_cache.cached_plan("lab", builds) == plan and builds.count == 2
    assert plan_cache.cached_plan("lab", builds) == plan and builds.count == 2


def test_plan_cache_0_turns_it_off(data, monkeypatch):
    monkeypatch.setenv("RUNBOOK_PLAN_CACHE", "0")
    builds = Builds("lab")
    plan_cache.cached_plan("lab", builds)
    plan_cache.cached_plan("lab", builds)
    assert builds.count == 2
    assert not (data.parent / "cache").exists()


def test_only_the_newest_files_are_kept(data, monkeypatch):
    monkeypatch.setattr(plan_cache, "MAX_FILES", 2)
    for name in ("lab", "olimpo"):
        plan_cache.cached_plan(name, Builds(name))
    third = data.parent / "other"
    shutil.copytree(data, third)
    monkeypatch.setenv("RUNBOOK_DATA_DIR", str(third))
    plan_cache.cached_plan("lab", Builds("lab"))
    assert len(list((data.parent / "cache").glob("plan-*.pickle"))) == 2


def test_the_cached_plan_holds_no_secret(data, tmp_path):
    # Secrets are read when deploy writes a file, never when planning: the cache on disk has none.
    secret = tmp_path / "stats_password"
    secret.write_text("Vb3-only-in-this-file-9q\n")
    edit(data / "lab.yaml", "file: /var/lib/runbook/lab/secrets/stats_password", f"file: {secret}")
    plan_cache.cached_plan("lab", Builds("lab"))
    stored = list((tmp_path / "cache").iterdir())
    assert stored, "the plan was not cached"
    assert not any(b"Vb3-only-in-this-file-9q" in f.read_bytes() for f in stored)
