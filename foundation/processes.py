"""The one way the platform starts and supervises a child process: FFmpeg encodes and
probes, the live ingest's nginx, SRT listeners and relays, the task cluster.

A `ChildProcess` owns its process handle from start to reaping:

- the child dies with its parent (PR_SET_PDEATHSIG): a worker or ingest killed outright
  must not leave an encoder writing files or a relay streaming to someone's channel;
- optionally it leads a process group of its own, so a terminal's Ctrl-C or a signal
  sent to our group reaches us alone and we stop the children in our own order; when
  it exits, whatever is left of its group is killed before it is reaped;
- it keeps the last lines of stderr, which is what a failure is reported with;
- it parses FFmpeg's `-progress` blocks, in a thread of its own (the latest block is in
  `.progress`) or in the caller's thread (`parse_progress(child.lines())`);
- it can have a time limit, after which it is killed and reported `timed_out`;
- `stop()` asks with SIGTERM and SIGKILLs at a deadline.

It knows nothing of FFmpeg beyond the `-progress` format; callers build the arguments.
"""

from __future__ import annotations

import collections
import ctypes
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
# Seconds the stderr and progress readers get to reach the end of their pipes once the
# child is reaped: a grandchild that inherited a pipe can hold it open.
_READER_JOIN_SECONDS = 5.0
# How often a group leader is looked at while waiting: it cannot be waited for with a
# blocking call without reaping it, and it must stay unreaped until its group is killed.
_GROUP_POLL_SECONDS = 0.02

try:
    # Looked up here, in the parent: between fork and exec only the call is made.
    _prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
except OSError:
    _prctl = None  # not Linux: a time limit or stop() still bounds the child


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """In a child before exec (preexec_fn): receive `sig` when the parent dies.

    The kernel's "parent" is the thread that started the child: a child started from a
    thread that then exits receives `sig` too.
    """
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, sig)


def _before_exec(sig: int, parent: int, nice: int = 0):
    def apply() -> None:
        die_with_parent(sig)
        if nice:  # before exec: every thread the program starts has it too
            os.nice(nice)
        # Had the parent died between fork and prctl, no signal would ever come.
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)
    return apply


def parse_progress(lines: Iterable[str]) -> Iterator[dict[str, str]]:
    """FFmpeg's `-progress` output: key=value lines, each block ended by `progress=…`."""
    block: dict[str, str] = {}
    for line in lines:
        if "=" not in line:
            continue
        key, _, value = line.partition("=")
        block[key] = value
        if key == "progress":
            yield block
            block = {}


class ChildProcess:
    """A started child process, supervised until it is reaped.

    stdout: DEVNULL (default), None to inherit ours, or PIPE to read it with `lines()`;
    progress=True reads it in a thread instead, keeping the latest `-progress` block.
    stderr_lines: how many lines of stderr to keep (blank ones are skipped); None
    inherits our stderr instead. nice: how much lower than ours its CPU priority is.
    """

    def __init__(self, args: Sequence[str], *, stdout: int | None = subprocess.DEVNULL,
                 progress: bool = False, stderr_lines: int | None = 60, own_group: bool = False,
                 death_signal: int = signal.SIGKILL, time_limit: float | None = None,
                 stop_grace: float = 3.0, cwd: str | Path | None = None, nice: int = 0):
        self.args = list(args)
        self.own_group = own_group
        self.stop_grace = stop_grace
        self.time_limit = time_limit
        self.timed_out = False
        self.tail: collections.deque[str] = collections.deque(maxlen=stderr_lines or 0)
        self.progress: dict[str, str] = {}
        # Signalling and reaping are serialised: a group is signalled only while its leader
        # is unreaped, since after that its id may be given to someone else's group.
        self._lock = threading.RLock()
        self._join_lock = threading.Lock()
        self._joined = False
        self._readers: list[threading.Thread] = []
        self._timer: threading.Timer | None = None
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            self.args, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if progress else stdout,
            stderr=None if stderr_lines is None else subprocess.PIPE,
            preexec_fn=_before_exec(death_signal, os.getpid(), nice),
            process_group=0 if own_group else None, close_fds=True, cwd=cwd)
        if stderr_lines is not None:
            self._reader(self._read_stderr)
        if progress:
            self._reader(self._read_progress)
        if time_limit is not None:
            self._timer = threading.Timer(time_limit, self._time_up)
            self._timer.daemon = True
            self._timer.start()

    # --- output --------------------------------------------------------------------
    def _reader(self, target) -> None:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._readers.append(thread)

    def _read_stderr(self) -> None:
        with self.proc.stderr as stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    self.tail.append(line)

    def _read_progress(self) -> None:
        for block in parse_progress(self.lines()):
            self.progress = block

    def lines(self) -> Iterator[str]:
        """stdout (opened with PIPE), line by line and stripped, until the child closes it.

        Read it to the end: a child whose pipe is full stops writing and waits.
        """
        with self.proc.stdout as stream:
            for raw in stream:
                yield raw.decode("utf-8", "replace").strip()

    @property
    def stderr_tail(self) -> str:
        return "\n".join(self.tail)

    def error(self) -> str:
        """What to report when the child failed: its last words, or its exit status."""
        return self.stderr_tail or f"exited with status {self.proc.returncode}"

    # --- state ---------------------------------------------------------------------
    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def poll(self) -> int | None:
        """The exit status once the child has exited (reaping it), else None."""
        with self._lock:
            if self.proc.returncode is None:
                if self.own_group:
                    if self._running():
                        return None
                    # Exited, not reaped: the group id is still ours. Kill what it left.
                    self._send(signal.SIGKILL, group=True)
                if self.proc.poll() is None:
                    return None
        self._reaped()
        return self.proc.returncode

    def alive(self) -> bool:
        return self.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        """Reap the child; subprocess.TimeoutExpired if it still runs after `timeout` s."""
        if not self.own_group:
            self.proc.wait(timeout)
            self._reaped()
            return self.proc.returncode
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(_GROUP_POLL_SECONDS)
        return code

    def _running(self) -> bool:
        """Whether the child has not exited yet, without reaping it."""
        try:
            return os.waitid(os.P_PID, self.proc.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
        except ChildProcessError:
            return False  # reaped already (Popen.wait)

    def _reaped(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        # The tail is complete only once stderr reached its end; the first caller waits.
        with self._join_lock:
            if not self._joined:
                deadline = time.monotonic() + _READER_JOIN_SECONDS
                for thread in self._readers:
                    thread.join(max(deadline - time.monotonic(), 0))
                self._joined = True

    # --- stopping ------------------------------------------------------------------
    def terminate(self) -> None:
        """SIGTERM to the child alone: a group's leader (nginx's master, the task
        cluster's parent) stops the processes it started in its own order."""
        self._send(signal.SIGTERM, group=False)

    def kill(self) -> None:
        """SIGKILL to the child, and to its whole group when it leads one."""
        self._send(signal.SIGKILL, group=True)

    def _send(self, sig: int, *, group: bool) -> None:
        with self._lock:
            if not self.own_group:
                self.proc.send_signal(sig)  # nothing once reaped
                return
            if self.proc.returncode is not None:
                return  # reaped: its pid and group id may be someone else's by now
            try:
                if group:
                    os.killpg(self.proc.pid, sig)
                else:
                    os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, deadline: float | None = None) -> bool:
        """SIGTERM, then SIGKILL at `deadline` (default: `stop_grace` from now); reaps.

        Returns whether the child stopped by itself before the deadline.
        """
        self.terminate()
        if deadline is None:
            deadline = time.monotonic() + self.stop_grace
        try:
            self.wait(max(deadline - time.monotonic(), 0))
            return True
        except subprocess.TimeoutExpired:
            # FFmpeg blocked on a network read ignores the first SIGTERM; a worker in the
            # middle of a long task may not finish it in time.
            self.kill()
            self.wait()
            return False

    def _time_up(self) -> None:
        with self._lock:
            if self._running():
                self.timed_out = True
                self.kill()
