"""Names every part agrees on, importable without the models.

The task modules need the default sites for their help texts when `./rb`
starts; importing them from load.py would pull pydantic and the models into
every start-up (even `./rb --list`).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PUBLISHED_SITE = "olimpo"  # the site the documentation is built from
LAB_SITE = "lab"  # the embedded lab; deploy and verify default to it
