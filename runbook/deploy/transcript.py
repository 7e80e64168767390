"""The transcript of a run: every command, exit code, duration and output.

One JSON object per line in `runs/<UTC timestamp>-<site>[-check].jsonl`
(repo root, gitignored; `RUNBOOK_RUNS_DIR` moves it). Everything written
passes through `sanitize`: secrets become their markers (by value and by
position, see masking.py), and two
things that would let someone recover a secret offline are dropped too:
sha256 sums of remote files (a file's template is public, so its hash
allows guessing the password) and file contents fetched for `--check` diffs
(the Shell withholds those, see executor.py).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from ..names import REPO_ROOT
from ..plan.masking import SecretMask

_SHA_RE = re.compile(r"\b[0-9a-f]{64}\b")


def runs_dir() -> Path:
    return Path(os.environ.get("RUNBOOK_RUNS_DIR", REPO_ROOT / "runs"))


class Transcript:
    def __init__(
        self, site: str, secrets: dict[str, str], check: bool = False, directory: Path | None = None,
        mask: SecretMask | None = None,
    ):
        self.secrets = secrets
        self.mask = mask or SecretMask(secrets)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        directory = directory or runs_dir()
        directory.mkdir(parents=True, exist_ok=True)
        suffix = "-check" if check else ""
        self.path = directory / f"{stamp}-{site}{suffix}.jsonl"
        self._file = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def sanitize(self, text: str) -> str:
        text = self.mask.text(text)
        return _SHA_RE.sub("<sha256>", text)

    def write(self, event: str, **fields) -> None:
        record = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event}
        for key, value in fields.items():
            record[key] = self.sanitize(value) if isinstance(value, str) else value
        line = json.dumps(record, ensure_ascii=False)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def command(self, node: str, step: str | None, command: str, exited: int | None,
                started: float, stdout: str = "", stderr: str = "") -> None:
        self.write(
            "run",
            node=node,
            step=step,
            command=command,
            exit_code=exited,
            duration_s=round(time.monotonic() - started, 4),
            stdout=stdout,
            stderr=stderr,
        )

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()
