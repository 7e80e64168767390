"""pytest fixtures for the tests of the built site.

`built_site` (session scope) runs the real `mkdocs build --strict` once into a
temporary directory and returns a BuiltSite: its output directory, the pages
in navigation order and the build's stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from runbook.data.load import REPO_ROOT

MKDOCS = str(Path(sys.executable).parent / "mkdocs")


def mkdocs_build(config: Path, dest: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` exactly as `./rb docs` runs it; never raises."""
    full_env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})}
    return subprocess.run(
        [MKDOCS, "build", "--strict", "--clean", "-f", str(config), "-d", str(dest)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def nav_pages(config: Path = REPO_ROOT / "mkdocs.yml") -> list[str]:
    """The built HTML file of every page, in navigation order."""
    from mkdocs.config import load_config

    cfg = load_config(str(config))
    pages: list[str] = []

    def walk(items):
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                walk(value)
            else:
                pages.append(value.removesuffix(".md") + ".html")

    walk(cfg["nav"])
    return pages


@dataclass(frozen=True)
class BuiltSite:
    root: Path
    pages: list[str]
    stderr: str

    def html(self, page: str) -> str:
        return (self.root / page).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> BuiltSite:
    dest = tmp_path_factory.mktemp("site")
    result = mkdocs_build(REPO_ROOT / "mkdocs.yml", dest)
    assert result.returncode == 0, f"mkdocs build --strict falló:\n{result.stderr}"
    return BuiltSite(root=dest, pages=nav_pages(), stderr=result.stderr)
