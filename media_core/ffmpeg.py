"""The one way FFmpeg and ffprobe are run.

The runner owns the process: it reads -progress from stdout, keeps a tail of stderr,
enforces a wall-clock limit, stops the process when the caller says the work is no
longer wanted, and arranges for the child to die with its worker (PR_SET_PDEATHSIG),
so a killed worker never leaves an orphan encoder writing files.
"""

from __future__ import annotations

import collections
import ctypes
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Containers we read. FFmpeg picks a demuxer by sniffing content, not by name: without
# this list an HLS playlist or concat script renamed .mp4 is opened as such and can
# make FFmpeg read other local files or URLs.
FORMAT_WHITELIST = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,flv,mpeg,mxf,asf,ogg"
PROTOCOL_WHITELIST = "file,pipe"

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """In a child before exec (preexec_fn): receive `sig` when the parent dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)
    except OSError:
        pass  # not Linux: the time limit still bounds the child


@dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr_tail: str
    seconds: float


class FFmpegError(Exception):
    def __init__(self, message: str, *, returncode: int | None, stderr_tail: str,
                 timed_out: bool = False, aborted: bool = False):
        super().__init__(message)
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        self.timed_out = timed_out
        self.aborted = aborted

    @property
    def killed_by_signal(self) -> bool:
        return self.returncode is not None and self.returncode < 0 and not (self.timed_out or self.aborted)


def run(args: list[str], *, timeout: float, on_progress: Callable[[dict[str, str]], bool] | None = None,
        keep_stdout: bool = False, stderr_lines: int = 60) -> RunResult:
    """Run a command; with on_progress, stdout is parsed as FFmpeg -progress blocks.

    on_progress gets each block as a dict and returns False to stop the process.
    Raises FFmpegError on a non-zero exit, a timeout, or an abort.
    """
    started = time.monotonic()
    proc = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=die_with_parent, close_fds=True,
    )
    tail: collections.deque[str] = collections.deque(maxlen=stderr_lines)

    def drain_stderr() -> None:
        for raw in proc.stderr:
            tail.append(raw.decode("utf-8", "replace").rstrip())

    stderr_thread = threading.Thread(target=drain_stderr, daemon=True)
    stderr_thread.start()
    state = {"timed_out": False, "aborted": False}

    def on_timeout() -> None:
        state["timed_out"] = True
        proc.kill()

    timer = threading.Timer(timeout, on_timeout)
    timer.daemon = True
    timer.start()
    out_chunks: list[str] = []
    try:
        block: dict[str, str] = {}
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if keep_stdout:
                out_chunks.append(line)
            if on_progress is None or "=" not in line:
                continue
            key, _, value = line.partition("=")
            block[key] = value
            if key == "progress":
                if on_progress(block) is False and proc.poll() is None:
                    state["aborted"] = True
                    proc.kill()
                block = {}
        proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr_thread.join(timeout=5)
    stderr_tail = "\n".join(tail)
    result = RunResult(proc.returncode, "\n".join(out_chunks), stderr_tail, time.monotonic() - started)
    if state["timed_out"]:
        raise FFmpegError(f"{args[0]} ran longer than {timeout:.0f} s", returncode=proc.returncode,
                          stderr_tail=stderr_tail, timed_out=True)
    if state["aborted"]:
        raise FFmpegError(f"{args[0]} was stopped", returncode=proc.returncode,
                          stderr_tail=stderr_tail, aborted=True)
    if proc.returncode != 0:
        raise FFmpegError(f"{args[0]} exited with {proc.returncode}", returncode=proc.returncode,
                          stderr_tail=stderr_tail)
    return result
