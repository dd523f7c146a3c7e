"""What the benchmarks share about the machine they run on: CPU load, idle waits,
free ports, the project's executables."""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Under this many CPUs in use, the machine counts as quiet enough to measure on.
IDLE_CORES = 0.25
# Ports a developer's own platform may be listening on (web, live HTTP, RTMP).
_TAKEN_PORTS = (8000, 8080, 1935)


def machine_busy() -> float:
    """CPU seconds the whole machine has spent so far (all CPUs; idle and iowait excluded)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    ticks = [int(x) for x in fields[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / CLK_TCK


def wait_idle(max_wait: float, threshold: float = IDLE_CORES, window: float = 2.0) -> float | None:
    """Wait up to `max_wait` s until the machine uses under `threshold` CPUs over `window` s.

    Returns the CPUs in use when it stopped waiting, or None if it was quiet at once.
    """
    if max_wait <= 0:
        return None
    started, first = time.monotonic(), True
    while True:
        busy = machine_busy()
        time.sleep(window)
        used = (machine_busy() - busy) / window
        if used <= threshold:
            return None if first else used
        first = False
        if time.monotonic() - started >= max_wait:
            return used


def tree_cpu(roots: list[int], *, waited_children: bool = False) -> float:
    """CPU seconds used so far by the processes `roots` and their live descendants; with
    `waited_children`, also what their exited children used (nginx's, ffprobe runs)."""
    parents, used = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        parents[int(entry)] = int(fields[1])
        # utime, stime (and cutime, cstime)
        used[int(entry)] = sum(int(x) for x in fields[11:15 if waited_children else 13]) / CLK_TCK
    members = {pid for pid in roots if pid in parents}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in members and pid not in members:
                members.add(pid)
                grew = True
    return sum(used[pid] for pid in members)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _TAKEN_PORTS:
            return port


def venv_bin(name: str) -> str:
    """An executable of the project's virtualenv (daphne, gunicorn), else from PATH."""
    for folder in (Path(sys.executable).parent, ROOT / ".venv" / "bin"):
        if (folder / name).exists():
            return str(folder / name)
    return name


def find_tool(name: str) -> str | None:
    """A system tool (nginx, wrk), also where Debian puts daemons."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


class Processes:
    """Everything the bench starts, each in its own session, stopped at the end."""

    def __init__(self, work: Path, env: dict, *, log=lambda message: None,
                 quit_with: dict[str, int] | None = None, stop_first: tuple[str, ...] = ()):
        """`quit_with`: the signal that stops a process gracefully, by name (SIGTERM
        otherwise); `stop_first`: names stopped before the others at the end."""
        self.work = work
        self.env = env
        self.log = log
        self.quit_with = quit_with or {}
        self.stop_first = stop_first
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = self.work / f"{name}.log"
        self.logs[name] = log
        with open(log, "ab") as fh:
            proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=fh,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        self.procs[name] = proc
        self.log(f"{name} pid {proc.pid}: {shlex.join(args)}")
        return proc

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    def stop_all(self) -> None:
        for name in sorted(self.procs, key=lambda n: n not in self.stop_first):
            self.stop(name, self.quit_with.get(name, signal.SIGTERM))

    def manage(self, *args: str) -> str:
        proc = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
        return proc.stdout
