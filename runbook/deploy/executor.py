"""Applies one action to one node: the only code that changes a node.

Written against invoke's Context (`run`, plus `put` when it is a Fabric
Connection; a local Context gets a local write), so the same code serves
SSH, a local mode and the tests.

Safe activation of a file whose content changes:

1. create a hidden temporary file in the same directory (same filesystem,
   so the final `mv` is atomic), empty and already with the file's owner and
   mode, then upload the new bytes into it: a file holding a secret is never,
   not even for a moment, more open than its final mode;
2. validate it with the real binary and READ ITS OUTPUT: exit 0 is not
   enough (keepalived -t may exit 0 while complaining, haproxy -c puts
   warnings on stderr); any line other than a known success line fails;
3. keep the current file as a hidden backup `.<name>.runbook-bak` (hidden so
   that directories read with a glob — interfaces.d/*, sysctl.d/*.conf —
   never pick it up), created private and given the file's owner and mode
   (never `cp -p`: an old 0644 must not make the backup readable), then `mv`
   the new file into place;
4. run the on-change command (reload/restart/apply). If it fails, put the
   backup back and re-run the command so the old configuration is the live
   one again; with no old file, remove the new one.

A file whose bytes are right only gets chown/chmod if those drifted, and its
on-change command again if its `unless` guard says it is not in effect.
"""

from __future__ import annotations

import io
import posixpath
import shlex
import sys
import time
from pathlib import Path

from invoke.exceptions import CommandTimedOut

from ..plan.copies import backup_path, temp_path
from ..plan.masking import SecretMask
from ..plan.steps import FileAction, RunAction
from .diff import Prediction, desired_bytes
from .outcome import ActionError
from .transcript import Transcript

ACTION_TIMEOUT = 1800  # seconds: apt-get on a slow mirror is the slowest documented step
MECHANICS_TIMEOUT = 120
# Lines a validator prints when all is well; anything else is a complaint.
VALIDATOR_SUCCESS_LINES = frozenset({"Configuration file is valid"})
MESSAGE_LINES = 20  # how much of a command's output goes into an error message

q = shlex.quote


def lost_connection_errors() -> tuple[type[BaseException], ...]:
    """What a broken connection raises; paramiko's errors once Fabric is in use (not imported for this)."""
    paramiko = sys.modules.get("paramiko")
    return (OSError, EOFError, paramiko.SSHException) if paramiko else (OSError, EOFError)


class Shell:
    """One node's door: `run` and `put`, each recorded (redacted) in the transcript."""

    def __init__(self, ctx, node: str, secrets: dict[str, str], transcript: Transcript | None = None,
                 mask: SecretMask | None = None):
        self.ctx = ctx
        self.node = node
        self.secrets = secrets
        self.mask = mask or SecretMask(secrets)
        self.transcript = transcript
        self.step: str | None = None  # the step being worked on, for the transcript
        # File contents fetched for --check's diffs stay out of the transcript:
        # the template is public, so an old or partial secret in them could be recovered.
        self.withhold_output = False

    def run(self, command: str, timeout: int = MECHANICS_TIMEOUT, **_ignored):
        started = time.monotonic()
        try:
            result = self.ctx.run(command, hide=True, warn=True, in_stream=False, timeout=timeout)
        except CommandTimedOut:
            self._record(command, None, started, "", f"sin respuesta tras {timeout} s")
            raise ActionError(f"la orden no terminó en {timeout} s: {command}") from None
        except lost_connection_errors() as exc:
            self._record(command, None, started, "", str(exc))
            raise ActionError(f"se perdió la conexión con el nodo ({exc})") from None
        self._record(command, result.exited, started, result.stdout, result.stderr)
        return result

    def put(self, data: bytes, remote: str) -> None:
        started = time.monotonic()
        try:
            if hasattr(self.ctx, "put"):  # a Fabric Connection: SFTP, never a command line
                self.ctx.put(io.BytesIO(data), remote)
            else:  # a local invoke Context
                Path(remote).write_bytes(data)
        except lost_connection_errors() as exc:
            raise ActionError(f"no se pudo subir {remote}: {exc}") from None
        finally:
            if self.transcript is not None:
                self.transcript.write("put", node=self.node, step=self.step, path=remote,
                                      bytes=len(data), duration_s=round(time.monotonic() - started, 4))

    def must(self, command: str, what: str, timeout: int = MECHANICS_TIMEOUT) -> str:
        result = self.run(command, timeout=timeout)
        if result.exited != 0:
            raise ActionError(f"{what} (código {result.exited}): {self.tail(result)}")
        return result.stdout

    def tail(self, result) -> str:
        """The end of a command's output (stdout then stderr), redacted, for a message."""
        text = (result.stdout + result.stderr).strip()
        lines = text.splitlines()[-MESSAGE_LINES:]
        return self.mask.text("\n".join(lines)) or "sin salida"

    def _record(self, command: str, exited: int | None, started: float, stdout: str, stderr: str) -> None:
        if self.transcript is not None:
            if self.withhold_output:
                stdout = "<contenido omitido>"
            self.transcript.command(self.node, self.step, command, exited, started, stdout, stderr)


def validator_verdict(exit_code: int, output: str) -> tuple[bool, str]:
    """(passed, message): exit 0 AND nothing printed but known success lines."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    complaints = [line for line in lines if line not in VALIDATOR_SUCCESS_LINES]
    if exit_code == 0 and not complaints:
        return True, "\n".join(lines)
    if not lines:
        return False, f"terminó con código {exit_code} sin decir nada"
    return False, "\n".join(complaints or lines)


def apply_run(shell: Shell, action: RunAction) -> str:
    result = shell.run(action.command, timeout=ACTION_TIMEOUT)
    if result.exited != 0:
        raise ActionError(f"la orden falló (código {result.exited}): {shell.tail(result)}")
    return "ejecutado"


def apply_file(shell: Shell, action: FileAction, prediction: Prediction) -> str:
    path = action.path
    tmp, backup = temp_path(path), backup_path(path)
    if not prediction.content_changed:
        done = []
        if prediction.meta_changed:
            # Mode/owner of the file, and of its backup (a left-over temporary copy goes).
            shell.must(f"{_own(action, path)} && if [ -e {q(backup)} ]; then {_own(action, backup)}; fi"
                       f" && rm -f -- {q(tmp)}", "no se pudo ajustar propietario y modo")
            done.append("propietario y modo ajustados")
        if prediction.reapply and action.on_change is not None:
            # The file is right, its effect is not (a value changed by hand): apply it again.
            shell.must(action.on_change, f"«{action.on_change}» falló", timeout=ACTION_TIMEOUT)
            done.append(f"aplicado de nuevo ({action.on_change})")
        return "; ".join(done)
    directory = posixpath.dirname(path)
    shell.must(
        f"mkdir -p -- {q(directory)} && rm -f -- {q(tmp)} && (umask 077 && : > {q(tmp)})"
        f" && {_own(action, tmp)}",
        f"no se pudo preparar {tmp}",
    )
    try:
        shell.put(desired_bytes(action, shell.secrets), tmp)
        validate = action.validate_command(tmp)
        if validate is not None:
            result = shell.run(validate)
            passed, message = validator_verdict(result.exited, result.stdout + result.stderr)
            if not passed:
                message = shell.mask.text(message)
                raise ActionError(f"la validación falló ({action.validate}):\n{message}")
        out = shell.must(
            f"if [ -f {q(path)} ]; then rm -f -- {q(backup)} && (umask 077 && cp -- {q(path)} {q(backup)})"
            f" && {_own(action, backup)} && echo RUNBOOK_BACKUP;"
            f" elif [ -e {q(backup)} ]; then {_own(action, backup)}; fi"
            f" && mv -f -- {q(tmp)} {q(path)}",
            f"no se pudo instalar {path}",
        )
    except ActionError:
        shell.run(f"rm -f -- {q(tmp)}")  # the old file and the running service stay as they were
        raise
    had_old = "RUNBOOK_BACKUP" in out
    if action.on_change is None:
        return "escrito"
    result = shell.run(action.on_change, timeout=ACTION_TIMEOUT)
    if result.exited == 0:
        return f"escrito y aplicado ({action.on_change})"
    raise ActionError(_restore(shell, action, path, backup, had_old, result))


def _own(action: FileAction, path: str) -> str:
    """chown and chmod `path` to the managed file's owner, group and mode."""
    return f"chown {q(f'{action.owner}:{action.group}')} -- {q(path)} && chmod {q(action.mode)} -- {q(path)}"


def _restore(shell: Shell, action: FileAction, path: str, backup: str, had_old: bool, failed) -> str:
    message = f"«{action.on_change}» falló (código {failed.exited}): {shell.tail(failed)}"
    if not had_old:
        shell.run(f"rm -f -- {q(path)}")
        return message + f"; se retiró el fichero nuevo (no había uno anterior en {path})"
    restored = shell.run(f"cp -p -- {q(backup)} {q(path)}")
    if restored.exited != 0:
        return message + f"; ATENCIÓN: no se pudo restaurar {path} desde {backup}"
    again = shell.run(action.on_change, timeout=ACTION_TIMEOUT)
    if again.exited != 0:
        return message + f"; se restauró el fichero anterior, pero «{action.on_change}» vuelve a fallar"
    return message + "; se restauró el fichero anterior y sigue en servicio"
