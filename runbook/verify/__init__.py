"""`invoke verify`: run every check of the site on its nodes and from the lab client.

gather.py collects facts (one SSH round trip per node, in parallel), the
registry in runbook/checks turns them into results, report.py shows them.
"""

from .report import FORMATS, print_table, render, summary_line
from .run import DEFAULT_SITE_URL, Report, Result, run_verify

__all__ = ["DEFAULT_SITE_URL", "FORMATS", "Report", "Result", "print_table", "render", "run_verify",
           "summary_line"]
