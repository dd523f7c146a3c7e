"""The media library's columns: what an editor recognises an asset by at a glance."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from foundation.admin import percent, state_label
from media_core.models import Asset


def _track_line(track: dict) -> str:
    """One track as people read it: "video · h264 · 640×360 · 30 fps · 6.0 s"."""
    parts = [str(track.get("type", "track"))]
    if track.get("codec"):
        parts.append(str(track["codec"]))
    if track.get("width") and track.get("height"):
        parts.append(f"{track['width']}×{track['height']}")
    if track.get("frame_rate"):
        parts.append(f"{float(track['frame_rate']):g} fps")
    if track.get("channels"):
        parts.append(f"{track['channels']} ch")
    if track.get("sample_rate"):
        parts.append(f"{float(track['sample_rate']) / 1000:g} kHz")
    if track.get("duration"):
        parts.append(f"{float(track['duration']):.1f} s")
    return " · ".join(parts)


def track_rows(tracks: list[dict]) -> str:
    """An asset's tracks as a list of readable lines, not raw JSON."""
    return format_html_join("", "<div>{}</div>", ((_track_line(t),) for t in tracks))


class LibraryColumnsMixin:
    @admin.display(description="created", ordering="created_at")
    def created(self, asset: Asset) -> str:
        return timezone.localtime(asset.created_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="")
    def thumbnail(self, asset: Asset) -> str:
        if asset.status != Asset.Status.READY or asset.deleted_at:
            return mark_safe('<span class="kino-thumb kino-thumb-empty"></span>')  # noqa: S308 - a constant
        return format_html('<img class="kino-thumb" src="{}" alt="" loading="lazy">',
                           reverse("playback-preview", args=[asset.id, "poster.jpg"]))

    @admin.display(description="title", ordering="-id")
    def title_and_id(self, asset: Asset) -> str:
        return format_html('<strong>{}</strong><br><span class="quiet">{}</span>',
                           asset.title or "Untitled", asset.id)

    @admin.display(description="duration", ordering="duration")
    def duration_shown(self, asset: Asset) -> str:
        if asset.duration is None:
            return "-"
        minutes, seconds = divmod(round(asset.duration), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"

    @admin.display(description="status", ordering="status")
    def state_in_list(self, asset: Asset) -> str:
        """The status, and how far the latest job has come while preparing (the asset's
        own page shows that live, in its processing section)."""
        if asset.deleted_at:
            return state_label(asset.status, "deleted")
        if asset.status == Asset.Status.PREPARING:
            return state_label(asset.status, percent(asset.latest_job_progress or 0.0))
        return state_label(asset.status)
