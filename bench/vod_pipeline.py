#!/usr/bin/env python
"""VOD pipeline benchmark: the platform path against the bare FFmpeg ladder command.

Generates a 30 s 1080p30 clip, then alternately runs

  * the baseline: one bare ffmpeg command, written out here, that does the same work
    as the platform's encode (decode once, split to the 1080/720/480/360 ladder,
    libx264 with the same preset, CRF, rate caps and keyframes, AAC once in its own
    HLS audio rendition, fMP4 HLS with 4 s segments, one poster JPEG);
  * the platform path: a real web server (daphne) and a real worker (qcluster) on an
    isolated VAR_DIR; the clock starts when the upload PUT is answered and stops when
    GET /api/v1/assets/{id} first says `ready`.

Prints medians, the ratio platform/baseline and the encode speed (× real time).
Goal: ratio <= 1.10.

    .venv/bin/python bench/vod_pipeline.py [--runs 2] [--verbose]

The bench process does not import Django: the platform runs only in its subprocesses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as platform_info
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests
from machine import (
    CLK_TCK,
    IDLE_CORES,
    ROOT,
    cpu_model,
    free_port,
    machine_busy,
    venv_bin,
    wait_idle,
)

GOAL = 1.10

# The source clip.
SOURCE_SECONDS = 30
SOURCE_SIZE = (1920, 1080)
SOURCE_RATE = 30

# The ladder the platform plans for a 1920x1080 source with MAX_RESOLUTION=1080:
# (name, width, height, video bitrate cap in bits/s). Checked against the platform's
# own command at start-up; a mismatch is reported.
LADDER = (
    ("1080p", 1920, 1080, 5_000_000),
    ("720p", 1280, 720, 2_800_000),
    ("480p", 854, 480, 1_400_000),
    ("360p", 640, 360, 800_000),
)
CRF = 21
KEYFRAME_SECONDS = 2
SEGMENT_SECONDS = 4
AUDIO_BITRATE = 128_000

POLL_SECONDS = 0.1
READY_TIMEOUT = 900

VERBOSE = False


def say(message: str = "") -> None:
    print(message, flush=True)


def debug(message: str) -> None:
    if VERBOSE:
        print(f"  . {message}", flush=True)


def ffmpeg_bin() -> str:
    return os.environ.get("FFMPEG_BIN") or "ffmpeg"


def ffprobe_bin() -> str:
    return os.environ.get("FFPROBE_BIN") or "ffprobe"


def x264_preset() -> str:
    # The platform reads X264_PRESET with "veryfast" as default; so does the baseline.
    return os.environ.get("X264_PRESET") or "veryfast"


# --- source ---------------------------------------------------------------------------

def make_source(path: Path) -> None:
    w, h = SOURCE_SIZE
    args = [
        ffmpeg_bin(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate={SOURCE_RATE}:duration={SOURCE_SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SOURCE_SECONDS}",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest", "-movflags", "+faststart",
        str(path.with_suffix(".part.mp4")),
    ]
    debug("source: " + shlex.join(args))
    subprocess.run(args, check=True, timeout=600)
    path.with_suffix(".part.mp4").replace(path)


def probe_source(path: Path) -> dict:
    out = subprocess.run(
        [ffprobe_bin(), "-v", "error", "-show_entries",
         "format=duration:stream=codec_type,width,height,avg_frame_rate", "-of", "json", str(path)],
        check=True, capture_output=True, text=True, timeout=60)
    info = json.loads(out.stdout)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    num, _, den = video["avg_frame_rate"].partition("/")
    return {"duration": float(info["format"]["duration"]), "width": video["width"],
            "height": video["height"], "fps": float(num) / float(den or 1)}


# --- baseline -------------------------------------------------------------------------

def baseline_args(source: Path, out_dir: Path, duration: float) -> list[str]:
    """One process: decode once, split to every rung and a poster branch."""
    n = len(LADDER)
    poster_time = round(min(duration / 2, 5.0), 3)
    labels = "".join(f"[b{i}]" for i in range(n))
    graph = [f"[0:v:0]split={n + 1}{labels}[bp]"]
    graph += [f"[b{i}]scale={w}:{h},setsar=1[v{i}]" for i, (_, w, h, _) in enumerate(LADDER)]
    top_w, top_h = LADDER[0][1], LADDER[0][2]
    graph.append(f"[bp]select='gte(t,{poster_time})',scale={top_w}:{top_h}[poster]")
    gop = KEYFRAME_SECONDS * SOURCE_RATE
    args = [ffmpeg_bin(), "-nostdin", "-hide_banner", "-loglevel", "error", "-nostats", "-y",
            "-i", str(source), "-filter_complex", ";".join(graph)]
    for i in range(n):
        args += ["-map", f"[v{i}]"]
    args += ["-map", "0:a:0",
             "-c:v", "libx264", "-preset", x264_preset(), "-profile:v", "high",
             "-pix_fmt", "yuv420p", "-crf", str(CRF), "-g", str(gop), "-keyint_min", str(gop),
             "-sc_threshold", "0", "-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})"]
    for i, (_, _, _, rate) in enumerate(LADDER):
        args += [f"-maxrate:v:{i}", str(rate), f"-bufsize:v:{i}", str(rate * 2)]
    stream_map = [f"v:{i},agroup:audio,name:{name}" for i, (name, _, _, _) in enumerate(LADDER)]
    stream_map.append("a:0,agroup:audio,name:audio")
    args += ["-c:a", "aac", "-b:a", str(AUDIO_BITRATE), "-ac", "2", "-ar", "48000",
             "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
             "-hls_segment_type", "fmp4", "-hls_flags", "independent_segments",
             "-hls_fmp4_init_filename", "init.mp4",
             "-hls_segment_filename", str(out_dir / "%v" / "seg_%05d.m4s"),
             "-master_pl_name", "master.m3u8", "-var_stream_map", " ".join(stream_map),
             "-max_muxing_queue_size", "4096", str(out_dir / "%v" / "index.m3u8"),
             "-map", "[poster]", "-frames:v", "1", "-update", "1", "-q:v", "3",
             str(out_dir / "poster.jpg")]
    return args


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tree_summary(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


@dataclass
class BaselineRun:
    seconds: float
    cpu: float
    files: int
    size: int
    others: float


def run_baseline(source: Path, work: Path, duration: float, index: int) -> BaselineRun:
    out_dir = work / f"baseline-{index}"
    for name, *_ in LADDER:
        (out_dir / name).mkdir(parents=True)
    (out_dir / "audio").mkdir()
    args = baseline_args(source, out_dir, duration)
    cpu0, busy0, self0 = children_cpu(), machine_busy(), self_cpu()
    started = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=READY_TIMEOUT)
    seconds = time.monotonic() - started
    cpu = children_cpu() - cpu0
    others = machine_busy() - busy0 - cpu - (self_cpu() - self0)
    if proc.returncode != 0:
        raise SystemExit(f"baseline ffmpeg failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    files, size = tree_summary(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    return BaselineRun(seconds, cpu, files, size, max(0.0, others))


# --- /proc accounting -----------------------------------------------------------------

def _proc_stat(pid: int) -> tuple[str, int, list[str]] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2:].split()
    return comm, int(rest[1]), rest  # rest[0] is state, rest[1] ppid


def _all_pids() -> list[int]:
    try:
        return [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []


def process_tree(root: int) -> dict[int, tuple[str, list[str]]]:
    """The process `root` and its descendants: pid -> (comm, stat fields after comm)."""
    table = {}
    for pid in _all_pids():
        stat = _proc_stat(pid)
        if stat:
            table[pid] = stat
    members = {root} if root in table else set()
    grew = True
    while grew:
        grew = False
        for pid, (_, ppid, _) in table.items():
            if ppid in members and pid not in members:
                members.add(pid)
                grew = True
    return {pid: (table[pid][0], table[pid][2]) for pid in members}


def tree_cpu(root: int) -> tuple[float, float]:
    """(own CPU of the tree's processes, CPU of their waited-for children) in seconds.

    The worker waits for ffmpeg and ffprobe, so their CPU lands in the second figure.
    """
    own = waited = 0.0
    for comm, rest in process_tree(root).values():
        if comm in ("ffmpeg", "ffprobe"):
            continue  # still running; counted in its parent once it exits
        # Fields 14-17 of /proc/pid/stat: utime stime cutime cstime (rest starts at field 3).
        own += (int(rest[11]) + int(rest[12])) / CLK_TCK
        waited += (int(rest[13]) + int(rest[14])) / CLK_TCK
    return own, waited






def running_encoders(root: int) -> set[tuple[int, str]]:
    return {(pid, comm) for pid, (comm, _) in process_tree(root).items()
            if comm in ("ffmpeg", "ffprobe")}


# --- platform -------------------------------------------------------------------------





LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def log_time(line: str) -> float | None:
    match = LOG_TIME.match(line)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()


@dataclass
class PlatformRun:
    seconds: float
    put_seconds: float
    marks: dict[str, float] = field(default_factory=dict)  # event -> seconds after PUT answer
    cpu_worker_python: float = 0.0
    cpu_encoders: float = 0.0
    cpu_web: float = 0.0
    cpu_client: float = 0.0
    others: float = 0.0
    polls: int = 0
    files: int = 0
    size: int = 0


class Platform:
    """A web server and a worker on an isolated VAR_DIR, started and stopped by us."""

    def __init__(self, var_dir: Path):
        self.var_dir = var_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ)
        self.env.update({"VAR_DIR": str(var_dir), "PUBLIC_BASE_URL": self.base, "WORKERS": "1",
                         "PYTHONUNBUFFERED": "1"})
        self.env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        self.media_root = Path(self.env.get("MEDIA_ROOT") or var_dir / "media")
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.session = requests.Session()
        self.poll_seconds = POLL_SECONDS
        self._log_checked = 0

    def manage(self, *args: str) -> str:
        proc = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
        return proc.stdout

    def platform_command(self, source: Path) -> dict:
        """The platform's own plan and command for the source, from a subprocess."""
        code = (
            "import json, sys, django; django.setup()\n"
            "from pathlib import Path\n"
            "from django.conf import settings\n"
            "from media_core.processing import encode, ladder, probe\n"
            "src = Path(sys.argv[1])\n"
            "i = probe.inspect(src)\n"
            "rungs = ladder.plan(i.video.width, i.video.height, max_resolution=settings.MAX_RESOLUTION)\n"
            "plan = encode.make_plan(i, rungs)\n"
            "print(json.dumps({'rungs': [[r.name, r.width, r.height, r.max_bitrate] for r in rungs],\n"
            "                  'preset': settings.X264_PRESET,\n"
            "                  'args': encode.build_args(plan, src, Path(sys.argv[2]))}))\n"
        )
        proc = subprocess.run([sys.executable, "-c", code, str(source), "<work>/out"], cwd=ROOT,
                              env=self.env, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise SystemExit(f"could not read the platform's plan:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout)

    def _spawn(self, name: str, args: list[str]) -> None:
        log = self.var_dir / f"{name}.log"
        self.logs[name] = log
        with open(log, "ab") as fh:
            self.procs[name] = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=fh,
                                                stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, start_new_session=True)
        debug(f"{name} pid {self.procs[name].pid}: {shlex.join(args)}")

    def start(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--noinput")
        key = self.manage("create_api_key", "--environment", "bench", "--scopes", "all")
        self.session.headers["Authorization"] = f"Bearer {key.strip()}"
        self._spawn("web", [venv_bin("daphne"), "-b", "127.0.0.1", "-p", str(self.port),
                            "config.asgi:application"])
        self._spawn("worker", [sys.executable, "manage.py", "qcluster"])
        deadline = time.monotonic() + 90
        web_up = worker_up = False
        while time.monotonic() < deadline and not (web_up and worker_up):
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited with {proc.returncode}:\n"
                                     f"{self.logs[name].read_text()[-3000:]}")
            if not web_up:
                try:
                    web_up = self.session.get(f"{self.base}/api/v1/assets", timeout=2).ok
                except requests.RequestException:
                    pass
            if not worker_up:
                worker_up = "running" in self.logs["worker"].read_text(errors="replace")
            time.sleep(0.2)
        if not (web_up and worker_up):
            raise SystemExit(f"platform did not start in time (web {web_up}, worker {worker_up})")
        time.sleep(1.0)  # let the cluster's start-up work settle
        self._log_checked = self.logs["worker"].stat().st_size

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
        self.session.close()

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with {proc.returncode} during the run:\n"
                                 f"{self.logs[name].read_text()[-3000:]}")
        # The cluster can be told to stop from outside (a signal) and then linger.
        log = self.logs["worker"]
        size = log.stat().st_size
        if size > self._log_checked:
            with open(log, "rb") as fh:
                fh.seek(self._log_checked)
                fresh = fh.read(size - self._log_checked).decode("utf-8", "replace")
            self._log_checked = size
            if "Q Cluster" in fresh and "stopping" in fresh:
                raise SystemExit("the worker cluster was stopped during the run (a signal from "
                                 f"outside the bench?); its log:\n{log.read_text()[-3000:]}")

    def _cpu(self) -> tuple[float, float, float, float, float]:
        worker_own, worker_waited = tree_cpu(self.procs["worker"].pid)
        web_own, _ = tree_cpu(self.procs["web"].pid)
        return worker_own, worker_waited, web_own, self_cpu(), machine_busy()

    def run(self, source: Path) -> PlatformRun:
        self.check_alive()
        api = f"{self.base}/api/v1"
        created = self.session.post(f"{api}/uploads",
                                    json={"new_asset_settings": {"playback_policy": ["public"]}},
                                    timeout=30)
        if created.status_code != 201:
            raise SystemExit(f"POST /uploads: {created.status_code} {created.text}")
        upload = created.json()
        log_offset = self.logs["worker"].stat().st_size
        cpu0 = self._cpu()
        put_started = time.monotonic()
        with open(source, "rb") as fh:
            put = requests.put(upload["url"], data=fh, timeout=600,
                               headers={"Content-Type": "video/mp4"})
        t0 = time.monotonic()
        t0_wall = time.time()
        if put.status_code != 200:
            raise SystemExit(f"PUT upload: {put.status_code} {put.text}")
        asset_id = put.json()["asset_id"]
        marks: dict[str, float] = {}
        seen_encoders: dict[int, str] = {}
        polls = 0
        next_poll = t0
        while True:
            now = time.monotonic()
            if now - t0 > READY_TIMEOUT:
                raise SystemExit(f"asset {asset_id} not ready after {READY_TIMEOUT} s")
            if now < next_poll:
                time.sleep(next_poll - now)
            next_poll += self.poll_seconds
            response = self.session.get(f"{api}/assets/{asset_id}", timeout=30)
            elapsed = time.monotonic() - t0
            polls += 1
            if response.status_code != 200:
                raise SystemExit(f"GET asset: {response.status_code} {response.text}")
            asset = response.json()
            if asset["status"] == "ready":
                break
            if asset["status"] == "errored":
                raise SystemExit(f"asset {asset_id} errored: {json.dumps(asset['errors'])}\n"
                                 f"worker log:\n{self.logs['worker'].read_text()[-3000:]}")
            if asset.get("duration") is not None:
                marks.setdefault("probed (API)", elapsed)
            if (asset.get("progress") or 0) > 0:
                marks.setdefault("first progress (API)", elapsed)
            if (asset.get("progress") or 0) >= 1.0:
                marks.setdefault("publishing (API)", elapsed)
            running = running_encoders(self.procs["worker"].pid)
            for pid, comm in running:
                if pid not in seen_encoders:
                    seen_encoders[pid] = comm
                    marks.setdefault(f"{comm} first seen", elapsed)
                if comm == "ffmpeg":
                    marks["ffmpeg last seen"] = elapsed
            self.check_alive()
        seconds = time.monotonic() - t0
        cpu1 = self._cpu()
        # Worker log lines carry wall-clock timestamps (ms).
        with open(self.logs["worker"], "rb") as fh:
            fh.seek(log_offset)
            new_lines = fh.read().decode("utf-8", "replace").splitlines()
        for line in new_lines:
            stamp = log_time(line)
            if stamp is None:
                continue
            if "kino.processing" in line and asset_id in line and " started for " in line:
                marks.setdefault("job started (log)", stamp - t0_wall)
            elif "kino.processing" in line and asset_id in line and "is ready" in line:
                marks.setdefault("job ready (log)", stamp - t0_wall)
        files = size = 0
        media = self.media_root / "assets" / asset_id
        if media.is_dir():
            files, size = tree_summary(media)
        return PlatformRun(
            seconds=seconds, put_seconds=t0 - put_started, marks=marks,
            cpu_worker_python=cpu1[0] - cpu0[0], cpu_encoders=cpu1[1] - cpu0[1],
            cpu_web=cpu1[2] - cpu0[2], cpu_client=cpu1[3] - cpu0[3],
            others=max(0.0, (cpu1[4] - cpu0[4]) - sum(cpu1[i] - cpu0[i] for i in range(4))),
            polls=polls,
            files=files, size=size)


# --- main -----------------------------------------------------------------------------



def compare_commands(platform_cmd: dict) -> list[str]:
    problems = []
    ours = [[name, w, h, rate] for name, w, h, rate in LADDER]
    if platform_cmd["rungs"] != ours:
        problems.append(f"ladder differs: platform {platform_cmd['rungs']}, baseline {ours}")
    if platform_cmd["preset"] != x264_preset():
        problems.append(f"preset differs: platform {platform_cmd['preset']}, "
                        f"baseline {x264_preset()}")
    args = platform_cmd["args"]
    for flag, value in (("-crf", str(CRF)), ("-hls_time", str(SEGMENT_SECONDS)),
                        ("-sc_threshold", "0"), ("-b:a", str(AUDIO_BITRATE))):
        if flag not in args or args[args.index(flag) + 1] != value:
            problems.append(f"platform {flag} is not {value}")
    return problems


def main() -> int:
    global VERBOSE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="runs of each path (default 2)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print both command lines and per-run details")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "kino-bench",
                        help="where the generated source clip is kept between runs")
    parser.add_argument("--fresh-source", action="store_true", help="regenerate the source clip")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp dir (VAR_DIR, logs) and print its path")
    parser.add_argument("--poll", type=float, default=POLL_SECONDS,
                        help=f"seconds between GETs of the asset (default {POLL_SECONDS})")
    parser.add_argument("--idle-wait", type=float, default=120,
                        help="before each run, wait up to this many seconds for the machine "
                             f"to use under {IDLE_CORES} CPUs (0: do not wait; default 120)")
    parser.add_argument("--check", action="store_true",
                        help=f"exit with status 1 if the ratio is above {GOAL}")
    opts = parser.parse_args()
    VERBOSE = opts.verbose
    # A plain `kill` of the bench still stops the server and worker it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if opts.runs < 1:
        parser.error("--runs must be at least 1")

    opts.cache_dir.mkdir(parents=True, exist_ok=True)
    w, h = SOURCE_SIZE
    source = opts.cache_dir / f"testsrc2-{w}x{h}-{SOURCE_RATE}fps-{SOURCE_SECONDS}s.mp4"
    if opts.fresh_source or not source.exists():
        say(f"generating {source} ...")
        make_source(source)
    info = probe_source(source)
    duration = info["duration"]

    say(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, {platform_info.platform()}")
    say(f"load average at start: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
        if Path("/proc/loadavg").exists() else "")
    say(f"source: {source} ({duration:.2f} s, {info['width']}x{info['height']} "
        f"{info['fps']:g} fps, {source.stat().st_size / 1e6:.1f} MB)")
    say(f"ladder: {' '.join(r[0] for r in LADDER)} + AAC audio rendition + poster; "
        f"libx264 {x264_preset()} crf {CRF}, fMP4 HLS {SEGMENT_SECONDS} s segments")

    work = Path(tempfile.mkdtemp(prefix="kino-bench-"))
    plat = Platform(work / "var")
    plat.poll_seconds = opts.poll
    baselines: list[BaselineRun] = []
    platforms: list[PlatformRun] = []
    try:
        say("starting the platform (migrate, API key, daphne, qcluster) ...")
        plat.start()
        say(f"platform up at {plat.base}, VAR_DIR={plat.var_dir}")
        platform_cmd = plat.platform_command(source)
        for problem in compare_commands(platform_cmd):
            say(f"WARNING: {problem}")
        if VERBOSE:
            say("baseline command:")
            say("  " + shlex.join(baseline_args(source, Path("<work>/out"), duration)))
            say("platform command (media_core.processing.encode.build_args):")
            say("  " + shlex.join(platform_cmd["args"]))

        def settle(label: str) -> None:
            t = time.monotonic()
            used = wait_idle(opts.idle_wait)
            if used is not None:
                state = "busy" if used > IDLE_CORES else "idle"
                say(f"  (waited {time.monotonic() - t:.0f} s before the {label} run; machine "
                    f"{state}, {used:.2f} CPUs in use)")

        for i in range(1, opts.runs + 1):
            settle("baseline")
            b = run_baseline(source, work, duration, i)
            baselines.append(b)
            say(f"run {i}/{opts.runs} baseline: {b.seconds:6.2f} s "
                f"({duration / b.seconds:.2f}x real time); CPU: ffmpeg {b.cpu:.1f} s, "
                f"other processes on the machine {b.others:.1f} s; "
                f"{b.files} files {b.size / 1e6:.1f} MB")
            settle("platform")
            p = plat.run(source)
            platforms.append(p)
            say(f"run {i}/{opts.runs} platform: {p.seconds:6.2f} s "
                f"({duration / p.seconds:.2f}x real time); CPU: ffmpeg+ffprobe "
                f"{p.cpu_encoders:.1f} s, worker Python {p.cpu_worker_python:.2f} s, "
                f"web server {p.cpu_web:.2f} s, bench client {p.cpu_client:.2f} s, "
                f"other processes on the machine {p.others:.1f} s; "
                f"{p.files} files {p.size / 1e6:.1f} MB; PUT took {p.put_seconds:.2f} s")
            timeline = ", ".join(f"{name} {t:+.2f}"
                                 for name, t in sorted(p.marks.items(), key=lambda kv: kv[1]))
            say(f"    timeline after the PUT answer (s): {timeline}, "
                f"ready (API) {p.seconds:+.2f}; {p.polls} polls")
    finally:
        plat.stop()
        if opts.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    def med(values) -> float:
        return statistics.median(list(values))

    base_s = med(b.seconds for b in baselines)
    plat_s = med(p.seconds for p in platforms)
    ratio = plat_s / base_s
    met = ratio <= GOAL
    say("")
    say(f"results (median of {opts.runs} run{'s' if opts.runs > 1 else ''} each):")
    say(f"  source duration          {duration:8.2f} s")
    say(f"  baseline (bare ffmpeg)   {base_s:8.2f} s   {duration / base_s:5.2f}x real time")
    say(f"  platform (PUT -> ready)  {plat_s:8.2f} s   {duration / plat_s:5.2f}x real time")
    say(f"  ratio platform/baseline  {ratio:8.3f}     goal <= {GOAL:.2f}: "
        f"{'met' if met else 'NOT met'}")
    say(f"  CPU seconds: baseline ffmpeg {med(b.cpu for b in baselines):.1f}; platform "
        f"ffmpeg+ffprobe {med(p.cpu_encoders for p in platforms):.1f}, worker Python "
        f"{med(p.cpu_worker_python for p in platforms):.2f}, web server "
        f"{med(p.cpu_web for p in platforms):.2f}, bench client "
        f"{med(p.cpu_client for p in platforms):.2f}; other processes during baseline "
        f"{med(b.others for b in baselines):.1f}, during platform "
        f"{med(p.others for p in platforms):.1f}")
    def calm(r) -> bool:
        return r.others <= 0.1 * r.seconds * (os.cpu_count() or 1)

    disturbed = sum(1 for r in [*baselines, *platforms] if not calm(r))
    if disturbed:
        say(f"  WARNING: in {disturbed} of {2 * opts.runs} runs other processes used over 10 % "
            f"of the machine's CPU; the ratio is noisy. Rerun on an idle machine.")
        calm_b = [b.seconds for b in baselines if calm(b)]
        calm_p = [p.seconds for p in platforms if calm(p)]
        if calm_b and calm_p:
            say(f"  undisturbed runs only: baseline {med(calm_b):.2f} s (n={len(calm_b)}), "
                f"platform {med(calm_p):.2f} s (n={len(calm_p)}), "
                f"ratio {med(calm_p) / med(calm_b):.3f}")
    keys = ("job started (log)", "ffmpeg first seen", "ffmpeg last seen", "job ready (log)")
    if all(all(k in p.marks for k in keys) for p in platforms):
        start = med(p.marks["job started (log)"] for p in platforms)
        ff_start = med(p.marks["ffmpeg first seen"] for p in platforms)
        ff_run = med(p.marks["ffmpeg last seen"] - p.marks["ffmpeg first seen"] for p in platforms)
        after = med(p.marks["job ready (log)"] - p.marks["ffmpeg last seen"] for p in platforms)
        seen = med(p.seconds - p.marks["job ready (log)"] for p in platforms)
        say(f"  platform breakdown (s): PUT answer -> job start {start:.2f}; -> ffmpeg start "
            f"{ff_start:.2f}; ffmpeg ran >= {ff_run:.2f}; ffmpeg last seen -> job ready "
            f"<= {after:.2f}; job ready -> API says ready {seen:.2f} "
            f"(process and API sampling every {plat.poll_seconds} s)")
    say("")
    say(f"SUMMARY: VOD {duration:.0f} s {info['height']}p{info['fps']:g} -> "
        f"{'/'.join(r[0] for r in LADDER)} x264 {x264_preset()}, {os.cpu_count()} CPUs: "
        f"baseline {base_s:.2f} s ({duration / base_s:.2f}x), "
        f"platform {plat_s:.2f} s ({duration / plat_s:.2f}x), "
        f"ratio {ratio:.3f} (goal <= {GOAL:.2f}: {'met' if met else 'NOT met'}), "
        f"median of {opts.runs}")
    return 1 if (opts.check and not met) else 0


if __name__ == "__main__":
    sys.exit(main())
