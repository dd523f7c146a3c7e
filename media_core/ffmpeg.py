"""The one way FFmpeg and ffprobe are run.

A run is a supervised child process (foundation.processes): it dies with its worker
(PR_SET_PDEATHSIG), so a killed worker never leaves an orphan encoder writing files,
and it is killed at its wall-clock limit. Here the run reads -progress from stdout,
keeps a tail of stderr, stops the process when the caller says the work is no longer
wanted, and turns every way of ending badly into one FFmpegError.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from foundation.processes import ChildProcess, parse_progress

# Containers we read. FFmpeg picks a demuxer by sniffing content, not by name: without
# this list an HLS playlist or concat script renamed .mp4 is opened as such and can
# make FFmpeg read other local files or URLs. The audio ones (mp3, wav, flac) read
# frames from the one file and nothing else, like the video containers.
FORMAT_WHITELIST = ("mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,flv,mpeg,mxf,asf,ogg,"
                    "mp3,wav,flac")
PROTOCOL_WHITELIST = "file,pipe"


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
        keep_stdout: bool = False, stderr_lines: int = 60, nice: int = 0) -> RunResult:
    """Run a command; with on_progress, stdout is parsed as FFmpeg -progress blocks.

    on_progress gets each block as a dict and returns False to stop the process.
    Raises FFmpegError on a non-zero exit, a timeout, or an abort. nice: a lower CPU
    priority than the worker's, for work that others should not wait behind.
    """
    started = time.monotonic()
    child = ChildProcess(args, stdout=subprocess.PIPE, stderr_lines=stderr_lines, time_limit=timeout,
                         nice=nice)
    out_lines: list[str] = []
    aborted = False
    try:
        lines = _kept(child.lines(), out_lines) if keep_stdout else child.lines()
        if on_progress is None:
            for _ in lines:
                pass
        else:
            # Called in this thread, not a reader's: it writes a heartbeat to the database,
            # through this thread's connection.
            for block in parse_progress(lines):
                if on_progress(block) is False and child.poll() is None:
                    aborted = True
                    child.kill()
        child.wait()
    finally:
        if child.poll() is None:  # on_progress raised
            child.kill()
            child.wait()
    returncode, stderr_tail = child.returncode, child.stderr_tail
    result = RunResult(returncode, "\n".join(out_lines), stderr_tail, time.monotonic() - started)
    if child.timed_out:
        raise FFmpegError(f"{args[0]} ran longer than {timeout:.0f} s", returncode=returncode,
                          stderr_tail=stderr_tail, timed_out=True)
    if aborted:
        raise FFmpegError(f"{args[0]} was stopped", returncode=returncode,
                          stderr_tail=stderr_tail, aborted=True)
    if returncode != 0:
        raise FFmpegError(f"{args[0]} exited with {returncode}", returncode=returncode,
                          stderr_tail=stderr_tail)
    return result


def _kept(lines: Iterable[str], into: list[str]) -> Iterator[str]:
    for line in lines:
        into.append(line)
        yield line
