"""Viewer-facing delivery: master playlist, child playlists and segments, embed (images: image_views.py).

No API key. The master playlist is always answered here, after the playback ID, its
policy and token are checked; every URL inside it carries a short-lived path token
(playback/path_tokens.py), so media playlists and segments play without the caller
adding anything, and nginx can serve them in production with no call back to us.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from foundation.api.problems import problem_response
from media_core.models import Asset, PlaybackID
from media_core.storage import media_storage

from . import path_tokens, tokens
from .hls import master_playlist
from .metrics import count_refusal

_FILE_RE = re.compile(r"^(index\.m3u8|init(_\d{1,3})?\.mp4|seg_\d{5,9}\.m4s)$")
_PREFIX_RE = re.compile(r"^assets/ast_[0-9a-z]{26}/job_[0-9a-z]{26}-\d{1,3}$")
_RENDITION_RE = re.compile(r"^[a-z0-9]{1,16}$")
_CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mp4": "video/mp4",
                  ".m4s": "video/iso.segment", ".jpg": "image/jpeg"}
# Child URLs outlive the token that opened the master by the video's length plus this,
# so a viewer who started in time can finish; never more than a day.
CHILD_GRACE_SECONDS = 600
CHILD_MAX_SECONDS = 24 * 3600


def _not_found():
    return problem_response(status=404, code="not_found", title="Not found",
                            detail="No such playback ID or file.")


def _forbidden(refusal: tokens.Refusal):
    return problem_response(status=403, code=f"token_{refusal.reason}", title="Forbidden",
                            detail=refusal.detail)


def origin_allowed(request, allowed: list[str]) -> bool:
    """The requesting page's origin (Origin, else Referer) is one the asset allows.

    Our own pages (the embed player) count as allowed: the embed page itself is checked
    against the page that frames it. Without either header a restricted asset refuses:
    a browser always sends one of them for media and frames.
    """
    if not allowed:
        return True
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    parts = urlsplit(source)
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


def authorise(request, playback_id: str, audience: str, token: str | None = None):
    """(playback ID, asset, grant expiry or None) or the error response a viewer gets."""
    found = PlaybackID.objects.select_related("asset").filter(pk=playback_id).first()
    if found is None or found.asset is None or found.asset.deleted_at:
        return None, _not_found()
    if not origin_allowed(request, found.asset.allowed_origins):
        count_refusal("origin")
        return None, problem_response(status=403, code="origin_not_allowed", title="Forbidden",
                                      detail="This video may not be played on this site.")
    expires = None
    if found.policy == PlaybackID.Policy.SIGNED:
        grant = tokens.check(token if token is not None else request.GET.get("token"),
                             playback_id=found, audience=audience)
        if isinstance(grant, tokens.Refusal):
            return None, _forbidden(grant)
        expires = grant.expires_at
    if found.asset.status != Asset.Status.READY:
        return None, problem_response(
            status=412 if found.asset.status == Asset.Status.PREPARING else 404,
            code="asset_not_ready", title="Not playable yet",
            detail=f"The asset is {found.asset.status}.")
    return (found, found.asset, expires), None


def _headers(response: HttpResponse, *, max_age: int, private: bool = False) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = f"{'private' if private else 'public'}, max-age={max_age}"
    return response


@require_safe
def master(request, playback_id: str):
    authorised, error = authorise(request, playback_id, "v")
    if error:
        return error
    found, asset, token_expires = authorised
    now = int(time.time())
    expires = min(max(token_expires or 0, now + int(asset.duration or 0) + CHILD_GRACE_SECONDS),
                  now + CHILD_MAX_SECONDS)
    base = path_tokens.child_base(playback_id=found.id, prefix=asset.media_prefix, expires=expires)
    body = master_playlist(asset, base)
    # A signed master is personal: shared caches must not hand it to someone else.
    return _headers(HttpResponse(body, content_type=_CONTENT_TYPES[".m3u8"]), max_age=30,
                    private=found.policy == PlaybackID.Policy.SIGNED)


@require_safe
def child_file(request, playback_id: str, expires: str, signature: str, path: str):
    parts = path.split("/")
    if len(parts) != 5:
        return _not_found()
    prefix, rendition, filename = "/".join(parts[:3]), parts[3], parts[4]
    if not (_PREFIX_RE.match(prefix) and _RENDITION_RE.match(rendition) and _FILE_RE.match(filename)):
        return _not_found()
    if not path_tokens.valid(playback_id=playback_id, prefix=prefix, expires=expires, sig=signature):
        count_refusal("path_token")
        return problem_response(status=403, code="path_token_invalid", title="Forbidden",
                                detail="This link has expired or was altered; reload the video.")
    # The token proves what the master granted; the database says it still stands, so
    # a deleted playback ID or asset stops playing here at once.
    found = PlaybackID.objects.select_related("asset").filter(pk=playback_id).first()
    if (found is None or found.asset is None or found.asset.deleted_at
            or found.asset.media_prefix != prefix):
        return _not_found()
    if not origin_allowed(request, found.asset.allowed_origins):
        count_refusal("origin")
        return problem_response(status=403, code="origin_not_allowed", title="Forbidden",
                                detail="This video may not be played on this site.")
    return _serve(f"{prefix}/{rendition}/{filename}",
                  max_age=60 if filename.endswith(".m3u8") else 86400)


def _serve(name: str, *, max_age: int, private: bool = False):
    storage = media_storage()
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError:
        return _not_found()
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
    authorised, error = authorise(request, playback_id, "v", token=token)
    if error:
        messages = {403: "This video is private.", 404: "This video does not exist.",
                    412: "This video is still being prepared."}
        if b"origin_not_allowed" in error.content:
            messages[403] = "This video may not be played on this site."
        return render(request, "playback/unavailable.html",
                      {"message": messages.get(error.status_code, "This video is unavailable.")},
                      status=error.status_code)
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
