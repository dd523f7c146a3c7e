"""Live HLS for viewers, registered with playback as the source of live streams'
playback IDs (playback/sources.py).

Playback checks the playback ID, its policy and token, and the child URLs' path
tokens; this module answers what only live knows: whether the stream is on air, its
master playlist (one variant: the ingest's own media playlist, passed through as the
encoder sends it), the ingest's playlists and segments, and how the embed page plays it.

Where the segments are: under LIVE_DIR/hls on the platform's machine (one machine), or
on an ingest node that serves its own HLS (LIVE_HLS_URL, a machine of its own): then the
platform asks the node for each media playlist and points its segments at the node,
whose nginx checks their path tokens. Either way the playlists pass through here, so a
deleted playback ID stops at once and an ended run's playlist is ended.
"""

from __future__ import annotations

import logging
import re
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.http import FileResponse, HttpResponse

from media_core.models import PlaybackID
from playback import path_tokens
from playback.sources import CONTENT_TYPES, NOT_FOUND, Denied, EmbedPage, cache_headers

from . import thumbnails
from .models import IngestNode, LiveSession, LiveStream

log = logging.getLogger("kino.live")

SOURCE_TYPE = "live_stream"
_STREAM_RE = re.compile(r"^lvs_[0-9a-z]{26}$")
_FILE_RE = re.compile(r"^(index\.m3u8|\d{1,9}\.ts)$")

NODE_UNREACHABLE = Denied(503, "live_ingest_unreachable", "The live stream is unavailable.",
                          "This live stream cannot be reached; it will be back shortly.",
                          retry_after=2)
NODE_TIMEOUT_SECONDS = 2
MAX_PLAYLIST_BYTES = 1 << 20
NOT_ON_AIR = Denied(412, "live_stream_not_active", "The live stream is not active.",
                    "This live stream is not on air.")
THUMBNAIL_UNAVAILABLE = Denied(503, "live_thumbnail_unavailable",
                               "No picture of the live stream could be made just now.",
                               "This live stream has no picture just now.", retry_after=2)
# An encoder publishes but its first segments are not written yet: a moment more.
STARTING = Denied(412, "live_stream_starting", "The live stream is starting: its encoder is "
                  "connected and its first segments are being written.",
                  "This live stream is starting.", retry_after=1)


def newest_session(stream: LiveStream) -> LiveSession | None:
    """The stream's newest session whose first playlist exists, with `hls_url`: where
    its node serves its HLS itself, or "" when the platform reads it from LIVE_DIR (one
    machine, or a shared folder). One query."""
    node_url = IngestNode.objects.filter(name=OuterRef("node")).values("hls_url")[:1]
    return (stream.sessions.exclude(playable_at=None).annotate(hls_url=Subquery(node_url))
            .order_by("-started_at").first())


def session_playing(stream: LiveStream) -> LiveSession | None:
    """The publish session viewers are watching: the newest whose first playlist exists,
    while the stream is active (an ended run plays no more)."""
    if stream.status != LiveStream.Status.ACTIVE:
        return None
    return newest_session(stream)


def node_playlist(node_url: str, app: str, stream_id: str, base: str) -> str:
    """The node's media playlist, its segments pointed at the node, under the path token
    this playlist was asked with (so a CDN in front of the node caches each segment once)."""
    url = f"{node_url}/{settings.LIVE_INGEST_SECRET}/hls/{app}/{stream_id}/index.m3u8"
    try:
        with urllib.request.urlopen(url, timeout=NODE_TIMEOUT_SECONDS) as answer:
            body = answer.read(MAX_PLAYLIST_BYTES).decode()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise FileNotFoundError(url) from exc
        raise
    return "".join(line if line.startswith("#") or not line.strip()
                   else f"{node_url}{base}/{line}"
                   for line in body.splitlines(keepends=True))


def master_playlist(stream: LiveStream, child_base: str) -> str:
    """One variant; bandwidth from the measured bitrate, with room for peaks."""
    health = stream.health or {}
    bitrate = int((health.get("bitrate") or 0) * 1.25) or 3_000_000
    attrs = [f"BANDWIDTH={bitrate}"]
    if health.get("width") and health.get("height"):
        attrs.append(f"RESOLUTION={health['width']}x{health['height']}")
    if health.get("frame_rate"):
        attrs.append(f"FRAME-RATE={float(health['frame_rate']):.3f}")
    return "\n".join(["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-STREAM-INF:" + ",".join(attrs),
                      f"{child_base}/index.m3u8"]) + "\n"


class LiveSource:
    source_type = SOURCE_TYPE
    child_root = "live"

    def find(self, playback_id: PlaybackID) -> LiveStream | None:
        return LiveStream.objects.filter(pk=playback_id.source_id, deleted_at__isnull=True).first()

    def master(self, playback_id: PlaybackID, stream: LiveStream) -> HttpResponse | Denied:
        session = session_playing(stream)
        if session is None:
            starting = stream.connected and stream.status != LiveStream.Status.DISABLED
            return STARTING if starting else NOT_ON_AIR
        # The player reloads the media playlist for as long as it watches: the path token
        # lasts a day, as for the longest video.
        expires = int(time.time()) + path_tokens.MAX_SECONDS
        base = path_tokens.child_base(playback_id=playback_id.id,
                                      prefix=f"live/{session.app}/{stream.id}", expires=expires)
        return cache_headers(HttpResponse(master_playlist(stream, base),
                                          content_type=CONTENT_TYPES[".m3u8"]),
                             max_age=1, private=playback_id.policy == PlaybackID.Policy.SIGNED)

    def split_child(self, parts: list[str]) -> tuple[str, str] | None:
        if len(parts) != 4:
            return None
        _, app, stream_id, filename = parts
        if not (app in LiveStream.INGEST_APPS.values() and _STREAM_RE.match(stream_id)
                and _FILE_RE.match(filename)):
            return None
        return "/".join(parts[:3]), filename

    def child(self, playback_id: PlaybackID, stream: LiveStream, prefix: str,
              filename: str, *, base: str) -> HttpResponse | Denied:
        _, app, stream_id = prefix.split("/")
        if playback_id.source_id != stream_id:
            return NOT_FOUND
        path = settings.LIVE_DIR / "hls" / app / stream_id / filename
        private = playback_id.policy == PlaybackID.Policy.SIGNED
        if filename.endswith(".m3u8"):
            session = newest_session(stream)
            node_url = (session.hls_url or "") if session is not None else ""
            try:
                body = (node_playlist(node_url, app, stream_id, base) if node_url
                        else path.read_text())
            except FileNotFoundError:
                return NOT_FOUND
            except OSError as exc:
                log.warning("the playlist of %s could not be read from %s: %s", stream_id,
                            node_url, exc)
                return NODE_UNREACHABLE
            on_air = session is not None and stream.status == LiveStream.Status.ACTIVE
            if not on_air and "#EXT-X-ENDLIST" not in body:
                # The run is over: tell players so, instead of letting them wait for more.
                body = body.rstrip("\n") + "\n#EXT-X-ENDLIST\n"
            return cache_headers(HttpResponse(body, content_type=CONTENT_TYPES[".m3u8"]),
                                 max_age=1, private=private)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return NOT_FOUND
        return cache_headers(FileResponse(handle, content_type=CONTENT_TYPES[".ts"]), max_age=60,
                             private=private)

    def thumbnail(self, playback_id: PlaybackID, stream: LiveStream) -> HttpResponse | Denied:
        """A picture of the run on air, a few seconds old at most (thumbnails.py)."""
        session = session_playing(stream)
        if session is None:
            return NOT_ON_AIR
        try:
            picture = thumbnails.picture(stream, session)
        except thumbnails.Unavailable as exc:
            log.warning("no live thumbnail of %s: %s", stream.id, exc)
            return THUMBNAIL_UNAVAILABLE
        return cache_headers(HttpResponse(picture.jpeg, content_type="image/jpeg"),
                             max_age=int(thumbnails.FRESH_SECONDS), private=playback_id.policy == PlaybackID.Policy.SIGNED)

    def embed(self, playback_id: PlaybackID, stream: LiveStream) -> EmbedPage:
        low = stream.latency_mode == LiveStream.LatencyMode.LOW
        return EmbedPage(title="Live", live=True, low_latency=low)
