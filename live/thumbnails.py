"""Live thumbnails: a recent picture of a stream on air.

`thumbnail.jpg` of a live playback ID, and the pictures in the admin's list and on the
operator dashboard, are the first frame of the newest segment of the run on air (every
segment starts on a keyframe: one frame is decoded), at most MAX_WIDTH wide. A picture
is made at most every FRESH_SECONDS per stream, by the request that finds the last one
stale and takes the stream's lock; requests meanwhile get the last one. Both are kept in
the cache (Redis when set: shared by every web server).

The segment is read where delivery reads it: under LIVE_DIR/hls (one machine), or from
the node that serves the run's HLS, through the path only the platform knows (the
ingest secret), as delivery reads the node's playlists.
"""

from __future__ import annotations

import logging
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from media_core import ffmpeg

from .models import LiveSession, LiveStream

log = logging.getLogger("kino.live")

FRESH_SECONDS = 2.0
KEEP_SECONDS = 60  # the last picture is served while the next is made
LOCK_SECONDS = 10
MAX_WIDTH = 640
MAX_SEGMENT_BYTES = 64 << 20
NODE_TIMEOUT_SECONDS = 2
RENDER_TIMEOUT_SECONDS = 10


class Unavailable(Exception):
    """The newest segment could not be read or decoded."""


@dataclass(frozen=True)
class Picture:
    jpeg: bytes
    made: float  # wall-clock time


def picture(stream: LiveStream, session: LiveSession) -> Picture:
    """A picture of `session` (the run on air, delivery.session_playing) at most
    FRESH_SECONDS old, unless another request is making the next one: then the last.
    Unavailable when there is none and it cannot be made."""
    key = f"live-thumbnail:{stream.id}:{session.id}"
    held = cache.get(key)
    if held is not None and time.time() - held[0] < FRESH_SECONDS:
        return Picture(jpeg=held[1], made=held[0])
    lock = f"{key}:making"
    locked = cache.add(lock, 1, LOCK_SECONDS)
    if not locked and held is not None:
        return Picture(jpeg=held[1], made=held[0])
    try:
        made = time.time()
        jpeg = _render(stream, session)
        cache.set(key, (made, jpeg), KEEP_SECONDS)
        return Picture(jpeg=jpeg, made=made)
    except Unavailable:
        if held is not None:
            return Picture(jpeg=held[1], made=held[0])
        raise
    finally:
        if locked:  # never another request's lock (none held yet: both made one)
            cache.delete(lock)


def _render(stream: LiveStream, session: LiveSession) -> bytes:
    node_url = getattr(session, "hls_url", "") or ""
    with tempfile.TemporaryDirectory(prefix="kino-live-thumbnail-") as folder:
        work = Path(folder)
        segment = _newest_segment(node_url, session.app, stream.id, work)
        out = work / "picture.jpg"
        try:
            ffmpeg.run([
                settings.FFMPEG_BIN, "-nostdin", "-hide_banner", "-loglevel", "error",
                "-protocol_whitelist", "file", "-format_whitelist", "mpegts",
                "-skip_frame", "nokey", "-i", str(segment), "-map", "0:v:0", "-frames:v", "1",
                "-vf", f"scale='min({MAX_WIDTH},iw)':-2", "-q:v", "4", str(out), "-y",
            ], timeout=RENDER_TIMEOUT_SECONDS)
            return out.read_bytes()
        except (ffmpeg.FFmpegError, FileNotFoundError) as exc:
            raise Unavailable(f"no picture from {segment.name}: {exc}") from exc


def _newest_segment(node_url: str, app: str, stream_id: str, work: Path) -> Path:
    """The newest segment the run's playlist lists: its path under LIVE_DIR, or a copy
    of it fetched from its node into `work`."""
    try:
        if not node_url:
            folder = settings.LIVE_DIR / "hls" / app / stream_id
            name = _last_listed((folder / "index.m3u8").read_text())
            return folder / name
        base = f"{node_url}/{settings.LIVE_INGEST_SECRET}/hls/{app}/{stream_id}"
        name = _last_listed(_fetch(f"{base}/index.m3u8").decode())
        path = work / name
        path.write_bytes(_fetch(f"{base}/{name}"))
        return path
    except OSError as exc:
        raise Unavailable(f"the playlist or segment of {stream_id} could not be read: "
                          f"{type(exc).__name__}") from exc


def _last_listed(playlist: str) -> str:
    names = [line.strip() for line in playlist.splitlines()
             if line.strip() and not line.startswith("#")]
    if not names or "/" in names[-1] or not names[-1].endswith(".ts"):
        raise Unavailable("the playlist lists no segment yet")
    return names[-1]


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=NODE_TIMEOUT_SECONDS) as answer:
        return answer.read(MAX_SEGMENT_BYTES)
