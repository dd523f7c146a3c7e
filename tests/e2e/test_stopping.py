"""Stopping: SIGTERM to the worker's process group stops every process it started
within 10 s, leaving none behind."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

STOP_SECONDS = 10


def _session(sid: int) -> list[str]:
    """The processes of session `sid` that have not exited, as "pid command line"."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes()
        except OSError:
            continue
        # After the command name in parentheses: state, ppid, pgrp, session, …
        state, _, _, session = stat.rsplit(")", 1)[1].split()[:4]
        if int(session) == sid and state != "Z":
            command = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name} {command}")
    return found


def _stopped_within(sid: int, seconds: float) -> tuple[float, list[str]]:
    """Seconds until session `sid` had no process left, and what was left at the end."""
    start = time.monotonic()
    while True:
        left = _session(sid)
        elapsed = time.monotonic() - start
        if not left or elapsed >= seconds:
            return elapsed, left
        time.sleep(0.05)


def _kill_session(sid: int) -> None:
    for line in _session(sid):
        try:
            os.kill(int(line.split()[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_the_worker_stops_within_10_s_on_sigterm_to_its_process_group(platform):
    # What systemd's KillMode=control-group or a shell's `kill -- -PGID` sends.
    worker = platform._spawn([sys.executable, "manage.py", "worker"], "worker.log")
    platform.workers.append(worker)  # stopped with the platform should the test fail
    deadline = time.monotonic() + 60
    while "running." not in platform.log("worker.log"):
        assert time.monotonic() < deadline, "the worker did not start:\n" + platform.log("worker.log")
        assert worker.poll() is None, "the worker exited:\n" + platform.log("worker.log")
        time.sleep(0.1)
    assert len(_session(worker.pid)) >= 4  # the launcher, the cluster, its sentinel, …

    os.killpg(worker.pid, signal.SIGTERM)
    elapsed, left = _stopped_within(worker.pid, STOP_SECONDS)

    try:
        assert not left, (f"still running {STOP_SECONDS} s after SIGTERM:\n" + "\n".join(left)
                          + "\n--- worker.log ---\n" + platform.log("worker.log"))
        assert worker.wait(timeout=1) == 0
        assert "has stopped" in platform.log("worker.log")  # the cluster stopped itself
        print(f"\nthe worker stopped in {elapsed:.2f} s")
    finally:
        _kill_session(worker.pid)
