"""The child-process supervisor, with tiny real commands: a child that ignores SIGTERM is
killed at the deadline (its whole group with it), one past its time limit is killed and
reported timed out, stderr's tail and FFmpeg's -progress blocks are kept, and a child
dies with its parent."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from foundation.processes import ChildProcess, parse_progress

ROOT = Path(__file__).resolve().parents[2]

STUBBORN = """
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


def _gone(pid: int, within: float = 2.0) -> bool:
    """Whether the process has exited (a zombie nobody reaped yet counts as gone)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.02)
    return False


def test_a_child_that_ignores_sigterm_is_killed_at_the_deadline():
    child = ChildProcess([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, stop_grace=0.5)
    assert next(child.lines()) == "ready"  # SIGTERM is ignored from here on

    started = time.monotonic()
    stopped_by_itself = child.stop()
    took = time.monotonic() - started

    assert not stopped_by_itself
    assert child.returncode == -signal.SIGKILL
    assert 0.4 < took < 2, f"took {took:.2f} s"


def test_a_child_that_leads_a_group_takes_what_it_started_with_it():
    script = "sleep 30 & echo $!; trap '' TERM; while :; do sleep 0.05; done"
    child = ChildProcess(["sh", "-c", script], stdout=subprocess.PIPE, own_group=True,
                         stop_grace=0.3)
    grandchild = int(next(child.lines()))
    time.sleep(0.1)  # the trap is set

    assert not child.stop()
    assert child.returncode == -signal.SIGKILL
    assert _gone(grandchild)


def test_a_child_past_its_time_limit_is_killed_and_reported_timed_out():
    started = time.monotonic()
    child = ChildProcess(["sleep", "5"], time_limit=0.3)

    code = child.wait()

    assert child.timed_out and code == -signal.SIGKILL
    assert time.monotonic() - started < 2


def test_a_child_within_its_time_limit_is_not_timed_out():
    child = ChildProcess(["true"], time_limit=5)

    assert child.wait() == 0 and not child.timed_out


def test_the_last_lines_of_stderr_are_kept_and_are_the_error():
    script = ("import sys\n"
              "for i in range(100): print(f'line {i}', file=sys.stderr); print(file=sys.stderr)\n"
              "sys.exit(3)")
    child = ChildProcess([sys.executable, "-c", script], stderr_lines=3)

    assert child.wait() == 3
    assert list(child.tail) == ["line 97", "line 98", "line 99"]  # blank lines skipped
    assert child.error() == "line 97\nline 98\nline 99"


def test_a_silent_failure_is_reported_with_its_exit_status():
    child = ChildProcess(["sh", "-c", "exit 7"])

    child.wait()

    assert child.error() == "exited with status 7"


PROGRESS = "printf 'frame=1\\nout_time_us=40000\\nprogress=continue\\nframe=2\\nout_time_us=80000\\nprogress=end\\n'"


def test_progress_blocks_are_parsed_in_a_thread_keeping_the_latest():
    child = ChildProcess(["sh", "-c", PROGRESS], progress=True)

    child.wait()

    assert child.progress == {"frame": "2", "out_time_us": "80000", "progress": "end"}


def test_progress_blocks_can_be_read_in_the_callers_thread():
    child = ChildProcess(["sh", "-c", PROGRESS], stdout=subprocess.PIPE)

    blocks = list(parse_progress(child.lines()))
    child.wait()

    assert [b["out_time_us"] for b in blocks] == ["40000", "80000"]
    assert [b["progress"] for b in blocks] == ["continue", "end"]


def test_a_child_may_run_at_a_lower_priority_than_ours():
    child = ChildProcess(["nice"], stdout=subprocess.PIPE, nice=7)
    lowered = list(child.lines())
    child.wait()
    plain = ChildProcess(["nice"], stdout=subprocess.PIPE)
    ours = list(plain.lines())
    plain.wait()

    assert int(lowered[0]) - int(ours[0]) == 7


def test_a_child_dies_with_its_parent():
    parent = ("import os\n"
              "from foundation.processes import ChildProcess\n"
              "print(ChildProcess(['sleep', '30']).pid, flush=True)\n"
              "os._exit(0)")
    out = subprocess.run([sys.executable, "-c", parent], cwd=ROOT, capture_output=True,
                         text=True, timeout=10, check=True).stdout

    assert _gone(int(out))
