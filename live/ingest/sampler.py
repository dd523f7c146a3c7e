"""The health sampler: which streams publish here (nginx-rtmp's rtmp_stat), how many
bytes arrive, whether their HLS playlists are playable, and the frame rate and keyframe
interval measured on their newest segment.
"""

from __future__ import annotations

import collections
import itertools
import logging
import statistics
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from . import children
from .config import IngestLayout

log = logging.getLogger("kino.live.ingest")
PROBE_TIMEOUT = 5

StreamKey = tuple[str, str, str]  # (app, name, client id)


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
        child = children.start(
            [settings.FFPROBE_BIN, "-v", "error", "-protocol_whitelist", "file",
             "-format_whitelist", "mpegts", "-select_streams", "v:0",
             "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", str(path)],
            stdout=subprocess.PIPE, time_limit=PROBE_TIMEOUT)
    except OSError:
        return None, None
    out = list(child.lines())
    child.wait()
    if child.timed_out:
        return None, None
    times, keys = [], []
    for line in out:
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


class Sampler:
    def __init__(self, *, where: IngestLayout, read_stat: Callable[[], bytes]):
        self.where = where
        self.read_stat = read_stat
        self.stats: list[StreamStat] = []
        self.watches: dict[StreamKey, Watch] = {}

    def sample(self) -> bool:
        """Read the statistics and playlists once. Whether something the platform must
        hear of at once changed: a stream appeared or went, a playlist became playable."""
        now = time.monotonic()
        try:
            self.stats = parse_stat(self.read_stat().decode())
        except (OSError, ET.ParseError) as exc:
            log.warning("could not read nginx-rtmp statistics: %s", exc)
            return False
        changed = False
        current = set()
        for stat in self.stats:
            key = (stat.app, stat.name, stat.client_id)
            current.add(key)
            watch = self.watches.get(key)
            if watch is None:
                watch = self.watches[key] = Watch(started=now, last_bytes=stat.bytes_in,
                                                  last_change=now)
                changed = True
            if stat.bytes_in != watch.last_bytes:
                watch.last_bytes, watch.last_change = stat.bytes_in, now
            watch.window.append((now, stat.bytes_in))
            changed = self._check_playlist(stat, watch) or changed
        for key in set(self.watches) - current:
            del self.watches[key]
            changed = True
        return changed

    def _check_playlist(self, stat: StreamStat, watch: Watch) -> bool:
        """Whether the playlist just became playable."""
        path = self.where.playlist(stat.app, stat.name)
        try:
            info = path.stat()
            # A playlist left by an earlier session does not count.
            if info.st_mtime < time.time() - stat.time_ms / 1000 - 0.5:
                return False
            segments = playlist_segments(path.read_text())
        except (OSError, ValueError):
            return False
        became_ready = bool(segments) and not watch.playlist_ready
        if became_ready:
            watch.playlist_ready = True
        if segments and segments[-1][1] != watch.last_segment:
            watch.last_segment = segments[-1][1]
            fps, interval = probe_segment(path.parent / segments[-1][1])
            watch.fps = fps or watch.fps
            if interval is None and segments:
                # One keyframe per segment: segments are cut on keyframes, so the
                # segment's length is the interval (when it is longer than a fragment).
                interval = segments[-1][0] if len(segments) > 1 else None
            watch.keyframe_interval = interval or watch.keyframe_interval
        return became_ready

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
