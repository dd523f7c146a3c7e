"""Stopping: Ctrl-C on `make run` and SIGTERM to the worker's process group stop every
process they started within 10 s, leaving none behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from .conftest import ROOT
from .live import HAVE_RTMP, free_port, free_udp_range

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


class Output:
    """A process's stdout, read as it comes so the process never blocks on a full pipe."""

    def __init__(self, proc: subprocess.Popen):
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in iter(stream.readline, b""):
            self.text += line.decode(errors="replace")

    def wait_for(self, *parts: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(all(p in line for p in parts) for line in self.text.splitlines()):
            if time.monotonic() > deadline:
                raise AssertionError(f"no line with {parts} within {timeout} s:\n{self.text[-4000:]}")
            time.sleep(0.1)


@pytest.mark.skipif(not HAVE_RTMP, reason="needs nginx, libnginx-mod-rtmp and ffmpeg")
def test_ctrl_c_on_run_local_stops_every_process_it_started_within_10_s(tmp_path):
    port, live_http_port = free_port(), free_port()
    srt = free_udp_range(2)
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "MEDIA_ROOT", "LIVE_DIR", "PUBLIC_BASE_URL",
                          "PROCESSING_TMP_DIR", "UPLOAD_STAGING_DIR", "DJANGO_SETTINGS_MODULE")}
    env.update({"VAR_DIR": str(tmp_path / "var"), "PORT": str(port),
                "RTMP_PORT": str(free_port()), "LIVE_HTTP_PORT": str(live_http_port),
                "SRT_PORTS": f"{srt.start}-{srt.stop - 1}",
                "Q_CLUSTER_NAME": f"kino-stop-{os.getpid()}"})
    run = subprocess.Popen([str(ROOT / "bin" / "run-local")], cwd=ROOT, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, start_new_session=True)
    output = Output(run)
    try:
        output.wait_for("Kino is running", timeout=180)
        output.wait_for("Q Cluster", "running.", timeout=60)
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{live_http_port}/stat", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "live ingest's nginx did not start:\n" + output.text
                time.sleep(0.1)
        started = _session(run.pid)
        assert any("nginx" in line for line in started), started
        assert sum("qcluster" in line for line in started) >= 4, started  # parent, sentinel, …

        os.killpg(run.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
        elapsed, left = _stopped_within(run.pid, STOP_SECONDS)

        assert not left, (f"still running {STOP_SECONDS} s after Ctrl-C:\n" + "\n".join(left)
                          + "\n--- output ---\n" + output.text[-4000:])
        print(f"\nrun-local stopped every process in {elapsed:.2f} s")
    finally:
        _kill_session(run.pid)
        run.wait(timeout=10)


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
