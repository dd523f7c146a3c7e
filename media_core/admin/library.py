"""The media library's columns: what an editor recognises an asset by at a glance."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from foundation.admin import percent, state_label
from media_core.models import Asset


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
