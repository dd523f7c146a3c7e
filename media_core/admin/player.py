"""The asset page as an editor's page: a preview player (hls.js, as the embed page) with
a strip of thumbnails across the video, the embed code and the share URL of its first
public playback ID, with copy buttons."""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.html import escape

from media_core.models import Asset, PlaybackID
from media_core.selectors import asset_is_audio_only


def editor_context(asset: Asset | None) -> dict:
    if asset is None or asset.deleted_at:
        return {}
    context: dict = {}
    if asset.status == Asset.Status.READY:
        # Staff preview (playback/preview.py): plays before publication, and signed ones.
        context["preview_url"] = reverse("playback-preview", args=[asset.id, "master.m3u8"])
        context["storyboard_url"] = reverse("playback-preview",
                                            args=[asset.id, "storyboard.json"])
        context["clip_url"] = reverse("admin:media_core_asset_clip", args=[quote(asset.id)])
        if asset_is_audio_only(asset_id=asset.id):  # its waveform, in place of a picture
            context["preview_poster_url"] = reverse("playback-preview",
                                                    args=[asset.id, "poster.jpg"])
    public = asset.playback_ids.filter(policy=PlaybackID.Policy.PUBLIC).order_by("id").first()
    if public is not None:
        share = f"{settings.PUBLIC_BASE_URL}/embed/{public.id}"
        context["share_url"] = share
        context["embed_code"] = (
            f'<iframe src="{escape(share)}" width="640" height="360" frameborder="0" '
            'allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>')
    context["published"] = asset.publication_status == Asset.Publication.PUBLISHED
    return context
