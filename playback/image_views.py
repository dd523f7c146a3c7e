"""Viewer-facing images: thumbnails, animated GIFs, storyboards (playback/images/).

Each is checked like the master playlist (playback ID, allowed origins, and for a signed
playback ID a token whose audience is t, g or s), then served from the image cache or
made on the spot.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from django.http import FileResponse, HttpResponse
from django.views.decorators.http import require_safe

from foundation.api.problems import problem_response
from foundation.errors import DomainError
from media_core.models import PlaybackID
from media_core.processing.encode import POSTER_NAME
from media_core.selectors import asset_is_audio_only
from media_core.storage import media_storage

from . import images
from .sources import NOT_FOUND, Denied
from .views import authorise, find_playback_id, source_playback_id

log = logging.getLogger("kino.playback")

MAX_AGE = 3600
# Parameters that shape a thumbnail; without any of them the poster is the thumbnail.
_THUMBNAIL_PARAMS = ("time", "width", "height", "fit_mode")


def _headers(response: HttpResponse, found: PlaybackID) -> HttpResponse:
    # An image of a signed playback ID is personal: shared caches must not keep it.
    private = found.policy == PlaybackID.Policy.SIGNED
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = f"{'private' if private else 'public'}, max-age={MAX_AGE}"
    return response


def _problem(exc: DomainError) -> HttpResponse:
    response = problem_response(status=exc.status, code=exc.code, title=exc.title, detail=exc.detail)
    if exc.status == 503:
        response["Retry-After"] = "2"
    return response


def _respond(found: PlaybackID, image: images.Image) -> HttpResponse:
    if image.data is not None:
        return _headers(HttpResponse(image.data, content_type=image.content_type), found)
    try:
        handle = media_storage().open(image.name, "rb")
    except FileNotFoundError:
        return problem_response(status=404, code="not_found", title="Not found",
                                detail="No such playback ID or file.")
    return _headers(FileResponse(handle, content_type=image.content_type), found)


def _image(request, playback_id: str, audience: str, make, **lookup) -> HttpResponse:
    authorised, denied = authorise(request, playback_id, audience, **lookup)
    if denied:
        return denied.response()
    found, asset, _ = authorised
    try:
        image = images.image_for(asset, make(asset))
    except images.RenderFailed as exc:
        log.warning("image for %s failed: %s (%s)", asset.id, exc.detail,
                    getattr(exc.__cause__, "stderr_tail", ""))
        return _problem(exc)
    except DomainError as exc:
        return _problem(exc)
    return _respond(found, image)


@require_safe
def thumbnail(request, playback_id: str, fmt: str):
    found = find_playback_id(playback_id)
    if found is not None and found.source_type:  # a live stream's: a recent picture
        return _source_thumbnail(request, found, fmt)
    if fmt == "jpg" and not any(request.GET.get(p) for p in _THUMBNAIL_PARAMS):
        authorised, denied = authorise(request, playback_id, "t", found=found)
        if denied:
            return denied.response()
        found, asset, _ = authorised
        # Sound alone has no frame to pick: its poster is its waveform, whatever the time.
        if asset.poster_time is None or asset_is_audio_only(asset_id=asset.id):
            return _respond(found, images.Image("image/jpeg",
                                                f"{asset.media_prefix}/{POSTER_NAME}"))
        # The editor's poster frame (clamped to the video), made once like any thumbnail.
        at = min(asset.poster_time, float(asset.duration or 0))
        return _image(request, playback_id, "t", lambda asset: images.thumbnail_request(
            asset, {"time": f"{at:.3f}"}, fmt))
    return _image(request, playback_id, "t",
                  lambda asset: images.thumbnail_request(asset, request.GET, fmt), found=found)


def _source_thumbnail(request, found: PlaybackID, fmt: str) -> HttpResponse:
    """The source's own picture (a live stream's, live/thumbnails.py): a JPEG, without
    parameters, and only where the source makes one."""
    sourced, denied = source_playback_id(request, found, aud="t")
    if denied:
        return denied.response()
    _, source, obj = sourced
    make = getattr(source, "thumbnail", None)
    if make is None or fmt != "jpg":
        return NOT_FOUND.response()
    answer = make(found, obj)
    return answer.response() if isinstance(answer, Denied) else answer


@require_safe
def animated_gif(request, playback_id: str):
    return _image(request, playback_id, "g", lambda asset: images.gif_request(asset, request.GET))


@require_safe
def storyboard_image(request, playback_id: str):
    return _image(request, playback_id, "s", images.storyboard_layout)


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


@require_safe
def storyboard_vtt(request, playback_id: str):
    """A WebVTT track of the sprite's tiles (`storyboard.jpg#xywh=x,y,w,h`).

    The VTT is written from the layout alone, without FFmpeg. Its image URLs carry the
    request's own token (aud s serves both), so a player fetches the sprite with no
    further credentials.
    """
    authorised, denied = authorise(request, playback_id, "s")
    if denied:
        return denied.response()
    found, asset, _ = authorised
    try:
        layout = images.storyboard_layout(asset)
    except DomainError as exc:
        return _problem(exc)
    url = f"/v/{found.id}/storyboard.jpg"
    token = request.GET.get("token")
    if found.policy == PlaybackID.Policy.SIGNED and token:
        url = f"{url}?token={quote(token, safe='')}"
    lines = ["WEBVTT", ""]
    for start, end, x, y in layout.cues():
        lines += [f"{_timestamp(start)} --> {_timestamp(end)}",
                  f"{url}#xywh={x},{y},{layout.tile_width},{layout.tile_height}", ""]
    return _headers(HttpResponse("\n".join(lines), content_type="text/vtt; charset=utf-8"), found)
