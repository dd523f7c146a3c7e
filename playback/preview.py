"""Staff preview: the admin's player plays any ready asset, published or not, signed or
not, through the staff session instead of a playback ID and its token.

The master playlist is written as viewers get it (playback/hls.py), its child URLs
under this view; media playlists and segments are read from storage as the delivery
path reads them. Never cached by anything shared.
"""

from __future__ import annotations

import re

from django.contrib import admin
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from media_core.models import Asset
from media_core.models.tracks import text_folder
from media_core.processing.encode import POSTER_NAME
from media_core.selectors import ready_text_tracks
from media_core.storage import media_storage

from . import downloads, images
from .hls import master_playlist
from .sources import CONTENT_TYPES

_CHILD_RE = re.compile(r"^[a-z0-9]{1,16}/(index\.m3u8|init(_\d{1,3})?\.mp4|seg_\d{5,9}\.m4s)$")
_TEXT_RE = re.compile(r"^text/(trk_[0-9a-z]{26})\.(m3u8|vtt)$")


def preview_base(asset_id: str) -> str:
    return reverse("playback-preview", args=[asset_id, "master.m3u8"]).rsplit("/", 1)[0]


@require_safe
def preview(request, asset_id: str, name: str):
    model_admin = admin.site.get_model_admin(Asset)
    if not model_admin.has_view_or_change_permission(request):
        raise Http404
    asset = Asset.objects.filter(pk=asset_id, deleted_at__isnull=True,
                                 status=Asset.Status.READY).first()
    if asset is None:
        raise Http404
    if name == "master.m3u8":
        base = preview_base(asset.id)
        response = HttpResponse(master_playlist(asset, base,
                                                text_tracks=ready_text_tracks(asset_id=asset.id),
                                                text_base=f"{base}/text"),
                                content_type=CONTENT_TYPES[".m3u8"])
    elif name == POSTER_NAME:  # the library's thumbnails
        try:
            handle = media_storage().open(f"{asset.media_prefix}/{POSTER_NAME}", "rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        response = FileResponse(handle, content_type="image/jpeg")
    elif name == "storyboard.json":  # the asset page's thumbnail strip: where each tile is
        try:
            layout = images.storyboard_layout(asset)
        except images.NoVideo as exc:  # sound alone: the strip says there are none
            raise Http404 from exc
        response = JsonResponse({
            "image": reverse("playback-preview", args=[asset.id, "storyboard.jpg"]),
            "tile_width": layout.tile_width, "tile_height": layout.tile_height,
            "tiles": [{"start": start, "x": x, "y": y} for start, _, x, y in layout.cues()]})
    elif name == "storyboard.jpg":
        try:
            image = images.image_for(asset, images.storyboard_layout(asset))
        except images.Busy:
            return HttpResponse("Busy; try again shortly.", status=503, content_type="text/plain",
                                headers={"Retry-After": "2"})
        except (images.RenderFailed, images.NoVideo) as exc:
            raise Http404 from exc
        if image.data is not None:
            response = HttpResponse(image.data, content_type=image.content_type)
        else:
            response = FileResponse(media_storage().open(image.name, "rb"),
                                    content_type=image.content_type)
    elif text := _TEXT_RE.match(name):  # a text track's playlist or WebVTT file
        if text.group(1) not in {t.id for t in ready_text_tracks(asset_id=asset.id)}:
            raise Http404
        try:
            handle = media_storage().open(f"{text_folder(asset.id)}/{name[5:]}", "rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        response = FileResponse(handle, content_type=CONTENT_TYPES[name[name.rfind("."):]])
    elif name in downloads.CONTENT_TYPES:  # the asset page's download links
        row, refused = downloads.ready_download(asset, name)
        response = refused or downloads.serve(request, asset, row, private=True)
    elif _CHILD_RE.match(name):
        try:
            handle = media_storage().open(f"{asset.media_prefix}/{name}", "rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        response = FileResponse(handle, content_type=CONTENT_TYPES[name[name.rfind("."):]])
    else:
        raise Http404
    return response  # admin_view marks it never cached


preview_view = admin.site.admin_view(preview)
