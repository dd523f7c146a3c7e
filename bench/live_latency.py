#!/usr/bin/env python
"""Live latency benchmark: glass-to-glass latency of live streams, through the platform
and through a bare nginx-rtmp at its defaults, in one run.

The platform runs as subprocesses (migrate, an API key, daphne, `manage.py live_ingest`
on free ports and a temp LIVE_DIR). For each latency mode (`low`: app `live-low`, 1 s
fragments; `standard`: app `live`, 4 s fragments) the bench creates a live stream over
the API and publishes to it; the baseline is a second nginx-rtmp with `hls on` and
nothing else (hls_fragment 5s, hls_playlist_length 30s), fed the same source. One
target at a time, so they do not share the CPUs.

The source: ffmpeg -re, testsrc2 + sine, x264 ultrafast zerolatency, a keyframe every
second, AAC, FLV over RTMP. With -re the frame at media time p leaves ffmpeg at about
T0 + p; T0 is measured, not assumed: ffmpeg reports (-progress, every 0.1 s) how far its
output has got, and T0 is the median of (wall clock at the report - output time).

While it publishes, the bench watches the stream from three places:

  * disk: the playlist nginx-rtmp writes, stat()ed every 10 ms; a segment's time is the
    playlist's mtime when it first lists it (the moment nginx-rtmp cut and wrote it);
  * ingest HTTP (platform modes): the live_ingest nginx's own /hls/ location, as a
    player next to the ingest would see it;
  * the viewer's URL: for the platform, /v/{playback_id}.m3u8 and the signed media
    playlist it points to (polled every --poll s, default 50 ms), each new segment
    fetched at once; for the baseline, the bare nginx's HTTP.

Each segment's media time comes from its first video PTS (ffprobe on the segment) less
the first segment's, so media time 0 is the first frame, sent at T0. Then:

  * segment availability delay = the time the viewer's URL first lists a segment -
    (T0 + the segment's end), end = the next segment's start (the segment closed at
    unpublish is left out);
  * player latency: a player like hls.js 1.7 (the version in static/vendor) that joins at
    every poll of the viewer's URL. It starts at liveSyncPosition = min(edge -
    liveSyncDurationCount x TARGETDURATION, edge - TARGETDURATION), where edge is the end
    of the last listed segment, once it has fetched the segment there; from then it plays
    continuously. It reloads the playlist as hls.js does (every TARGETDURATION, or the
    last segment's duration when shorter, half that when nothing changed) and fetches each
    new segment (with the fetch time measured for it); if one arrives after it is
    needed, the player stalls and the latency grows by the stall. Latency = wall clock -
    (T0 + the media time on screen). The count is what each embed page configures: 2 for
    low, 3 for standard; hls.js's default 3 for the baseline. Joins run from (count + 1)
    target durations after the first playable master to two target durations before the
    publisher stops; "end" is the latency when the last full segment plays.

Prints median and p95 per mode and the ratio to the baseline, where the time goes (cut
and playlist write, the ingest's HTTP, the platform's HTTP), and the same player with
other live-sync settings on the same recording.

    .venv/bin/python bench/live_latency.py [--seconds 60] [--rounds 1] [--size 640x360]
                                           [--poll 0.05] [--modes low,standard,baseline]
                                           [--idle-wait 60] [--keep] [-v] [--check]

Needs nginx with libnginx-mod-rtmp, ffmpeg and ffprobe. The bench process does not
import Django: the platform runs only in its subprocesses.
"""

from __future__ import annotations

import argparse
import os
import platform as platform_info
import pwd
import queue
import random
import resource
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import requests
from machine import (
    IDLE_CORES,
    Processes,
    cpu_model,
    find_tool,
    free_port,
    machine_busy,
    tree_cpu,
    venv_bin,
    wait_idle,
)

GOAL_LOW = 3.0
RTMP_MODULE = os.environ.get("NGINX_RTMP_MODULE", "/usr/lib/nginx/modules/ngx_rtmp_module.so")
# The live-edge distance the player keeps, as templates/playback/embed.html sets it:
# liveSyncDuration (seconds) for low, liveSyncDurationCount for standard; hls.js's
# default (count 3) for the baseline. SYNC_COUNT also paces when simulated viewers join.
SYNC_SECONDS = {"low": 1.75}
SYNC_COUNT = {"low": 2, "standard": 3, "baseline": 3}
INGEST_APP = {"low": "live-low", "standard": "live"}
# The player with other settings, on the same recordings: (label, count, seconds).
WHAT_IF = [("count 1", 1, None), ("1.5 s", None, 1.5), ("1.75 s", None, 1.75),
           ("count 2", 2, None), ("2.5 s", None, 2.5), ("count 3", 3, None)]
DISK_TICK = 0.01

VERBOSE = False


def say(message: str = "") -> None:
    print(message, flush=True)


def debug(message: str) -> None:
    if VERBOSE:
        print(f"  . {message}", flush=True)


def pct(values: list[float], p: float) -> float:
    """The p-th percentile, linear between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- processes ----------------------------------------------------------------------


def _processes(work: Path, env: dict) -> Processes:
    # The ingest first: it stops its nginx and reports to the web server.
    return Processes(work, env, log=debug, quit_with={"bare-nginx": signal.SIGQUIT},
                     stop_first=("ingest",))


def wait_http(url: str, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{proc.args[0]} did not answer {url}:\n"
                                 f"{log.read_text(errors='replace')[-3000:]}") from None
            time.sleep(0.1)


def free_udp_range(count: int) -> range:
    """`count` consecutive UDP ports free now (the ingest's SRT listeners)."""
    for _ in range(200):
        base = random.randint(20000, 60000 - count)
        socks = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
        return range(base, base + count)
    raise SystemExit("no free UDP port range")




def own_cpu() -> tuple[float, float]:
    """CPU seconds of this process, and of its waited-for children (the publishers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


BARE_CONF = """{user}load_module {module};
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 256; }}
rtmp {{
    server {{
        listen 127.0.0.1:{rtmp_port};
        application live {{
            live on;
            hls on;
            hls_path {prefix}/hls;
        }}
    }}
}}
http {{
    access_log off;
    client_body_temp_path {prefix}/temp/body; proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi; uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    server {{
        listen 127.0.0.1:{http_port};
        location /hls/ {{ alias {prefix}/hls/; add_header Cache-Control no-cache; }}
        location = /stat {{ rtmp_stat all; }}
    }}
}}
"""


# --- playlists ------------------------------------------------------------------------


@dataclass
class Playlist:
    target: float
    segments: list[tuple[str, float]]  # (uri, EXTINF)

    @property
    def uris(self) -> tuple[str, ...]:
        return tuple(uri for uri, _ in self.segments)


def parse_playlist(text: str) -> Playlist | None:
    if not text.startswith("#EXTM3U"):
        return None
    target, duration, segments = 0.0, None, []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = float(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append((line, duration))
            duration = None
    return Playlist(target=target, segments=segments)


class Watcher(threading.Thread):
    """Polls one playlist; remembers every distinct version and when each segment was
    first listed."""

    def __init__(self, name: str, interval: float):
        super().__init__(daemon=True, name=name)
        self.label = name
        self.interval = interval
        self.stopping = threading.Event()
        self.started_at = 0.0
        self.first_seen: dict[str, float] = {}  # uri -> wall time it was first listed
        self.versions: list[tuple[float, Playlist]] = []  # (wall time, playlist) on change
        self.polls: list[tuple[float, int]] = []  # (wall time, index into versions)
        self.fetch_seconds: list[float] = []
        self.errors = 0
        self.on_new = None

    def read(self) -> tuple[float, str | None]:
        raise NotImplementedError

    def run(self) -> None:
        self.started_at = time.time()
        next_at = time.monotonic()
        while not self.stopping.is_set():
            try:
                stamp, text = self.read()
            except (OSError, requests.RequestException):
                self.errors += 1
                stamp, text = time.time(), None
            found = parse_playlist(text) if text else None
            if found is not None and found.segments:
                if not self.versions or self.versions[-1][1].segments != found.segments:
                    self.versions.append((stamp, found))
                    for uri, _ in found.segments:
                        if uri not in self.first_seen:
                            self.first_seen[uri] = stamp
                            if self.on_new:
                                self.on_new(uri)
                self.polls.append((stamp, len(self.versions) - 1))
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay < 0:
                next_at = time.monotonic()
            else:
                self.stopping.wait(delay)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


class HttpWatcher(Watcher):
    def __init__(self, name: str, url: str, interval: float):
        super().__init__(name, interval)
        self.url = url
        self.session = requests.Session()

    def read(self) -> tuple[float, str | None]:
        began = time.time()
        answer = self.session.get(self.url, timeout=5)
        done = time.time()
        if answer.status_code != 200:
            self.errors += 1
            return done, None
        self.fetch_seconds.append(done - began)
        return done, answer.text


class DiskWatcher(Watcher):
    """The playlist file: the segment's time is the file's mtime (nginx-rtmp's write),
    and each new segment is copied aside for ffprobe before nginx-rtmp cleans it up."""

    def __init__(self, name: str, path: Path, keep: Path):
        super().__init__(name, DISK_TICK)
        self.path = path
        self.keep = keep
        self.mtime_ns = 0
        self.lag: list[float] = []  # seen - mtime: this watcher's own delay

    def read(self) -> tuple[float, str | None]:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return time.time(), None
        if info.st_mtime_ns == self.mtime_ns:
            return time.time(), None
        text = self.path.read_text()
        self.mtime_ns = info.st_mtime_ns
        stamp = info.st_mtime_ns / 1e9
        self.lag.append(time.time() - stamp)
        found = parse_playlist(text)
        for uri, _ in found.segments if found else []:
            target = self.keep / uri
            if not target.exists():
                try:
                    shutil.copyfile(self.path.parent / uri, target)
                except OSError:
                    pass
        return stamp, text


class Fetcher(threading.Thread):
    """Fetches each new segment from the viewer's URL as soon as it is listed."""

    def __init__(self, base_url: str):
        super().__init__(daemon=True, name="fetcher")
        self.base_url = base_url
        self.todo: queue.Queue[str | None] = queue.Queue()
        self.session = requests.Session()
        self.done: dict[str, tuple[float, float, int, int]] = {}  # uri -> (start, end, status, bytes)

    def run(self) -> None:
        while (uri := self.todo.get()) is not None:
            began = time.time()
            try:
                answer = self.session.get(urljoin(self.base_url, uri), timeout=10)
                self.done[uri] = (began, time.time(), answer.status_code, len(answer.content))
            except requests.RequestException:
                self.done[uri] = (began, time.time(), 0, 0)

    def stop(self) -> None:
        self.todo.put(None)
        self.join(timeout=30)


# --- the publisher --------------------------------------------------------------------


class Publisher:
    """ffmpeg -re: the generated source, pushed over RTMP, with its progress timed."""

    def __init__(self, url: str, *, seconds: float, size: str, rate: int, log: Path):
        self.args = [
            os.environ.get("FFMPEG_BIN") or "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
            "-re", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-pix_fmt", "yuv420p", "-g", str(rate), "-keyint_min", str(rate), "-sc_threshold", "0",
            "-c:a", "aac", "-b:a", "64k", "-f", "flv",
            "-progress", "pipe:1", "-stats_period", "0.1", url]
        self.samples: list[tuple[float, float]] = []  # (wall time, output media time)
        self.launched = time.time()
        with open(log, "ab") as fh:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=fh, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            stamp = time.time()
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            if key == "out_time_us" and value.lstrip("-").isdigit() and int(value) > 0:
                self.samples.append((stamp, int(value) / 1e6))

    def t0_spread(self) -> tuple[float, float, float]:
        """(T0, p5 - T0, p95 - T0): when the frame at media time 0 left ffmpeg."""
        offsets = [wall - media for wall, media in self.samples]
        if not offsets:
            raise SystemExit("ffmpeg reported no progress:\n" + shlex.join(self.args))
        t0 = med(offsets)
        return t0, pct(offsets, 5) - t0, pct(offsets, 95) - t0

    def wait(self, timeout: float) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            code = -1
        self.reader.join(timeout=5)
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass


def first_video_pts(path: Path, ffprobe: str) -> float | None:
    out = subprocess.run([ffprobe, "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1",
                          "-show_entries", "packet=pts_time", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, timeout=30).stdout
    for line in out.splitlines():
        try:
            return float(line.strip().strip(","))
        except ValueError:
            continue
    return None


# --- one measured stream ---------------------------------------------------------------


@dataclass
class Segment:
    uri: str
    extinf: float
    start: float  # media time of its first video frame
    end: float | None  # the next segment's start; None for the last (cut at unpublish)
    on_disk: float  # playlist mtime when first listed
    ingest_http: float | None
    viewer: float | None  # first listed at the viewer's URL
    fetch: float | None  # seconds to fetch it from the viewer's URL
    listed_at_join: bool  # already listed when the viewer's URL was first read


@dataclass
class Run:
    mode: str
    round_no: int
    seconds: float
    t0: float
    t0_lo: float
    t0_hi: float
    launched: float
    playable: float  # first 200 of the viewer's master/media playlist
    stopped: float  # publisher exited
    segments: list[Segment]
    viewer: Watcher
    disk_lag: list[float]
    playlist_fetch: dict[str, list[float]]
    cpu: dict[str, float] = field(default_factory=dict)
    players: dict[str, list[tuple[float, float, int, float]]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return SYNC_COUNT[self.mode]

    @property
    def target(self) -> float:
        return max(p.target for _, p in self.viewer.versions)

    def closed(self) -> list[Segment]:
        return [s for s in self.segments if s.end is not None]

    def availability(self) -> list[float]:
        return [s.viewer - (self.t0 + s.end) for s in self.closed()
                if s.viewer is not None and not s.listed_at_join]


def measure(mode: str, round_no: int, *, publish_url: str, master_url: str | None,
            ingest_url: str | None, viewer_url: str | None, disk_path: Path, keep: Path,
            opts, ffprobe: str, cpu_roots: dict[str, list[int]], work: Path) -> Run:
    """Publish for opts.seconds and watch one stream from disk, ingest HTTP and the viewer."""
    keep.mkdir(parents=True)
    disk = DiskWatcher(f"{mode} disk", disk_path, keep)
    ingest = HttpWatcher(f"{mode} ingest http", ingest_url, opts.poll) if ingest_url else None
    disk.start()
    if ingest:
        ingest.start()
    busy0, own0 = machine_busy(), own_cpu()
    cpu0 = {name: tree_cpu(pids, waited_children=True) for name, pids in cpu_roots.items()}
    wall0 = time.time()
    publisher = Publisher(publish_url, seconds=opts.seconds, size=opts.size, rate=opts.rate,
                          log=work / "publisher.log")
    session = requests.Session()
    viewer = fetcher = None
    playable = None
    media_url = viewer_url
    deadline = time.monotonic() + 60
    try:
        # The viewer's way in: the platform's master (answered once the ingest reports a
        # playable playlist), then the signed media playlist it names.
        while playable is None:
            if time.monotonic() > deadline or publisher.proc.poll() is not None:
                raise SystemExit(f"{mode}: no playable playlist at {master_url or viewer_url}")
            try:
                if master_url:
                    answer = session.get(master_url, timeout=5)
                    if answer.status_code == 200:
                        child = next(line for line in answer.text.splitlines()
                                     if line and not line.startswith("#"))
                        media_url = urljoin(master_url, child)
                if media_url:
                    answer = session.get(media_url, timeout=5)
                    found = parse_playlist(answer.text) if answer.status_code == 200 else None
                    if found and found.segments:
                        playable = time.time()
            except requests.RequestException:
                pass
            if playable is None:
                time.sleep(opts.poll)
        viewer = HttpWatcher(f"{mode} viewer", media_url, opts.poll)
        fetcher = Fetcher(media_url)
        viewer.on_new = fetcher.todo.put
        fetcher.start()
        viewer.start()
        debug(f"{mode}: playable {playable - publisher.launched:.2f} s after launch; {media_url}")
        code = publisher.wait(opts.seconds + 60)
        stopped = time.time()
        if code != 0:
            raise SystemExit(f"{mode}: the publisher exited with {code}:\n"
                             + (work / "publisher.log").read_text(errors="replace")[-2000:])
        time.sleep(1.5)  # the segment cut at unpublish
        others_window = time.time() - wall0
        cpu = {name: tree_cpu(pids, waited_children=True) - cpu0[name] for name, pids in cpu_roots.items()}
        own1 = own_cpu()
        cpu["bench"], cpu["publisher"] = own1[0] - own0[0], own1[1] - own0[1]
        cpu["others"] = max(0.0, machine_busy() - busy0 - sum(cpu.values()))
        cpu["window"] = others_window
    finally:
        publisher.stop()
        for watcher in (disk, ingest, viewer):
            if watcher is not None and watcher.is_alive():
                watcher.stop()
        if fetcher is not None:
            fetcher.stop()
    t0, lo, hi = publisher.t0_spread()

    # Media times from the segments' first video frames.
    order: list[str] = []
    extinf: dict[str, float] = {}
    for _, playlist in disk.versions:
        for uri, duration in playlist.segments:
            if uri not in extinf:
                order.append(uri)
                extinf[uri] = duration
    pts = {uri: first_video_pts(keep / uri, ffprobe) for uri in order}
    missing = [uri for uri in order if pts[uri] is None]
    if missing or not order:
        raise SystemExit(f"{mode}: could not read the first video frame of {missing or 'any segment'}")
    origin = pts[order[0]]
    segments = []
    viewer_first_read = viewer.versions[0][1].uris if viewer.versions else ()
    for i, uri in enumerate(order):
        fetched = fetcher.done.get(uri)
        segments.append(Segment(
            uri=uri, extinf=extinf[uri], start=pts[uri] - origin,
            end=pts[order[i + 1]] - origin if i + 1 < len(order) else None,
            on_disk=disk.first_seen[uri],
            ingest_http=ingest.first_seen.get(uri) if ingest else None,
            viewer=viewer.first_seen.get(uri),
            fetch=(fetched[1] - fetched[0]) if fetched and fetched[2] == 200 else None,
            listed_at_join=uri in viewer_first_read))
    bad = [uri for uri, got in fetcher.done.items() if got[2] != 200]
    if bad:
        say(f"  WARNING: {mode}: {len(bad)} segment fetch(es) failed: {bad[:3]}")
    fetch = {"viewer": viewer.fetch_seconds}
    if ingest:
        fetch["ingest http"] = ingest.fetch_seconds
    return Run(mode=mode, round_no=round_no, seconds=opts.seconds, t0=t0, t0_lo=lo, t0_hi=hi,
               launched=publisher.launched, playable=playable, stopped=stopped,
               segments=segments, viewer=viewer, disk_lag=disk.lag, playlist_fetch=fetch, cpu=cpu)


# --- the player -----------------------------------------------------------------------


def simulate(run: Run, sync: float | None = None) -> list[tuple[float, float, int, float]]:
    """A player joining at every poll of the viewer's URL:
    [(latency at start, latency at the end, stalls, seconds stalled)].

    `sync` is the target latency in seconds (liveSyncDuration); None means the mode's
    setting: SYNC_SECONDS, else liveSyncDurationCount x TARGETDURATION.
    """
    if sync is None:
        sync = SYNC_SECONDS.get(run.mode)
    media = {s.uri: s for s in run.segments}
    versions, polls = run.viewer.versions, run.viewer.polls
    poll_times = [t for t, _ in polls]
    closed = [s for s in run.segments if s.end is not None]
    if not closed:
        return []
    last_end = closed[-1].end
    fetch_default = med([s.fetch for s in run.segments if s.fetch is not None]) or 0.0

    def end_of(seg: Segment) -> float:
        return seg.end if seg.end is not None else seg.start + seg.extinf

    def version_at(t: float) -> Playlist | None:
        lo, hi = 0, len(poll_times)
        while lo < hi:  # the last poll at or before t
            mid = (lo + hi) // 2
            if poll_times[mid] <= t:
                lo = mid + 1
            else:
                hi = mid
        return versions[polls[lo - 1][1]][1] if lo else None

    results = []
    first_join = run.playable + (run.count + 1) * run.target
    last_join = run.stopped - 2 * run.target
    for join, index in polls:
        if not first_join <= join <= last_join:
            continue
        playlist = versions[index][1]
        known = [media[u] for u in playlist.uris if u in media]
        if not known:
            continue
        td = playlist.target
        edge = known[-1].start + known[-1].extinf
        target_latency = sync if sync is not None else run.count * td
        start = min(max(known[0].start, edge - target_latency), edge - td)
        first = next((s for s in known if end_of(s) > start + 1e-6), known[-1])
        playing = join + (first.fetch if first.fetch is not None else fetch_default)
        latency = playing - (run.t0 + start)
        initial = latency
        stalls, stalled = 0, 0.0
        # Playlist reloads as hls.js schedules them; each new segment is fetched in turn.
        reload_at, seen = join, set(playlist.uris)
        updated, last_duration = True, known[-1].extinf
        loaded_until = playing
        for seg in closed:
            if seg.start + 1e-6 < end_of(first) or seg.end > last_end:
                continue
            while seg.uri not in seen:
                interval = td if updated else td / 2
                if updated and last_duration < td:
                    interval = last_duration
                reload_at += interval
                if reload_at > run.stopped + 5:
                    break
                current = version_at(reload_at)
                fresh = [u for u in (current.uris if current else ()) if u not in seen]
                updated = bool(fresh)
                seen.update(fresh)
                if fresh and fresh[-1] in media:
                    last_duration = media[fresh[-1]].extinf
            if seg.uri not in seen:
                break
            ready = max(reload_at, loaded_until) + (seg.fetch if seg.fetch is not None else fetch_default)
            loaded_until = ready
            needed = run.t0 + seg.start + latency
            if ready > needed:
                stalls += 1
                stalled += ready - needed
                latency += ready - needed
        results.append((initial, latency, stalls, stalled))
    return results


# --- setup and report ------------------------------------------------------------------


def cpu_note(run: Run) -> str:
    c = run.cpu
    parts = [f"{name} {c[name]:.1f}" for name in ("publisher", "ingest", "web", "bare nginx", "bench")
             if name in c]
    return (f"CPU s over {c['window']:.0f} s: " + ", ".join(parts)
            + f", other processes {c['others']:.1f}")


def describe(run: Run) -> None:
    closed = run.closed()
    durations = [s.end - s.start for s in closed]
    avail = run.availability()
    joined = run.players["as configured"]
    say(f"  {run.mode:8} round {run.round_no}: T0 = launch + {run.t0 - run.launched:.2f} s "
        f"(T0 spread p5/p95 {run.t0_lo * 1000:+.0f}/{run.t0_hi * 1000:+.0f} ms); viewer's "
        f"playlist playable at T0 + {run.playable - run.t0:.2f} s; TARGETDURATION "
        f"{run.target:g}; {len(closed)} full segments {min(durations):.2f}-{max(durations):.2f} s")
    say(f"           segment availability median {med(avail):.2f} s p95 {pct(avail, 95):.2f} s "
        f"({len(avail)} segments); player (hls.js, {run.count} x TD) start median "
        f"{med([j[0] for j in joined]):.2f} s, end median {med([j[1] for j in joined]):.2f} s, "
        f"{sum(1 for j in joined if j[2])}/{len(joined)} joins stalled")
    say(f"           {cpu_note(run)}")


def report(runs: list[Run], opts) -> bool:
    by_mode: dict[str, list[Run]] = {}
    for run in runs:
        by_mode.setdefault(run.mode, []).append(run)
    modes = [m for m in ("low", "standard", "baseline") if m in by_mode]

    def pooled(mode: str, what) -> list[float]:
        return [v for run in by_mode[mode] for v in what(run)]

    def joins(mode: str, label: str = "as configured") -> list[tuple[float, float, int, float]]:
        return [j for run in by_mode[mode] for j in run.players[label]]

    base_start = med([j[0] for j in joins("baseline")]) if "baseline" in by_mode else None

    say()
    say(f"results ({len(runs) // len(modes)} round(s) of {opts.seconds:g} s per mode; "
        f"latency = wall clock - (T0 + media time on screen); median / p95):")
    say(f"  {'mode':38} {'TD':>3} {'segs':>5} {'seg availability':>17} "
        f"{'player at start':>16} {'player at end':>14} {'stalled':>8} {'vs baseline':>12}")
    for mode in modes:
        avail = pooled(mode, Run.availability)
        j = joins(mode)
        start, end = [x[0] for x in j], [x[1] for x in j]
        run0 = by_mode[mode][0]
        if mode == "baseline":
            name = "baseline nginx-rtmp defaults (5s/30s)"
        else:
            app = INGEST_APP[mode]
            name = f"platform {mode} ({app})"
        ratio = f"x{med(start) / base_start:.2f}" if base_start and mode != "baseline" else "1"
        say(f"  {name:38} {run0.target:>3g} {len(avail):>5} "
            f"{med(avail):>7.2f} / {pct(avail, 95):>5.2f} s "
            f"{med(start):>6.2f} / {pct(start, 95):>5.2f} s {med(end):>5.2f} / {pct(end, 95):>5.2f} s "
            f"{sum(1 for x in j if x[2]):>4}/{len(j):<4}{ratio:>8}")
    say("  (player: hls.js live sync as the embed page sets it: low liveSyncDuration 1.75 s, "
        "standard liveSyncDurationCount 3; "
        "hls.js default 3 for the baseline; joins at every 50 ms poll)")

    say()
    say("where the time goes (median / p95, s; T0 + segment end = when its closing keyframe left ffmpeg):")
    say(f"  {'mode':10} {'cut+write':>16} {'ingest HTTP':>16} {'viewer URL':>16} "
        f"{'viewer - disk':>16} {'playlist GET':>14} {'segment GET':>14} {'playable':>9}")
    for mode in modes:
        closed = [s for run in by_mode[mode] for s in run.closed()]
        t0s = {id(s): run.t0 for run in by_mode[mode] for s in run.closed()}
        on_disk = [s.on_disk - (t0s[id(s)] + s.end) for s in closed]
        ingest = [s.ingest_http - (t0s[id(s)] + s.end) for s in closed if s.ingest_http is not None]
        viewer = [s.viewer - (t0s[id(s)] + s.end) for s in closed
                  if s.viewer is not None and not s.listed_at_join]
        hop = [s.viewer - s.on_disk for s in closed if s.viewer is not None and not s.listed_at_join]
        gets = pooled(mode, lambda r: r.playlist_fetch["viewer"])
        seg_gets = [s.fetch for s in closed if s.fetch is not None]
        playable = [run.playable - run.t0 for run in by_mode[mode]]

        def mp(values: list[float], width: int = 16, scale: float = 1.0, unit: str = "") -> str:
            if not values:
                return f"{'-':>{width}}"
            text = f"{med(values) * scale:.{0 if scale > 1 else 2}f} / {pct(values, 95) * scale:.{0 if scale > 1 else 2}f}{unit}"
            return f"{text:>{width}}"

        say(f"  {mode:10} {mp(on_disk)} {mp(ingest)} {mp(viewer)} {mp(hop)} "
            f"{mp(gets, 14, 1000, ' ms')} {mp(seg_gets, 14, 1000, ' ms')} {med(playable):>8.2f}s")
    lags = [x for run in runs for x in run.disk_lag]
    say(f"  (disk: the playlist's mtime, read every {DISK_TICK * 1000:.0f} ms, median {med(lags) * 1000:.0f} ms "
        f"after it was written; HTTP pollers every {opts.poll * 1000:.0f} ms, so 'viewer' includes "
        f"up to {opts.poll * 1000:.0f} ms of polling; 'playable' = first playable viewer playlist - T0)")

    say()
    say("the same player with other live-sync settings, on the same recordings "
        "(player latency at start median / p95 -> at the end median / p95, s):")
    for mode in modes:
        cells = []
        for label, _, _ in WHAT_IF:
            j = joins(mode, label)
            start, end = [x[0] for x in j], [x[1] for x in j]
            stalled = [x[3] for x in j if x[2]]
            cells.append(f"{label:8} {med(start):5.2f} / {pct(start, 95):5.2f} -> {med(end):5.2f} / "
                         f"{pct(end, 95):5.2f}   {len(stalled):>4}/{len(j):<4} stalled"
                         + (f" (stall time median {med(stalled):.2f} s, max {max(stalled):.2f} s)"
                            if stalled else ""))
        say(f"  {mode:9} " + "\n            ".join(cells))
    say("  (count N: liveSyncDurationCount N; 'x s': liveSyncDuration x; hls.js never starts "
        "later than one TARGETDURATION before the edge)")

    met = None
    if "low" in by_mode:
        start = [x[0] for x in joins("low")]
        end = [x[1] for x in joins("low")]
        met = med(end) <= GOAL_LOW
        p95_met = pct(end, 95) <= GOAL_LOW
        busy = [r for r in runs if r.cpu["others"] > 0.1 * r.cpu["window"] * (os.cpu_count() or 1)]
        say()
        if busy:
            say(f"  WARNING: in {len(busy)} of {len(runs)} runs other processes used over 10 % of "
                "the machine's CPU; figures may be noisy.")
        over = sum(1 for x in end if x > GOAL_LOW)
        say(f"  low: {over} of {len(end)} joins ({over / len(end):.1%}) over {GOAL_LOW:g} s; "
            f"worst {max(end):.2f} s")
        summary = [f"low {med(start):.2f} s (p95 {pct(start, 95):.2f}) at start, "
                   f"{med(end):.2f} s (p95 {pct(end, 95):.2f}) at the end"]
        if "standard" in by_mode:
            s = [x[0] for x in joins("standard")]
            summary.append(f"standard {med(s):.2f} s (p95 {pct(s, 95):.2f})")
        if base_start:
            summary.append(f"nginx-rtmp defaults {base_start:.2f} s (p95 "
                           f"{pct([x[0] for x in joins('baseline')], 95):.2f}); low/baseline "
                           f"x{med(start) / base_start:.2f}")
        say("SUMMARY: live glass-to-glass latency, player at hls.js settings: " + "; ".join(summary)
            + f"; goal low <= {GOAL_LOW:g} s: median {'met' if met else 'NOT met'}, "
            f"p95 {'met' if p95_met else 'NOT met'}")
        met = met and p95_met
    return bool(met)


def main() -> int:
    global VERBOSE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="seconds published per mode (60)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds over the modes (1)")
    parser.add_argument("--modes", default="low,standard,baseline",
                        help="comma-separated: low, standard, baseline (all)")
    parser.add_argument("--size", default="640x360", help="source picture size (640x360)")
    parser.add_argument("--rate", type=int, default=30, help="source frame rate (30)")
    parser.add_argument("--poll", type=float, default=0.05, help="HTTP playlist poll interval, s (0.05)")
    parser.add_argument("--idle-wait", type=float, default=60,
                        help="before each stream, wait up to this many seconds for the machine "
                             f"to use under {IDLE_CORES} CPUs (0: do not wait; default 60)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and its logs")
    parser.add_argument("--verbose", "-v", action="store_true")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 unless low's player latency median and p95 are <= {GOAL_LOW:g} s")
    opts = parser.parse_args()
    VERBOSE = opts.verbose
    modes = [m.strip() for m in opts.modes.split(",") if m.strip()]
    if not modes or set(modes) - set(SYNC_COUNT):
        raise SystemExit(f"--modes: choose from {', '.join(SYNC_COUNT)}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    nginx = find_tool("nginx")
    ffprobe = shutil.which(os.environ.get("FFPROBE_BIN") or "ffprobe")
    if not nginx or not Path(RTMP_MODULE).exists() or not ffprobe or not shutil.which("ffmpeg"):
        raise SystemExit("needs nginx, libnginx-mod-rtmp, ffmpeg and ffprobe: "
                         "apt-get install -y nginx libnginx-mod-rtmp ffmpeg")

    work = Path(tempfile.mkdtemp(prefix="kino-live-latency-"))
    os.chmod(work, 0o755)
    web_port, rtmp_port, live_http_port, bare_rtmp, bare_http = (free_port() for _ in range(5))
    srt = free_udp_range(8)
    live_dir = work / "live"
    env = {**os.environ,
           "VAR_DIR": str(work / "var"), "MEDIA_ROOT": str(work / "var" / "media"),
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}", "WORKERS": "1",
           "DEBUG": "false", "SECRET_KEY": secrets.token_hex(32),
           "PLAYBACK_PATH_SECRET": secrets.token_hex(16),
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1",
           "DJANGO_SETTINGS_MODULE": "config.settings",
           "RTMP_PORT": str(rtmp_port), "LIVE_HTTP_PORT": str(live_http_port),
           "SRT_PORTS": f"{srt.start}-{srt.stop - 1}", "LIVE_DIR": str(live_dir),
           "LIVE_INGEST_SECRET": secrets.token_hex(16), "NGINX_BIN": nginx,
           "NGINX_RTMP_MODULE": RTMP_MODULE}
    procs = _processes(work, env)
    runs: list[Run] = []
    nginx_version = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
    ffmpeg_version = subprocess.run(["ffmpeg", "-version"], capture_output=True,
                                    text=True).stdout.split("\n")[0]
    say(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, {platform_info.platform()}; "
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    say(f"{nginx_version}; {ffmpeg_version}")
    try:
        say("setting up: migrate, API key, daphne, live_ingest, a bare nginx-rtmp ...")
        (work / "var").mkdir()
        procs.manage("migrate", "--noinput")
        api_key = procs.manage("create_api_key", "--environment", "bench", "--scopes", "all").strip()
        web = procs.spawn("web", [venv_bin("daphne"), "-b", "127.0.0.1", "-p", str(web_port),
                                  "config.asgi:application"])
        base = f"http://127.0.0.1:{web_port}"
        wait_http(f"{base}/api/v1/schema/", web, procs.logs["web"])
        ingest = procs.spawn("ingest", [sys.executable, "manage.py", "live_ingest",
                                        "--srt-bind", "127.0.0.1"])
        wait_http(f"http://127.0.0.1:{live_http_port}/stat", ingest, procs.logs["ingest"])

        prefix = work / "bare"
        for sub in ("logs", "temp", "hls"):
            (prefix / sub).mkdir(parents=True)
        (prefix / "nginx.conf").write_text(BARE_CONF.format(
            module=RTMP_MODULE, prefix=prefix, rtmp_port=bare_rtmp, http_port=bare_http,
            user=f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""))
        bare = procs.spawn("bare-nginx", [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")])
        wait_http(f"http://127.0.0.1:{bare_http}/stat", bare, prefix / "logs" / "error.log")

        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {api_key}"
        say(f"source: ffmpeg -re testsrc2 {opts.size} {opts.rate} fps + sine, x264 ultrafast "
            f"zerolatency, keyframe every 1 s, AAC, {opts.seconds:g} s per stream; "
            f"viewer playlist polled every {opts.poll * 1000:.0f} ms")
        for round_no in range(1, opts.rounds + 1):
            for mode in modes:
                if opts.idle_wait > 0:
                    busy = wait_idle(opts.idle_wait)
                    if busy is not None:
                        say(f"  (machine still busy after {opts.idle_wait:.0f} s: {busy:.2f} CPUs in use)")
                keep = work / "segments" / f"{mode}-{round_no}"
                if mode == "baseline":
                    name = f"bench{round_no}"
                    run = measure(
                        mode, round_no, publish_url=f"rtmp://127.0.0.1:{bare_rtmp}/live/{name}",
                        master_url=None, ingest_url=None,
                        viewer_url=f"http://127.0.0.1:{bare_http}/hls/{name}.m3u8",
                        disk_path=prefix / "hls" / f"{name}.m3u8", keep=keep, opts=opts,
                        ffprobe=ffprobe, cpu_roots={"bare nginx": [bare.pid]}, work=work)
                else:
                    created = api.post(f"{base}/api/v1/live-streams", timeout=30,
                                       json={"playback_policy": ["public"], "latency_mode": mode})
                    if created.status_code != 201:
                        raise SystemExit(f"POST live-streams: {created.status_code} {created.text}")
                    stream = created.json()
                    app = INGEST_APP[mode]
                    if not stream["rtmp_url"].endswith(f"/{app}"):
                        raise SystemExit(f"{mode}: unexpected ingest URL {stream['rtmp_url']}")
                    run = measure(
                        mode, round_no, publish_url=f"{stream['rtmp_url']}/{stream['stream_key']}",
                        master_url=f"{base}/v/{stream['playback_ids'][0]['id']}.m3u8",
                        ingest_url=f"http://127.0.0.1:{live_http_port}/hls/{app}/{stream['id']}/index.m3u8",
                        viewer_url=None, disk_path=live_dir / "hls" / app / stream["id"] / "index.m3u8",
                        keep=keep, opts=opts, ffprobe=ffprobe,
                        cpu_roots={"ingest": [ingest.pid], "web": [web.pid]}, work=work)
                run.players["as configured"] = simulate(run)
                for label, count, seconds in WHAT_IF:
                    run.players[label] = simulate(
                        run, seconds if seconds is not None else count * run.target)
                runs.append(run)
                describe(run)
    finally:
        procs.stop_all()
        if opts.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    met = report(runs, opts)
    return 1 if opts.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
