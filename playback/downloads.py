"""Downloads: `/v/{playback_id}/highest.mp4` and `/v/{playback_id}/audio.m4a` of an asset
with `mp4_support: standard` (media_core/services/downloads.py makes them).

Checked like the master playlist (published, playback ID, allowed origins, and for a
signed playback ID a token whose `aud` is `d`), then sent with the asset's title as the
file name. Players and download managers ask for byte ranges: one range is answered
206 with exactly those bytes, an impossible one 416. In production, with
DOWNLOAD_ACCEL_PREFIX set, nginx sends the bytes (and answers the ranges) from the file
this names in X-Accel-Redirect, after this view has said yes.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from foundation.api.problems import problem_response
from media_core.models import Asset, PlaybackID, StaticRendition
from media_core.storage import CHUNK, media_storage

from .views import authorise

CONTENT_TYPES = {"highest.mp4": "video/mp4", "audio.m4a": "audio/mp4"}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def file_name(asset: Asset, name: str) -> str:
    """What the browser saves it as: the title (e.g. "Harbour at dawn.mp4"), else the id."""
    stem = " ".join(re.sub(r"[\x00-\x1f\\/:*?\"<>|]+", " ", asset.title).split())[:120]
    stem = stem or asset.id
    return f"{stem}{name[name.rfind('.'):]}"


def ranged(handle, size: int, range_header: str, content_type: str) -> HttpResponse:
    """The whole file (200), or the one byte range asked for (206), or 416."""
    match = _RANGE.match(range_header.strip()) if range_header else None
    if match is None or match.groups() == ("", ""):  # none, or a form not served (several)
        response = FileResponse(handle, content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        else:
            start, end = max(size - int(last), 0), size - 1
        if (not first and int(last) == 0) or start > end or start >= size:
            handle.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        handle.seek(start)
        response = StreamingHttpResponse(_read(handle, end - start + 1), status=206,
                                         content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response


def _read(handle, length: int):
    try:
        while length > 0:
            chunk = handle.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()


def serve(request, asset: Asset, row: StaticRendition, *, private: bool) -> HttpResponse:
    disposition = content_disposition_header(True, file_name(asset, row.name))
    if settings.DOWNLOAD_ACCEL_PREFIX:
        response = HttpResponse(content_type=CONTENT_TYPES[row.name])
        response["X-Accel-Redirect"] = f"{settings.DOWNLOAD_ACCEL_PREFIX}{row.storage_name}"
    else:
        try:
            handle = media_storage().open(row.storage_name, "rb")
        except FileNotFoundError:
            return _not_offered()
        response = ranged(handle, row.bytes or handle.size, request.headers.get("Range", ""),
                          CONTENT_TYPES[row.name])
    response["Content-Disposition"] = disposition
    response["Cache-Control"] = f"{'private' if private else 'public'}, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _not_offered() -> HttpResponse:
    return problem_response(status=404, code="download_not_offered", title="Not found",
                            detail="This download is not offered: the asset's mp4_support "
                                   "is none, or it has no such track.")


def ready_download(asset: Asset, name: str) -> tuple[StaticRendition | None, HttpResponse | None]:
    row = StaticRendition.objects.filter(asset=asset, name=name,
                                         media_prefix=asset.media_prefix).first()
    if row is None or row.status == StaticRendition.Status.ERRORED:
        return None, _not_offered()
    if row.status != StaticRendition.Status.READY:
        response = problem_response(status=412, code="download_preparing",
                                    title="Not playable yet",
                                    detail="The download is being made; try again shortly.")
        response["Retry-After"] = "5"
        return None, response
    return row, None


@require_safe
def download(request, playback_id: str, name: str):
    authorised, denied = authorise(request, playback_id, "d")
    if denied:
        return denied.response()
    found, asset, _ = authorised
    row, refused = ready_download(asset, name)
    if refused:
        return refused
    return serve(request, asset, row, private=found.policy == PlaybackID.Policy.SIGNED)
