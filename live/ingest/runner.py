"""The ingest node: nginx-rtmp, SRT listeners, simulcast relays, and the health sampler.

One loop, in the foreground:

- every tick it reads nginx-rtmp's statistics (one local HTTP fetch) and the HLS
  playlists it writes;
- every LIVE_SAMPLE_SECONDS, or at once when something changed (a stream appeared or
  went, a playlist became playable, a relay changed state), it reports to the platform
  and gets back what this node should run;
- it reconciles its child processes with that answer: one FFmpeg SRT listener per
  stream that relays into nginx-rtmp, one FFmpeg relay per (simulcast target, publish
  session), and disconnects the encoders the platform asks it to drop.

Children die with this process (PR_SET_PDEATHSIG); they are stopped with SIGTERM, then
SIGKILL; a failed one is restarted with backoff. The loop never talks to the database:
an ingest node needs only the platform's URL and the shared secret.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import os
import signal
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from media_core.ffmpeg import die_with_parent

from . import config
from .targets import TargetRefused, check_target

log = logging.getLogger("kino.live.ingest")
STOP_GRACE_SECONDS = 3.0
RELAY_RW_TIMEOUT_US = 5_000_000
MAX_BACKOFF = 30.0


def _die_with(sig: int):
    def apply() -> None:
        die_with_parent(sig)
        os.setpgrp()  # a terminal's Ctrl-C reaches us, and we stop the children in order
    return apply


# --- child processes ----------------------------------------------------------------
class Child:
    """A supervised process: stderr tail, optional -progress reader, TERM then KILL."""

    def __init__(self, args: list[str], *, label: str, progress: bool = False,
                 death_signal: int = signal.SIGKILL):
        self.label = label
        self.args = args
        self.started = time.monotonic()
        self.tail: collections.deque[str] = collections.deque(maxlen=20)
        self.progress: dict[str, str] = {}
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if progress else subprocess.DEVNULL,
            stderr=subprocess.PIPE, preexec_fn=_die_with(death_signal), close_fds=True)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        if progress:
            threading.Thread(target=self._read_progress, daemon=True).start()

    def _drain_stderr(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.tail.append(line)

    def _read_progress(self) -> None:
        block: dict[str, str] = {}
        for raw in self.proc.stdout:
            key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
            block[key] = value
            if key == "progress":
                self.progress = block
                block = {}

    def alive(self) -> bool:
        return self.proc.poll() is None

    def error(self) -> str:
        text = "\n".join(self.tail)
        return text or f"exited with status {self.proc.returncode}"

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()

    def stop(self, deadline: float | None = None) -> None:
        """SIGTERM, then SIGKILL at `deadline` (default: STOP_GRACE_SECONDS from now)."""
        self.terminate()
        if deadline is None:
            deadline = time.monotonic() + STOP_GRACE_SECONDS
        try:
            self.proc.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            # FFmpeg blocked on a network read ignores the first SIGTERM.
            self.proc.kill()
            self.proc.wait()


@dataclass
class Backoff:
    failures: int = 0
    not_before: float = 0.0

    def failed(self, now: float) -> None:
        self.failures += 1
        self.not_before = now + min(2 ** (self.failures - 1), MAX_BACKOFF)

    def ready(self, now: float) -> bool:
        return now >= self.not_before


@dataclass
class Relay:
    spec: dict
    child: Child | None = None
    state: str = "starting"
    error: str = ""
    restarts: int = 0
    backoff: Backoff = field(default_factory=Backoff)
    reported: str = ""


@dataclass
class StreamStat:
    app: str
    name: str
    client_id: str
    address: str
    bytes_in: int
    time_ms: int
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None


def _num(node: ET.Element | None, path: str, kind=int):
    if node is None:
        return None
    text = node.findtext(path)
    try:
        return kind(text) if text not in (None, "") else None
    except ValueError:
        return None


def parse_stat(xml_text: str) -> list[StreamStat]:
    """Publishing streams in nginx-rtmp's rtmp_stat XML."""
    found = []
    root = ET.fromstring(xml_text)
    for app in root.iter("application"):
        app_name = app.findtext("name") or ""
        for stream in app.iter("stream"):
            publisher = next((c for c in stream.iter("client") if c.find("publishing") is not None),
                             None)
            if publisher is None:
                continue
            meta = stream.find("meta")
            video = meta.find("video") if meta is not None else None
            audio = meta.find("audio") if meta is not None else None
            found.append(StreamStat(
                app=app_name, name=stream.findtext("name") or "",
                client_id=publisher.findtext("id") or "",
                address=publisher.findtext("address") or "",
                bytes_in=_num(stream, "bytes_in") or 0, time_ms=_num(stream, "time") or 0,
                width=_num(video, "width"), height=_num(video, "height"),
                frame_rate=_num(video, "frame_rate", float),
                video_codec=video.findtext("codec") if video is not None else None,
                audio_codec=audio.findtext("codec") if audio is not None else None))
    return found


def playlist_segments(text: str) -> list[tuple[float, str]]:
    segments, duration = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            try:
                duration = float(line[8:].split(",", 1)[0])
            except ValueError:
                duration = None
        elif line and not line.startswith("#") and duration is not None:
            segments.append((duration, line))
            duration = None
    return segments


def probe_segment(path: Path) -> tuple[float | None, float | None]:
    """(frames per second, seconds between keyframes) measured on one HLS segment."""
    try:
        out = subprocess.run(
            [settings.FFPROBE_BIN, "-v", "error", "-protocol_whitelist", "file",
             "-format_whitelist", "mpegts", "-select_streams", "v:0",
             "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", str(path)],
            capture_output=True, text=True, timeout=5, preexec_fn=_die_with(signal.SIGKILL),
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    times, keys = [], []
    for line in out.splitlines():
        pts, _, flags = line.partition(",")
        try:
            t = float(pts)
        except ValueError:
            continue
        times.append(t)
        if "K" in flags:
            keys.append(t)
    fps = None
    if len(times) > 2:
        times.sort()
        span = times[-1] - times[0]
        fps = round((len(times) - 1) / span, 2) if span > 0 else None
    interval = None
    if len(keys) > 1:
        interval = round(statistics.mean(b - a for a, b in itertools.pairwise(keys)), 3)
    return fps, interval


@dataclass
class Watch:
    """What the sampler remembers about one publishing stream."""

    started: float
    last_bytes: int = 0
    last_change: float = 0.0
    window: collections.deque = field(default_factory=lambda: collections.deque(maxlen=64))
    playlist_ready: bool = False
    last_segment: str = ""
    fps: float | None = None
    keyframe_interval: float | None = None


class Ingest:
    def __init__(self, *, platform_url: str, node: str, rtmp_port: int, http_port: int,
                 srt_bind: str = "0.0.0.0", nginx_bin: str | None = None):
        self.platform_url = platform_url.rstrip("/")
        self.node = node
        self.rtmp_port = rtmp_port
        self.http_port = http_port
        self.srt_bind = srt_bind
        self.nginx_bin = nginx_bin or settings.NGINX_BIN
        self.where = config.layout()
        self.nginx: Child | None = None
        self.srt: dict[int, tuple[dict, Child | None, Backoff]] = {}
        self.relays: dict[tuple[str, str], Relay] = {}
        self.watches: dict[tuple[str, str, str], Watch] = {}
        self.dropped: dict[tuple[str, str, str], float] = {}
        self.stopping = threading.Event()
        self.last_report = 0.0
        self.report_now = True
        self.stats: list[StreamStat] = []

    # --- nginx ---------------------------------------------------------------------
    def start_nginx(self) -> None:
        self.where.make_dirs()
        self._stop_stale_nginx()
        text = config.render(platform_url=self.platform_url, node=self.node,
                             rtmp_port=self.rtmp_port, http_port=self.http_port, where=self.where)
        # The callback URLs carry the ingest secret.
        fd = os.open(self.where.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        test = subprocess.run([self.nginx_bin, "-t", "-q", "-p", str(self.where.prefix),
                               "-c", str(self.where.conf)], capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx refused the generated config: {test.stderr.strip()}")
        # nginx's master stops its workers on SIGTERM; SIGKILL would orphan them.
        self.nginx = Child([self.nginx_bin, "-p", str(self.where.prefix), "-c", str(self.where.conf)],
                           label="nginx", death_signal=signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not self.nginx.alive():
                raise RuntimeError(f"nginx exited: {self.nginx.error()}")
            try:
                self._http_get("/stat", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not answer on its HTTP port within 10 s")

    def _stop_stale_nginx(self) -> None:
        """An nginx left by an ingest that was killed holds our ports; stop it."""
        try:
            pid = int(self.where.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            return
        if "nginx" in cmdline and str(self.where.conf) in cmdline.replace("\0", " "):
            log.warning("stopping nginx %s left by an earlier ingest", pid)
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)

    def _http_get(self, path: str, timeout: float = 2) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}",
                                    timeout=timeout) as resp:
            return resp.read()

    # --- sampling --------------------------------------------------------------------
    def sample(self) -> None:
        now = time.monotonic()
        try:
            self.stats = parse_stat(self._http_get("/stat").decode())
        except (OSError, ET.ParseError) as exc:
            log.warning("could not read nginx-rtmp statistics: %s", exc)
            return
        current = set()
        for stat in self.stats:
            key = (stat.app, stat.name, stat.client_id)
            current.add(key)
            watch = self.watches.get(key)
            if watch is None:
                watch = self.watches[key] = Watch(started=now, last_bytes=stat.bytes_in,
                                                  last_change=now)
                self.report_now = True
            if stat.bytes_in != watch.last_bytes:
                watch.last_bytes, watch.last_change = stat.bytes_in, now
            watch.window.append((now, stat.bytes_in))
            self._check_playlist(stat, watch)
        for key in set(self.watches) - current:
            del self.watches[key]
            self.report_now = True

    def _check_playlist(self, stat: StreamStat, watch: Watch) -> None:
        path = self.where.playlist(stat.app, stat.name)
        try:
            info = path.stat()
            # A playlist left by an earlier session does not count.
            if info.st_mtime < time.time() - stat.time_ms / 1000 - 0.5:
                return
            segments = playlist_segments(path.read_text())
        except (OSError, ValueError):
            return
        if segments and not watch.playlist_ready:
            watch.playlist_ready = True
            self.report_now = True
        if segments and segments[-1][1] != watch.last_segment:
            watch.last_segment = segments[-1][1]
            fps, interval = probe_segment(path.parent / segments[-1][1])
            watch.fps = fps or watch.fps
            if interval is None and segments:
                # One keyframe per segment: segments are cut on keyframes, so the
                # segment's length is the interval (when it is longer than a fragment).
                interval = segments[-1][0] if len(segments) > 1 else None
            watch.keyframe_interval = interval or watch.keyframe_interval

    def stream_reports(self) -> list[dict]:
        now = time.monotonic()
        reports = []
        for stat in self.stats:
            watch = self.watches.get((stat.app, stat.name, stat.client_id))
            if watch is None:
                continue
            window = [(t, b) for t, b in watch.window if t >= now - settings.LIVE_SAMPLE_SECONDS - 0.1]
            bitrate = 0
            if len(window) > 1 and window[-1][0] > window[0][0]:
                bitrate = int((window[-1][1] - window[0][1]) * 8 / (window[-1][0] - window[0][0]))
            reports.append({
                "app": stat.app, "name": stat.name, "client_id": stat.client_id,
                "bytes_in": stat.bytes_in, "bitrate": bitrate,
                "frame_rate": watch.fps or stat.frame_rate, "width": stat.width,
                "height": stat.height, "video_codec": stat.video_codec,
                "audio_codec": stat.audio_codec, "keyframe_interval": watch.keyframe_interval,
                "stalled": now - watch.last_change >= settings.LIVE_STALL_SECONDS,
                "playlist_ready": watch.playlist_ready,
            })
        return reports

    # --- reporting -------------------------------------------------------------------
    def report(self, *, final: bool = False) -> dict | None:
        relays = []
        for key, relay in list(self.relays.items()):
            progress = relay.child.progress if relay.child else {}
            speed = progress.get("speed", "").rstrip("x")
            relays.append({"target": relay.spec["target"], "session": relay.spec["session"],
                           "state": relay.state, "error": relay.error, "restarts": relay.restarts,
                           "speed": speed if speed and speed != "N/A" else None})
            relay.reported = relay.state
            if relay.state == "stopped":
                del self.relays[key]
        body = json.dumps({"streams": [] if final else self.stream_reports(), "relays": relays,
                           "final": final}).encode()
        request = urllib.request.Request(
            f"{config.callback_base(self.platform_url, self.node)}/report", data=body,
            headers={"Content-Type": "application/json"}, method="POST")
        self.last_report = time.monotonic()
        self.report_now = False
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                return json.loads(resp.read())
        except (OSError, ValueError) as exc:
            log.warning("report to the platform failed: %s", exc)
            return None

    # --- reconciling -------------------------------------------------------------------
    def reconcile(self, wanted: dict) -> None:
        self._reconcile_srt(wanted.get("srt", []))
        self._reconcile_relays(wanted.get("simulcast", []))
        self._drop(wanted.get("drop", []))

    def _srt_args(self, spec: dict) -> list[str]:
        source = (f"srt://{self.srt_bind}:{spec['port']}?mode=listener"
                  f"&passphrase={urllib.parse.quote(spec['passphrase'])}&pbkeylen=16")
        sink = (f"rtmp://127.0.0.1:{self.rtmp_port}/{spec['app']}/{spec['stream']}"
                f"?relay={spec['relay_token']}")
        return [settings.FFMPEG_BIN, "-hide_banner", "-nostdin", "-loglevel", "error",
                "-probesize", "200000", "-analyzeduration", "500000", "-i", source,
                "-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy", "-f", "flv", sink]

    def _reconcile_srt(self, specs: list[dict]) -> None:
        now = time.monotonic()
        wanted = {int(s["port"]): s for s in specs if s.get("port")}
        for port in list(self.srt):
            spec, child, _ = self.srt[port]
            if wanted.get(port) != spec:
                if child:
                    child.stop()
                del self.srt[port]
        for port, spec in wanted.items():
            spec_, child, backoff = self.srt.get(port, (spec, None, Backoff()))
            if child and child.alive():
                continue
            if child is not None:
                # The listener exits when its caller leaves: listen again at once,
                # with backoff only if it keeps failing quickly.
                if now - child.started < 2:
                    backoff.failed(now)
                else:
                    backoff.failures = 0
                child = None
            if backoff.ready(now):
                child = Child(self._srt_args(spec), label=f"srt {spec['stream']}")
            self.srt[port] = (spec, child, backoff)

    @staticmethod
    def relay_url(spec: dict) -> str:
        return spec["server"].rstrip("/") + (f"/{spec['key']}" if spec.get("key") else "")

    @staticmethod
    def redacted(spec: dict, text: str) -> str:
        """FFmpeg names its output URL in errors; the target's key must not travel on."""
        text = text.replace(Ingest.relay_url(spec), spec["server"] + "/…")
        return text.replace(spec["key"], "…") if spec.get("key") else text

    def _relay_args(self, spec: dict) -> list[str]:
        source = f"rtmp://127.0.0.1:{self.rtmp_port}/{spec['app']}/{spec['stream']}"
        return [settings.FFMPEG_BIN, "-hide_banner", "-nostdin", "-loglevel", "error",
                "-rw_timeout", str(RELAY_RW_TIMEOUT_US), "-i", source,
                "-map", "0", "-c", "copy", "-f", "flv",
                "-progress", "pipe:1", "-stats_period", "1", self.relay_url(spec)]

    def _reconcile_relays(self, specs: list[dict]) -> None:
        now = time.monotonic()
        wanted = {(s["target"], s["session"]): s for s in specs}
        for key, relay in self.relays.items():
            if key not in wanted and relay.state != "stopped":
                if relay.child:
                    relay.child.stop()
                relay.child, relay.state, relay.error = None, "stopped", ""
        for key, spec in wanted.items():
            relay = self.relays.get(key)
            if relay is None or relay.state == "stopped":
                relay = self.relays[key] = Relay(spec=spec)
            if relay.spec != spec and relay.child:
                relay.child.stop()
                relay.child, relay.spec = None, spec
            child = relay.child
            if child is not None and child.alive():
                out_us = child.progress.get("out_time_us") or child.progress.get("out_time_ms")
                if out_us and out_us.isdigit() and int(out_us) > 0 and relay.state != "broadcasting":
                    relay.state, relay.error = "broadcasting", ""
                    relay.backoff.failures = 0
                continue
            if child is not None:
                relay.state, relay.error = "errored", self.redacted(spec, child.error())[-1500:]
                relay.backoff.failed(now)
                relay.child = None
                log.warning("relay to %s for %s failed: %s", spec["target"], spec["stream"],
                            relay.error.splitlines()[-1] if relay.error else "")
            if not relay.backoff.ready(now):
                continue
            try:
                check_target(spec["server"])
            except TargetRefused as exc:
                relay.state, relay.error = "errored", str(exc)
                relay.backoff.failed(now)
                continue
            if relay.state == "errored":
                relay.restarts += 1
            relay.child = Child(self._relay_args(spec), label=f"relay {spec['target']}",
                                progress=True)
            if relay.state != "errored":
                relay.state = "starting"

    def _drop(self, drops: list[dict]) -> None:
        now = time.monotonic()
        for drop in drops:
            key = (drop.get("app", ""), drop.get("name", ""), drop.get("client_id", ""))
            if now - self.dropped.get(key, 0) < 3:
                continue
            self.dropped[key] = now
            query = urllib.parse.urlencode({"app": key[0], "name": key[1], "clientid": key[2]})
            try:
                self._http_get(f"/control/drop/client?{query}")
                log.info("disconnected the encoder of %s/%s", key[0], key[1])
            except OSError as exc:
                log.warning("could not disconnect %s/%s: %s", key[0], key[1], exc)

    def relay_changed(self) -> bool:
        return any(r.state != r.reported for r in self.relays.values())

    # --- the loop --------------------------------------------------------------------
    def run(self, tick: float = 0.25) -> None:
        self.start_nginx()
        log.info("ingest %s: RTMP on port %s, HTTP on 127.0.0.1:%s, reporting to %s",
                 self.node, self.rtmp_port, self.http_port, self.platform_url)
        try:
            while not self.stopping.is_set():
                if self.nginx is None or not self.nginx.alive():
                    log.error("nginx exited: %s; restarting it", self.nginx.error() if self.nginx else "")
                    self.start_nginx()
                try:
                    self.step()
                except Exception:
                    # One bad answer or stat must not take the encoders down with us.
                    log.exception("ingest step failed; going on")
                self.stopping.wait(tick)
        finally:
            self.shutdown()

    def step(self) -> None:
        self.sample()
        due = time.monotonic() - self.last_report >= settings.LIVE_SAMPLE_SECONDS
        if due or self.report_now or self.relay_changed():
            wanted = self.report()
            if wanted is not None:
                self.reconcile(wanted)
            else:
                # Without the platform's answer, keep what runs but restart what failed.
                self._reconcile_relays([r.spec for r in self.relays.values()
                                        if r.state != "stopped"])

    def shutdown(self) -> None:
        # Every FFmpeg child at once, so a node with many relays stops within one grace
        # period rather than one per child; nginx after them, as they talk to it.
        children = [relay.child for relay in self.relays.values() if relay.child]
        children += [child for _, child, _ in self.srt.values() if child]
        for child in children:
            child.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children:
            child.stop(deadline)
        for relay in self.relays.values():
            relay.state = "stopped"
        if self.nginx:
            self.nginx.stop()
        self.report(final=True)
