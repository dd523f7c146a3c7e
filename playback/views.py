"""Viewer-facing delivery: master playlist, child playlists and segments, embed (images: image_views.py).

No API key. The master playlist is always answered here, after the playback ID, its
policy and token are checked; every URL inside it carries a short-lived path token
(playback/path_tokens.py), so media playlists and segments play without the caller
adding anything, and nginx can serve them in production with no call back to us.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from foundation import credential_failures
from foundation.api.problems import problem_response
from media_core.models import Asset, PlaybackID
from media_core.storage import media_storage

from . import path_tokens, tokens
from .hls import live_master_playlist, master_playlist
from .metrics import count_refusal

_FILE_RE = re.compile(r"^(index\.m3u8|init(_\d{1,3})?\.mp4|seg_\d{5,9}\.m4s)$")
_PREFIX_RE = re.compile(r"^assets/ast_[0-9a-z]{26}/job_[0-9a-z]{26}-\d{1,3}$")
_RENDITION_RE = re.compile(r"^[a-z0-9]{1,16}$")
_LIVE_APPS = {"live", "live-low"}
_LIVE_STREAM_RE = re.compile(r"^lvs_[0-9a-z]{26}$")
_LIVE_FILE_RE = re.compile(r"^(index\.m3u8|\d{1,9}\.ts)$")
_CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mp4": "video/mp4",
                  ".m4s": "video/iso.segment", ".jpg": "image/jpeg"}
# Child URLs outlive the token that opened the master by the video's length plus this,
# so a viewer who started in time can finish; never more than path_tokens.MAX_SECONDS
# (a day), which is as far ahead as a path token may reach.
CHILD_GRACE_SECONDS = 600


@dataclass(frozen=True)
class Denied:
    """Why a viewer may not have something: as a problem document, or as a sentence
    for the embed page."""

    status: int
    code: str
    detail: str
    viewer_message: str
    retry_after: int | None = None

    def response(self) -> HttpResponse:
        titles = {403: "Forbidden", 404: "Not found", 412: "Not playable yet",
                  429: "Too many requests"}
        return self.headers(problem_response(status=self.status, code=self.code,
                                             title=titles.get(self.status, "Unavailable"),
                                             detail=self.detail))

    def headers(self, response: HttpResponse) -> HttpResponse:
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        return response


NOT_FOUND = Denied(404, "not_found", "No such playback ID or file.", "This video does not exist.")
ORIGIN_DENIED = Denied(403, "origin_not_allowed", "This video may not be played on this site.",
                       "This video may not be played on this site.")


def origin_allowed(request, allowed: list[str]) -> bool:
    """The requesting page's origin (Origin, else Referer) is one the asset allows.

    Our own pages (the embed player) count as allowed: the embed page itself is checked
    against the page that frames it. Without either header a restricted asset refuses:
    a browser always sends one of them for media and frames.
    """
    if not allowed:
        return True
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    try:
        parts = urlsplit(source)
    except ValueError:  # e.g. "http://[x": no page of any origin
        return False
    if not parts.scheme or not parts.hostname:
        return False
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if origin == settings.PUBLIC_BASE_URL.lower():
        return True
    for pattern in allowed:
        if origin == pattern:
            return True
        if "://*." in pattern:
            scheme, _, suffix = pattern.partition("://*.")
            if parts.scheme == scheme and origin.endswith("." + suffix):
                return True
    return False


def _check_token(request, found: PlaybackID, audience: str, token: str | None):
    """(grant expiry or None, None) or (None, Denied) for a signed playback ID."""
    if found.policy != PlaybackID.Policy.SIGNED:
        return None, None
    token = token if token is not None else request.GET.get("token")
    # Before the token is looked at: an address that failed too often waits, good token or not.
    if token and (refused := credential_failures.refusal(request)) is not None:
        return None, Denied(429, refused.code, refused.detail,
                            "Too many failed attempts from your network; try again later.",
                            retry_after=refused.retry_after)
    grant = tokens.check(token, playback_id=found, audience=audience)
    if isinstance(grant, tokens.Refusal):
        if grant.forged:
            credential_failures.record(request)
        return None, Denied(403, f"token_{grant.reason}", grant.detail, "This video is private.")
    return grant.expires_at, None


def authorise_live(request, playback_id: str, token: str | None = None):
    """((playback ID, live stream, where its HLS is, grant expiry), None) or (None, Denied).

    A live stream plays while a publish session has written its first playlist and
    the run has not ended; `where` is the session's ingest application.
    """
    found = PlaybackID.objects.select_related("live_stream").filter(pk=playback_id).first()
    if found is None or found.live_stream is None or found.live_stream.deleted_at:
        return None, NOT_FOUND
    expires, denied = _check_token(request, found, "v", token)
    if denied:
        return None, denied
    stream = found.live_stream
    session = live_session_playing(stream)
    if session is None:
        return None, LIVE_NOT_ACTIVE
    return (found, stream, session.app, expires), None


LIVE_NOT_ACTIVE = Denied(412, "live_stream_not_active", "The live stream is not active.",
                         "This live stream is not on air.")


def live_session_playing(stream):
    if stream.status != "active":
        return None
    return (stream.sessions.exclude(playable_at=None).order_by("-started_at").first())


def authorise(request, playback_id: str, audience: str, token: str | None = None):
    """((playback ID, asset, grant expiry or None), None), or (None, why it is denied)."""
    found = PlaybackID.objects.select_related("asset").filter(pk=playback_id).first()
    if found is None or found.asset is None or found.asset.deleted_at:
        return None, NOT_FOUND
    if not origin_allowed(request, found.asset.allowed_origins):
        count_refusal("origin")
        return None, ORIGIN_DENIED
    expires, denied = _check_token(request, found, audience, token)
    if denied:
        return None, denied
    if found.asset.status != Asset.Status.READY:
        preparing = found.asset.status == Asset.Status.PREPARING
        return None, Denied(412 if preparing else 404, "asset_not_ready",
                            f"The asset is {found.asset.status}.",
                            "This video is still being prepared." if preparing
                            else "This video is unavailable.")
    return (found, found.asset, expires), None


def _headers(response: HttpResponse, *, max_age: int, private: bool = False) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = f"{'private' if private else 'public'}, max-age={max_age}"
    return response


def _is_live(playback_id: str) -> bool:
    return PlaybackID.objects.filter(pk=playback_id, live_stream__isnull=False).exists()


def live_master(request, playback_id: str):
    authorised, denied = authorise_live(request, playback_id)
    if denied:
        return denied.response()
    found, stream, app, _ = authorised
    # The player reloads the media playlist for as long as it watches: the path token
    # lasts a day, as for the longest video.
    expires = int(time.time()) + path_tokens.MAX_SECONDS
    base = path_tokens.child_base(playback_id=found.id, prefix=f"live/{app}/{stream.id}",
                                  expires=expires)
    body = live_master_playlist(stream, base)
    return _headers(HttpResponse(body, content_type=_CONTENT_TYPES[".m3u8"]), max_age=1,
                    private=found.policy == PlaybackID.Policy.SIGNED)


@require_safe
def master(request, playback_id: str):
    if _is_live(playback_id):
        return live_master(request, playback_id)
    authorised, denied = authorise(request, playback_id, "v")
    if denied:
        return denied.response()
    found, asset, token_expires = authorised
    now = int(time.time())
    expires = min(max(token_expires or 0, now + int(asset.duration or 0) + CHILD_GRACE_SECONDS),
                  now + path_tokens.MAX_SECONDS)
    base = path_tokens.child_base(playback_id=found.id, prefix=asset.media_prefix, expires=expires)
    body = master_playlist(asset, base)
    # A signed master is personal: shared caches must not hand it to someone else.
    return _headers(HttpResponse(body, content_type=_CONTENT_TYPES[".m3u8"]), max_age=30,
                    private=found.policy == PlaybackID.Policy.SIGNED)


def live_child_file(request, playback_id: str, expires: str, signature: str, parts: list[str]):
    app, stream_id, filename = parts[1], parts[2], parts[3]
    prefix = "/".join(parts[:3])
    if not (app in _LIVE_APPS and _LIVE_STREAM_RE.match(stream_id) and _LIVE_FILE_RE.match(filename)):
        return NOT_FOUND.response()
    if not path_tokens.valid(playback_id=playback_id, prefix=prefix, expires=expires, sig=signature):
        count_refusal("path_token")
        return problem_response(status=403, code="path_token_invalid", title="Forbidden",
                                detail="This link has expired or was altered; reload the video.")
    found = PlaybackID.objects.select_related("live_stream").filter(pk=playback_id).first()
    if found is None or found.live_stream_id != stream_id or found.live_stream.deleted_at:
        return NOT_FOUND.response()
    path = settings.LIVE_DIR / "hls" / app / stream_id / filename
    private = found.policy == PlaybackID.Policy.SIGNED
    if filename.endswith(".m3u8"):
        try:
            body = path.read_text()
        except FileNotFoundError:
            return NOT_FOUND.response()
        if live_session_playing(found.live_stream) is None and "#EXT-X-ENDLIST" not in body:
            # The run is over: tell players so, instead of letting them wait for more.
            body = body.rstrip("\n") + "\n#EXT-X-ENDLIST\n"
        return _headers(HttpResponse(body, content_type=_CONTENT_TYPES[".m3u8"]), max_age=1,
                        private=private)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return NOT_FOUND.response()
    return _headers(FileResponse(handle, content_type="video/mp2t"), max_age=60, private=private)


@require_safe
def child_file(request, playback_id: str, expires: str, signature: str, path: str):
    parts = path.split("/")
    if len(parts) == 4 and parts[0] == "live":
        return live_child_file(request, playback_id, expires, signature, parts)
    if len(parts) != 5:
        return NOT_FOUND.response()
    prefix, rendition, filename = "/".join(parts[:3]), parts[3], parts[4]
    if not (_PREFIX_RE.match(prefix) and _RENDITION_RE.match(rendition) and _FILE_RE.match(filename)):
        return NOT_FOUND.response()
    if not path_tokens.valid(playback_id=playback_id, prefix=prefix, expires=expires, sig=signature):
        count_refusal("path_token")
        return problem_response(status=403, code="path_token_invalid", title="Forbidden",
                                detail="This link has expired or was altered; reload the video.")
    # The token proves what the master granted; the database says it still stands, so
    # a deleted playback ID or asset stops playing here at once.
    found = PlaybackID.objects.select_related("asset").filter(pk=playback_id).first()
    if (found is None or found.asset is None or found.asset.deleted_at
            or found.asset.media_prefix != prefix):
        return NOT_FOUND.response()
    if not origin_allowed(request, found.asset.allowed_origins):
        count_refusal("origin")
        return ORIGIN_DENIED.response()
    return _serve(f"{prefix}/{rendition}/{filename}",
                  max_age=60 if filename.endswith(".m3u8") else 86400)


def _serve(name: str, *, max_age: int, private: bool = False):
    storage = media_storage()
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError:
        return NOT_FOUND.response()
    suffix = name[name.rfind("."):]
    response = FileResponse(handle, content_type=_CONTENT_TYPES.get(suffix, "application/octet-stream"))
    return _headers(response, max_age=max_age, private=private)


@require_safe
@xframe_options_exempt
def embed(request, playback_id: str):
    """A player page for iframes: hls.js (vendored), the poster, the master playlist.

    For a signed playback ID pass `?token=` (aud v) and optionally `?thumbnail_token=`
    (aud t) for the poster.
    """
    token = request.GET.get("token")
    if _is_live(playback_id):
        return _live_embed(request, playback_id, token)
    authorised, denied = authorise(request, playback_id, "v", token=token)
    if denied:
        return denied.headers(render(request, "playback/unavailable.html",
                                     {"message": denied.viewer_message}, status=denied.status))
    found, asset, _ = authorised
    signed = found.policy == PlaybackID.Policy.SIGNED
    thumbnail_token = request.GET.get("thumbnail_token")
    poster = f"/v/{playback_id}/thumbnail.jpg"
    if signed:
        poster = f"{poster}?token={thumbnail_token}" if thumbnail_token else ""
    return render(request, "playback/embed.html", {
        "title": asset.title,
        "manifest_url": f"/v/{playback_id}.m3u8" + (f"?token={token}" if signed else ""),
        "poster_url": poster,
        "autoplay": request.GET.get("autoplay") in ("1", "true"),
        "muted": request.GET.get("muted") in ("1", "true"),
    })


def _live_embed(request, playback_id: str, token: str | None):
    found = PlaybackID.objects.select_related("live_stream").filter(pk=playback_id).first()
    if found is None or found.live_stream is None or found.live_stream.deleted_at:
        return render(request, "playback/unavailable.html",
                      {"message": NOT_FOUND.viewer_message}, status=404)
    _, denied = _check_token(request, found, "v", token)
    if denied:
        return denied.headers(render(request, "playback/unavailable.html",
                                     {"message": denied.viewer_message}, status=denied.status))
    signed = found.policy == PlaybackID.Policy.SIGNED
    return render(request, "playback/embed.html", {
        "title": "Live",
        "manifest_url": f"/v/{playback_id}.m3u8" + (f"?token={token}" if signed else ""),
        "poster_url": "",
        "live": True,
        "low_latency": found.live_stream.latency_mode == "low",
        "autoplay": request.GET.get("autoplay") in ("1", "true"),
        "muted": request.GET.get("muted") in ("1", "true"),
    })
