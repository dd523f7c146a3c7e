"""Clips and downloads on the asset page: cut a clip (start and end, set by hand or from
the preview's playhead) into a new asset through the clip service, and the asset's
downloads, which `mp4_support` switches on."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from foundation.context import Actor
from foundation.errors import DomainError
from media_core.models import Asset, PlaybackID, StaticRendition
from media_core.services.clips import clip_create


class ClipForm(forms.Form):
    start = forms.FloatField(min_value=0)
    end = forms.FloatField(min_value=0)
    title = forms.CharField(max_length=512, required=False)


def _size(size: int | None) -> str:
    if not size:
        return ""
    return f"{size / 1024**2:.1f} MB" if size >= 1024**2 else f"{size / 1024:.0f} KB"


class ClipsAdminMixin:
    def get_urls(self):
        return [path("<path:object_id>/clip/", self.admin_site.admin_view(self.clip_view),
                     name="media_core_asset_clip"), *super().get_urls()]

    @method_decorator(require_POST)
    def clip_view(self, request, object_id: str):
        source = get_object_or_404(Asset, pk=unquote(object_id), deleted_at__isnull=True)
        if not self.has_change_permission(request, source):
            raise PermissionDenied
        back = reverse("admin:media_core_asset_change", args=[quote(source.pk)])
        form = ClipForm(request.POST)
        if not form.is_valid():
            problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
            messages.error(request, f"The clip was not cut: {problems}")
            return HttpResponseRedirect(back)
        data = form.cleaned_data
        policies = sorted(set(source.playback_ids.values_list("policy", flat=True))) or ["public"]
        settings = {"title": data["title"] or f"{source.title or source.id} (clip)",
                    "playback_policy": policies}
        try:
            clip = clip_create(source=source, actor=Actor.for_user(request.user),
                               start=data["start"], end=data["end"], settings=settings)
        except DomainError as exc:
            messages.error(request, f"The clip was not cut: {exc.detail}")
            return HttpResponseRedirect(back)
        messages.success(request, f"Cutting {data['start']:g}–{data['end']:g} s into a new asset, "
                                  f"“{clip.title}”: it plays once it is ready.")
        return HttpResponseRedirect(reverse("admin:media_core_asset_change", args=[quote(clip.pk)]))

    @admin.display(description="downloads")
    def downloads(self, asset: Asset) -> str:
        if asset.mp4_support != Asset.Mp4Support.STANDARD:
            return "Off: choose standard in MP4 downloads to offer highest.mp4 and audio.m4a."
        rows = list(asset.static_renditions.all())
        if not rows:
            return "Made once the asset is ready."
        public = asset.playback_ids.filter(policy=PlaybackID.Policy.PUBLIC).order_by("id").first()

        def line(row: StaticRendition):
            if row.status != StaticRendition.Status.READY:
                return (row.name, row.status, "", "")
            staff = reverse("playback-preview", args=[asset.id, row.name])
            viewers = f"/v/{public.id}/{row.name}" if public else ""
            return (format_html('<a href="{}" download>{}</a>', staff, row.name), "ready",
                    _size(row.bytes), viewers)

        return format_html('<table class="downloads">{}</table>', format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            (line(row) for row in rows)))
