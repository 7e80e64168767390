"""Names every part agrees on, importable without the models.

The task modules need the default sites for their help texts when `./rb`
starts; importing them from load.py would pull pydantic and the models into
every start-up (even `./rb --list`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PUBLISHED_SITE = "olimpo"  # the site the documentation is built from
LAB_SITE = "lab"  # the embedded lab; deploy and verify default to it
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")  # a site's or a node's name (and its file's stem)
VERIFY_FORMATS = ("table", "json", "junit")  # verify's reports (checked before anything is sent)
# The package's own templates (RUNBOOK_TEMPLATE_DIR may name a copy, see template_dir).
TEMPLATE_DIR = Path(__file__).resolve().parent / "plan" / "templates"
# Secrets never enter the plan: templates get this marker instead, and only
# the executor, at the last moment, swaps in the real value.
SECRET_MARKER = "@@SECRETO_{name}@@"
SECRET_MARKER_RE = re.compile(r"@@SECRETO_([a-z][a-z0-9_]*)@@")


def template_dir() -> Path:
    """The templates in use: the package's, unless RUNBOOK_TEMPLATE_DIR names a copy."""
    return Path(os.environ.get("RUNBOOK_TEMPLATE_DIR", TEMPLATE_DIR))


def data_dir() -> Path:
    """The folder of the site data: site_data/, unless RUNBOOK_DATA_DIR names another."""
    return Path(os.environ.get("RUNBOOK_DATA_DIR", REPO_ROOT / "site_data"))
