#!/usr/bin/env python
"""First-playable benchmark: how soon an upload plays, and how soon its full ladder is done.

Sources (generated once, cached): 10 s, 60 s and 5 min 1920x1080 30 fps H.264/AAC, which
the platform publishes first by stream copy ("remux-first", media_core/processing/copy.py),
and a 60 s HEVC one, which it only encodes. For each source and round, alternately:

  * bare remux: the platform's own `ffmpeg -c copy` HLS command (copy.remux_args), run
    directly and timed (n/a for a source the platform would not copy);
  * bare ladder: the platform's own ladder command (encode.build_args), run directly;
  * the platform: a real web server (daphne) and worker (qcluster) on an isolated
    VAR_DIR. The clock starts when the upload PUT is answered; then
      (a) first playable: the public master playlist /v/{playback_id}.m3u8 is tried
          (GET every 50 ms; once it answers, ffmpeg decodes its first second) until a
          decode succeeds; the time is when that decode finished;
      (b) full ladder: GET /api/v1/assets/{id} once (for its playback ID), then not
          while (a) is tried, then every LADDER_POLL s (the bench's own requests take CPU
          from what it times) until renditions_status is `ready`; the time is then the
          `created_at` of the asset's `video.asset.renditions_ready` event (GET
          /api/v1/events), written in the transaction that published the ladder. "API
          ready" is the `created_at` of its `video.asset.ready` event.

Prints medians per source beside the two bare commands, and the goals (issue,
acceptance 1; 2 cores): (a) <= 2.0 s for the H.264 sources, <= 10 s for the HEVC one;
(b) <= 1.10 x the bare ladder.

    .venv/bin/python bench/first_playable.py [--runs 3] [--only 10s,60s,5min,hevc] [--quick]

The bench process does not import Django: the platform runs only in its subprocesses.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import vod_pipeline as vp
from machine import IDLE_CORES, ROOT, cpu_model, machine_busy, wait_idle
from vod_pipeline import debug, ffmpeg_bin, say

FIRST_GOAL = {"h264": 2.0, "hevc": 10.0}  # (a), seconds from the PUT's answer
LADDER_GOAL = 1.10  # (b), full ladder / bare ladder
# name -> (codec, seconds)
SOURCES = {"10s": ("h264", 10), "60s": ("h264", 60), "5min": ("h264", 300), "hevc": ("hevc", 60)}
SIZE, RATE = (1920, 1080), 30
MASTER_POLL = 0.05  # seconds between GETs of the master playlist, until it answers
LADDER_POLL = 1.0  # seconds between GETs of the asset once it plays
DECODE_TIMEOUT = 30
_warned: set[str] = set()  # warnings said once per bench run


# --- sources --------------------------------------------------------------------------

def source_path(folder: Path, name: str) -> Path:
    codec, seconds = SOURCES[name]
    return folder / f"testsrc2-{SIZE[1]}p{RATE}-{seconds}s-{codec}.mp4"


def make_source(path: Path, codec: str, seconds: int) -> None:
    w, h = SIZE
    if codec == "h264":  # standard: closed 2 s GOPs, AAC-LC
        video = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
                 "-profile:v", "high", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0"]
    else:  # not standard: HEVC, encoded only
        video = ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                 "-tag:v", "hvc1", "-x265-params", "log-level=error"]
    part = path.with_suffix(".part.mp4")
    args = [ffmpeg_bin(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate={RATE}:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            *video, "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000",
            "-shortest", "-movflags", "+faststart", str(part)]
    debug("source: " + shlex.join(args))
    subprocess.run(args, check=True, timeout=3600)
    part.replace(path)


# --- the two bare commands ------------------------------------------------------------

def copy_command(plat: vp.Platform, source: Path, out_dir: Path) -> dict:
    """Whether the platform would copy the source (copy.judge), and its remux command."""
    code = (
        "import json, sys, django; django.setup()\n"
        "from pathlib import Path\n"
        "from media_core.processing import copy, probe\n"
        "src, out = Path(sys.argv[1]), Path(sys.argv[2])\n"
        "i = probe.inspect(src)\n"
        "v = copy.judge(i, src)\n"
        "print(json.dumps({'copy': v.copy, 'reason': v.reason,\n"
        "                  'args': copy.remux_args(copy.plan(i), src, out)}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(source), str(out_dir)], cwd=ROOT,
                          env=plat.env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"could not read the platform's copy command:\n{proc.stderr[-3000:]}")
    shutil.rmtree(out_dir, ignore_errors=True)  # remux_args made its folders
    return json.loads(proc.stdout)


def run_bare(args: list[str], out_dir: Path) -> tuple[float, float]:
    """Run one bare ffmpeg command into a fresh `out_dir`: (seconds, other processes' CPU)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    stream_map = args[args.index("-var_stream_map") + 1]
    for name in re.findall(r"name:([^,\s]+)", stream_map):  # ffmpeg writes, not makes, %v
        (out_dir / name).mkdir(parents=True)
    cpu0, busy0, self0 = vp.children_cpu(), machine_busy(), vp.self_cpu()
    started = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=7200)
    seconds = time.monotonic() - started
    others = machine_busy() - busy0 - (vp.children_cpu() - cpu0) - (vp.self_cpu() - self0)
    if proc.returncode != 0:
        raise SystemExit(f"bare ffmpeg failed ({proc.returncode}): {shlex.join(args)}\n"
                         f"{proc.stderr[-3000:]}")
    shutil.rmtree(out_dir, ignore_errors=True)
    return seconds, max(0.0, others)


# --- the platform run -----------------------------------------------------------------

@dataclass
class Run:
    first_playable: float  # (a)
    api_ready: float
    full_ladder: float  # (b)
    marks: dict[str, float] = field(default_factory=dict)  # event -> s after the PUT answer
    copied: str = ""  # the worker's word on the stream copy
    decodes: int = 0  # ffmpeg attempts on the master
    others: float = 0.0  # CPU seconds other processes used meanwhile


def decode_first_second(url: str) -> tuple[bool, str]:
    """ffmpeg reads the master playlist and decodes its first second (to null)."""
    args = [ffmpeg_bin(), "-nostdin", "-hide_banner", "-v", "error", "-progress", "pipe:1",
            "-nostats", "-i", url, "-t", "1", "-f", "null", "-"]
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=DECODE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return False, f"no answer in {DECODE_TIMEOUT} s"
    progress = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    frames = int(progress.get("frame", "0") or 0)
    # Really decoded: a clean exit and (nearly) a second of pictures out.
    if proc.returncode == 0 and frames >= int(0.9 * RATE):
        return True, f"{frames} frames"
    return False, f"exit {proc.returncode}, {frames} frames: {proc.stderr.strip()[-500:]}"


class MasterProber(threading.Thread):
    """From t0, tries the master playlist until ffmpeg decodes its first second."""

    def __init__(self, url: str, t0: float, timeout: float):
        super().__init__(daemon=True)
        self.url, self.t0, self.timeout = url, t0, timeout
        self.answered: float | None = None  # first 200 for the playlist
        self.playable: float | None = None  # first successful decode finished
        self.attempts, self.last_error = 0, ""
        self.stop = threading.Event()

    def run(self) -> None:
        with requests.Session() as http:
            while not self.stop.is_set() and time.monotonic() - self.t0 < self.timeout:
                tick = time.monotonic()
                try:
                    # A GET first: an ffmpeg run costs CPU the worker is using.
                    ok = http.get(self.url, timeout=10).status_code == 200
                except requests.RequestException:
                    ok = False
                if ok:
                    if self.answered is None:
                        self.answered = time.monotonic() - self.t0
                    self.attempts += 1
                    played, detail = decode_first_second(self.url)
                    if played:
                        self.playable = time.monotonic() - self.t0
                        return
                    self.last_error = detail
                    debug(f"decode attempt {self.attempts} failed: {detail}")
                self.stop.wait(max(0.0, MASTER_POLL - (time.monotonic() - tick)))


def platform_run(plat: vp.Platform, source: Path, rung_names: list[str], duration: float) -> Run:
    plat.check_alive()
    api = f"{plat.base}/api/v1"
    timeout = max(vp.READY_TIMEOUT, 8 * duration)
    created = plat.session.post(f"{api}/uploads", timeout=30,
                                json={"new_asset_settings": {"playback_policy": ["public"]}})
    if created.status_code != 201:
        raise SystemExit(f"POST /uploads: {created.status_code} {created.text}")
    log_offset = plat.logs["worker"].stat().st_size
    cpu0 = (*plat._cpu(), vp.children_cpu())
    with open(source, "rb") as fh:
        put = requests.put(created.json()["url"], data=fh, timeout=600,
                           headers={"Content-Type": "video/mp4"})
    t0, t0_wall = time.monotonic(), time.time()  # the upload's last byte answered
    if put.status_code != 200:
        raise SystemExit(f"PUT upload: {put.status_code} {put.text}")
    asset_id = put.json()["asset_id"]
    prober: MasterProber | None = None
    marks: dict[str, float] = {}
    next_poll = t0
    try:
        while True:
            now = time.monotonic()
            if now - t0 > timeout:
                raise SystemExit(f"asset {asset_id}: renditions not ready after {timeout:.0f} s"
                                 f"\nworker log:\n{plat.logs['worker'].read_text()[-3000:]}")
            time.sleep(max(0.0, next_poll - now))
            if prober is not None and prober.is_alive():
                # Until it plays only the prober asks (the asset's moments are read from
                # its events after): the bench's own requests take CPU from what it times.
                prober.join(0.2)
                next_poll = time.monotonic()
                continue
            next_poll += LADDER_POLL if prober is not None else plat.poll_seconds
            response = plat.session.get(f"{api}/assets/{asset_id}", timeout=30)
            elapsed = time.monotonic() - t0
            if response.status_code != 200:
                raise SystemExit(f"GET asset: {response.status_code} {response.text}")
            asset = response.json()
            if prober is None:  # the public playback id comes with the asset
                pid = next(p["id"] for p in asset["playback_ids"] if p["policy"] == "public")
                prober = MasterProber(f"{plat.base}/v/{pid}.m3u8", t0, timeout)
                prober.start()
            if "errored" in (asset["status"], asset.get("renditions_status")):
                raise SystemExit(f"asset {asset_id} errored: {json.dumps(asset.get('errors'))}\n"
                                 f"worker log:\n{plat.logs['worker'].read_text()[-3000:]}")
            if asset["status"] == "ready":
                marks.setdefault("status ready (API, polled)", elapsed)
                if "renditions_status" in asset:
                    done = asset["renditions_status"] == "ready"
                else:  # an API without the field: the ladder's renditions are listed
                    if "renditions_status" not in _warned:
                        say("  WARNING: the asset JSON has no renditions_status; (b) is when "
                            "its renditions list every rung of the ladder")
                        _warned.add("renditions_status")
                    done = set(rung_names) <= {r["name"] for r in asset["renditions"]}
                if done:
                    marks["renditions ready (API)"] = elapsed
                    marks["renditions ready (event)"] = _event_time(
                        plat, asset_id, "video.asset.renditions_ready") - t0_wall
                    marks["status ready (event)"] = _event_time(
                        plat, asset_id, "video.asset.ready") - t0_wall
                    break
            plat.check_alive()
        # The master plays by now at the latest; let the prober finish its decode.
        prober.join(DECODE_TIMEOUT + 5)
        if prober.playable is None:
            raise SystemExit(f"asset {asset_id} is ready but its master playlist never played "
                             f"({prober.attempts} decodes; last: {prober.last_error})\n"
                             f"web log:\n{plat.logs['web'].read_text()[-2000:]}")
    finally:
        if prober is not None:
            prober.stop.set()
    cpu1 = (*plat._cpu(), vp.children_cpu())
    ours = sum(cpu1[i] - cpu0[i] for i in (0, 1, 2, 3, 5))
    if prober.answered is not None:
        marks["master answered"] = prober.answered
    marks["first decode done"] = prober.playable
    copied = ""
    with open(plat.logs["worker"], "rb") as fh:  # lines carry wall-clock stamps (ms)
        fh.seek(log_offset)
        text = fh.read().decode("utf-8", "replace")
    # "no stream copy" lines name the job only.
    job_ids = set(re.findall(rf"job (\S+) attempt \d+ started for {asset_id}", text))
    for line in text.splitlines():
        stamp = vp.log_time(line)
        if stamp is None or not (asset_id in line or any(j in line for j in job_ids)):
            continue
        if " started for " in line:
            marks.setdefault("job started (log)", stamp - t0_wall)
        elif "plays from its stream copy" in line:
            marks.setdefault("copy published (log)", stamp - t0_wall)
            copied = "copied"
        elif "no stream copy (" in line:
            copied = "not copied: " + line.split("no stream copy (", 1)[1].rsplit(")", 1)[0]
        elif "the stream copy failed" in line:
            copied = "copy FAILED: " + line.split("failed (", 1)[-1][:200]
        elif "is ready" in line:
            marks.setdefault("job ready (log)", stamp - t0_wall)
    return Run(first_playable=prober.playable, api_ready=marks["status ready (event)"],
               full_ladder=marks["renditions ready (event)"], marks=marks, copied=copied,
               decodes=prober.attempts, others=max(0.0, cpu1[4] - cpu0[4] - ours))


def _event_time(plat: vp.Platform, asset_id: str, kind: str) -> float:
    """When the asset's event of that type was written (wall clock): its created_at, in
    the transaction that made it true."""
    from datetime import datetime

    response = plat.session.get(f"{plat.base}/api/v1/events", timeout=30,
                                params={"type": kind, "limit": 100})
    for event in response.json()["data"]:
        if event["data"]["id"] == asset_id:
            return datetime.fromisoformat(event["created_at"].replace("Z", "+00:00")).timestamp()
    raise SystemExit(f"asset {asset_id}: no {kind} event")


# --- main -----------------------------------------------------------------------------

def git_state() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout
    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no").strip()
    return f"{head}{' (working tree dirty)' if dirty else ''}"


@dataclass
class Figures:
    name: str
    codec: str
    duration: float
    copy: dict  # copy.judge's verdict and the remux command
    ladder: dict  # the platform's ladder command
    remux: list[tuple[float, float]] = field(default_factory=list)  # (seconds, others)
    bare: list[tuple[float, float]] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)


def med(values) -> float:
    return statistics.median(list(values))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds per source (default 3)")
    parser.add_argument("--quick", action="store_true", help="one round (a smoke test)")
    parser.add_argument("--only", default=",".join(SOURCES),
                        help=f"comma list of sources among {','.join(SOURCES)} (default: all)")
    parser.add_argument("--sources", type=Path,
                        default=Path(tempfile.gettempdir()) / "kino-first-playable-sources",
                        help="where the generated sources are kept between runs")
    parser.add_argument("--poll", type=float, default=vp.POLL_SECONDS,
                        help=f"seconds between GETs of the asset (default {vp.POLL_SECONDS})")
    parser.add_argument("--idle-wait", type=float, default=60,
                        help="before each timed step, wait up to this many seconds for the "
                             f"machine to use under {IDLE_CORES} CPUs (0: do not wait; default 60)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (VAR_DIR, logs)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print the commands, the timelines and every decode attempt")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    opts = parser.parse_args()
    vp.VERBOSE = opts.verbose
    # A plain `kill` of the bench still stops the server and worker it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    runs = 1 if opts.quick else opts.runs
    names = [n.strip() for n in opts.only.split(",") if n.strip()]
    if runs < 1 or not names or any(n not in SOURCES for n in names):
        parser.error(f"--runs must be at least 1; --only takes names among {','.join(SOURCES)}")

    say(f"machine: {os.cpu_count()} CPUs, {cpu_model()}")
    say(f"code: git {git_state()}")
    say(f"command: {shlex.join([sys.executable, *sys.argv])}")
    if "hevc" in names and "libx265" not in subprocess.run(
            [ffmpeg_bin(), "-hide_banner", "-encoders"], capture_output=True, text=True).stdout:
        raise SystemExit("this ffmpeg has no libx265 encoder: the hevc source cannot be made")
    opts.sources.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = source_path(opts.sources, name)
        if not path.exists():
            say(f"generating {path} ...")
            make_source(path, *SOURCES[name])

    work = Path(tempfile.mkdtemp(prefix="kino-first-playable-"))
    plat = vp.Platform(work / "var")
    plat.poll_seconds = opts.poll
    figures: list[Figures] = []
    try:
        say("starting the platform (migrate, API key, daphne, qcluster) ...")
        plat.start()
        say(f"platform up at {plat.base}, VAR_DIR={plat.var_dir}")
        for name in names:
            path = source_path(opts.sources, name)
            info = vp.probe_source(path)
            ladder = plat.platform_command(path)
            ladder["args"] = [a.replace("<work>/out", str(work / "bare")) for a in ladder["args"]]
            f = Figures(name, SOURCES[name][0], info["duration"],
                        copy_command(plat, path, work / "bare"), ladder)
            figures.append(f)
            verdict = "stream copy first" if f.copy["copy"] else f"encode only ({f.copy['reason']})"
            say(f"source {name}: {path.name}, {f.duration:.2f} s {info['width']}x{info['height']} "
                f"{info['fps']:g} fps, {path.stat().st_size / 1e6:.1f} MB; platform: {verdict}; "
                f"ladder {'/'.join(r[0] for r in ladder['rungs'])}")
            debug("bare remux: " + shlex.join(f.copy["args"]))
            debug("bare ladder: " + shlex.join(ladder["args"]))

        def settle(label: str) -> None:
            t = time.monotonic()
            used = wait_idle(opts.idle_wait)
            if used is not None:
                say(f"  (waited {time.monotonic() - t:.0f} s before {label}; "
                    f"{used:.2f} CPUs in use by others)")

        for i in range(1, runs + 1):
            for f in figures:
                path = source_path(opts.sources, f.name)
                if f.copy["copy"]:
                    settle(f"{f.name} bare remux")
                    f.remux.append(run_bare(f.copy["args"], work / "bare"))
                settle(f"{f.name} bare ladder")
                f.bare.append(run_bare(f.ladder["args"], work / "bare"))
                settle(f"{f.name} platform")
                r = platform_run(plat, path, [r[0] for r in f.ladder["rungs"]], f.duration)
                f.runs.append(r)
                remux = f"{f.remux[-1][0]:.2f} s" if f.copy["copy"] else "n/a"
                say(f"round {i}/{runs} {f.name}: bare remux {remux}, bare ladder "
                    f"{f.bare[-1][0]:.2f} s; platform: first playable {r.first_playable:.2f} s "
                    f"({r.decodes} decode{'s' if r.decodes != 1 else ''}), API ready "
                    f"{r.api_ready:.2f} s, full ladder {r.full_ladder:.2f} s; "
                    f"{r.copied or 'worker said nothing of a copy'}; "
                    f"other processes' CPU {r.others:.1f} s")
                timeline = ", ".join(f"{k} {v:+.2f}"
                                     for k, v in sorted(r.marks.items(), key=lambda kv: kv[1]))
                debug(f"timeline after the PUT answer (s): {timeline}")
    finally:
        plat.stop()
        if opts.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    say("")
    say(f"results, median of {runs} round{'s' if runs > 1 else ''} (s from the upload PUT's "
        f"answer; {os.cpu_count()} CPUs):")
    say("")
    say("| source | bare remux | (a) first playable | API ready | (b) full ladder "
        "| bare ladder | (b)/bare | (b)/bare, by round | goal (a) | goal (b) |")
    say("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    summary, missed, disturbed = [], 0, 0
    for f in figures:
        first = med(r.first_playable for r in f.runs)
        full, bare = med(r.full_ladder for r in f.runs), med(s for s, _ in f.bare)
        ratio = full / bare
        # Each round's platform run against the bare ladder of the same round (the same
        # moment of a shared machine): what the goal is judged on.
        paired = med(r.full_ladder / b for r, (b, _) in zip(f.runs, f.bare, strict=True))
        goal_a = FIRST_GOAL[f.codec]
        met_a, met_b = first <= goal_a, paired <= LADDER_GOAL
        missed += (not met_a) + (not met_b)
        remux = f"{med(s for s, _ in f.remux):.2f}" if f.remux else "n/a"
        say(f"| {f.name} ({f.codec}, {f.duration:.0f} s) | {remux} | {first:.2f} "
            f"| {med(r.api_ready for r in f.runs):.2f} | {full:.2f} | {bare:.2f} | {ratio:.3f} "
            f"| {paired:.3f} "
            f"| <= {goal_a:g} s: {'met' if met_a else 'NOT met'} "
            f"| <= {LADDER_GOAL:.2f}: {'met' if met_b else 'NOT met'} |")
        summary.append(f"{f.name} {first:.2f} s / {paired:.3f}")
        # Another process using over 10 % of the machine during a timed step: noise.
        steps = [(s, o) for s, o in (*f.remux, *f.bare)] + [(r.full_ladder, r.others)
                                                            for r in f.runs]
        disturbed += sum(1 for s, o in steps if o > 0.1 * s * (os.cpu_count() or 1))
    say("")
    say("bare remux: copy.remux_args (as the worker runs it, without its poster); bare ladder: "
        "encode.build_args with the sound (after a copy the worker encodes pictures only)")
    if disturbed:
        say(f"WARNING: in {disturbed} timed step{'s' if disturbed > 1 else ''} other processes used over 10 % of the "
            "machine's CPU; the figures are noisy. Rerun on an idle machine.")
    say("")
    say(f"SUMMARY: first playable / full ladder vs bare ladder, median of {runs}, "
        f"{os.cpu_count()} CPUs: {'; '.join(summary)}; goals (a) <= 2.0 s H.264, <= 10 s "
        f"HEVC, (b) <= {LADDER_GOAL:.2f}: {'all met' if not missed else f'{missed} NOT met'}")
    return 1 if (opts.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
