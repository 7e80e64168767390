"""`invoke deploy`: run the plan the site shows on the site's nodes.

pyinfra-like: the plan (pure) says what each node must look like; here we
gather facts (one round trip per node), predict what would change, and
apply only that, safely (validate, back up, activate, restore on failure),
in rolling order for service reloads. See runner.py for the failure rules.

    from runbook.deploy import deploy, DeployOptions
    result = deploy(plan, secrets, DeployOptions(check=True))
    result.exit_code, result.recap(), result.to_json()
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from ..plan.masking import SecretMask
from ..plan.secrets import materialize
from ..plan.steps import FileAction, Plan
from ..remote import sshmux
from .health import Health
from .lock import LockBusyError, deploy_lock
from .outcome import ActionResult
from .result import DeployOptions, DeployResult
from .runner import Deployment, Reporter
from .transcript import Transcript


def preflight(plan: Plan, secrets: dict[str, str]) -> None:
    """Fail before any connection if a file needs a secret the site does not define."""
    for action in plan.actions():
        if isinstance(action, FileAction):
            materialize(action.content, secrets)  # raises SecretError (Spanish)


def deploy(plan: Plan, secrets: dict[str, str], options: DeployOptions | None = None,
           reporter: Reporter | None = None, connect=None, runs_directory: Path | None = None,
           health: Callable[[Plan, dict[str, str]], Health] | None = Health) -> DeployResult:
    """Deploy (or --check) a plan. Raises LockBusyError if another deploy holds the site.

    `health` builds the checks deploy waits for after the plan (None: none,
    for a plan made up by a test, which has no cluster to look at).
    """
    options = options or DeployOptions()
    preflight(plan, secrets)
    guard = nullcontext() if options.check else deploy_lock(plan.site.name)
    with guard:
        transcript = Transcript(plan.site.name, secrets, check=options.check, directory=runs_directory,
                                mask=SecretMask.for_plan(plan, secrets))
        connect = connect or sshmux.connect  # looked up now, so tests can stand in for SSH
        return Deployment(plan, secrets, options, transcript, reporter, connect, health).run()


__all__ = [
    "ActionResult",
    "DeployOptions",
    "DeployResult",
    "LockBusyError",
    "Reporter",
    "deploy",
    "preflight",
]
