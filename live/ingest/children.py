"""How the ingest runs its children (nginx, SRT listeners, simulcast relays, probes)
and restarts the ones that fail.

Each child leads a process group of its own: a terminal's Ctrl-C reaches the ingest
alone, and the ingest stops its children in order (the FFmpeg children before the nginx
they talk to). Each dies with the ingest (PR_SET_PDEATHSIG): a killed ingest leaves no
relay streaming to someone's channel.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass

from foundation.processes import ChildProcess

STOP_GRACE_SECONDS = 3.0
MAX_BACKOFF = 30.0
STDERR_LINES = 20


def start(args: list[str], *, progress: bool = False, death_signal: int = signal.SIGKILL,
          stdout: int | None = subprocess.DEVNULL, time_limit: float | None = None) -> ChildProcess:
    return ChildProcess(args, own_group=True, progress=progress, stdout=stdout,
                        stderr_lines=STDERR_LINES, death_signal=death_signal,
                        time_limit=time_limit, stop_grace=STOP_GRACE_SECONDS)


def stop_all(children: Iterable[ChildProcess]) -> None:
    """Stop every child at once: many stubborn children take one grace period, not one
    each."""
    children = list(children)
    for child in children:
        child.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        child.stop(deadline)


@dataclass
class Backoff:
    failures: int = 0
    not_before: float = 0.0

    def failed(self, now: float) -> None:
        self.failures += 1
        self.not_before = now + min(2 ** (self.failures - 1), MAX_BACKOFF)

    def ready(self, now: float) -> bool:
        return now >= self.not_before
