"""Viewer-facing delivery: master playlist, media playlists, segments, poster.

No API key. A public playback ID plays for anyone; a signed one needs a token, which
arrives with signing keys (until then it answers 403). Files are served from storage,
and only names that the asset's renditions account for.
"""

from __future__ import annotations

import re

from django.http import FileResponse, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from foundation.api.problems import problem_response
from media_core.models import Asset, PlaybackID
from media_core.processing.encode import POSTER_NAME
from media_core.storage import media_storage

from .hls import master_playlist

_FILE_RE = re.compile(r"^(index\.m3u8|init(_\d{1,3})?\.mp4|seg_\d{5,9}\.m4s)$")
_CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mp4": "video/mp4",
                  ".m4s": "video/iso.segment", ".jpg": "image/jpeg"}


def _not_found():
    return problem_response(status=404, code="not_found", title="Not found",
                            detail="No such playback ID or file.")


def _playable(playback_id: str):
    """The asset behind a playback ID, or the error response a viewer gets."""
    found = (PlaybackID.objects.select_related("asset").filter(pk=playback_id).first())
    if found is None or found.asset is None or found.asset.deleted_at:
        return None, _not_found()
    if found.policy == PlaybackID.Policy.SIGNED:
        return None, problem_response(status=403, code="token_required", title="Forbidden",
                                      detail="This playback ID needs a signed token.")
    if found.asset.status != Asset.Status.READY:
        return None, problem_response(
            status=412 if found.asset.status == Asset.Status.PREPARING else 404,
            code="asset_not_ready", title="Not playable yet",
            detail=f"The asset is {found.asset.status}.")
    return found.asset, None


def _headers(response: HttpResponse, max_age: int) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = f"public, max-age={max_age}"
    return response


@require_safe
def master(request, playback_id: str):
    asset, error = _playable(playback_id)
    if error:
        return error
    body = master_playlist(asset, playback_id)
    return _headers(HttpResponse(body, content_type=_CONTENT_TYPES[".m3u8"]), 60)


@require_safe
def rendition_file(request, playback_id: str, rendition: str, filename: str):
    asset, error = _playable(playback_id)
    if error:
        return error
    if not _FILE_RE.match(filename) or not asset.renditions.filter(name=rendition).exists():
        return _not_found()
    return _serve(f"{asset.media_prefix}/{rendition}/{filename}",
                  max_age=60 if filename.endswith(".m3u8") else 86400)


@require_safe
def thumbnail(request, playback_id: str):
    asset, error = _playable(playback_id)
    if error:
        return error
    return _serve(f"{asset.media_prefix}/{POSTER_NAME}", max_age=3600)


def _serve(name: str, *, max_age: int):
    storage = media_storage()
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError:
        return _not_found()
    suffix = name[name.rfind("."):]
    response = FileResponse(handle, content_type=_CONTENT_TYPES.get(suffix, "application/octet-stream"))
    return _headers(response, max_age)


@require_safe
@xframe_options_exempt
def embed(request, playback_id: str):
    """A player page for iframes: hls.js (vendored), the poster, the master playlist."""
    asset, error = _playable(playback_id)
    if error:
        messages = {403: "This video is private.", 404: "This video does not exist.",
                    412: "This video is still being prepared."}
        return render(request, "playback/unavailable.html",
                      {"message": messages.get(error.status_code, "This video is unavailable.")},
                      status=error.status_code)
    return render(request, "playback/embed.html", {
        "title": asset.title,
        "manifest_url": f"/v/{playback_id}.m3u8",
        "poster_url": f"/v/{playback_id}/thumbnail.jpg",
        "autoplay": request.GET.get("autoplay") in ("1", "true"),
        "muted": request.GET.get("muted") in ("1", "true"),
    })
