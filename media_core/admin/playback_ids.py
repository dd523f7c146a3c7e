"""Playback IDs: what viewers play, of an asset or of a live stream."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from foundation.admin import (
    CreateOnlyAdmin,
    find_short,
    link_to,
    short_id,
    small_line,
    time_column,
    titled_link,
)
from foundation.context import Actor
from media_core.models import Asset, PlaybackID
from media_core.services.assets import playback_id_create, playback_id_delete

from .assets import playback_url


class PlaybackIDForm(forms.ModelForm):
    class Meta:
        model = PlaybackID
        fields = ["asset", "policy"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "asset" in self.fields:
            self.fields["asset"].required = True
            self.fields["asset"].queryset = Asset.objects.filter(deleted_at__isnull=True)


@admin.register(PlaybackID)
class PlaybackIDAdmin(CreateOnlyAdmin):
    form = PlaybackIDForm
    list_display = ["id_shown", "plays_shown", "policy", "playlist", "environment", "created"]
    list_filter = ["policy", "environment"]
    list_select_related = ["asset", "environment"]
    search_fields = ["=id", "=asset__id", "asset__title"]
    raw_id_fields = ["asset"]
    add_fields = ["asset", "policy"]
    view_fields = ["id", "plays", "policy", "url", "environment", "created_at"]
    created = time_column("created_at", "created")

    def has_delete_permission(self, request, obj=None):
        # A live stream's playback IDs are part of the stream: removed from its page.
        if obj is not None and obj.source_type:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        created = playback_id_create(asset=form.cleaned_data["asset"],
                                     policy=form.cleaned_data["policy"],
                                     actor=Actor.for_user(request.user))
        # The admin goes on to log and link to the row the service made.
        obj.pk, obj.environment_id, obj.created_at = created.pk, created.environment_id, created.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        playback_id_delete(playback_id=obj, actor=Actor.for_user(request.user))

    def delete_queryset(self, request, queryset):
        actor = Actor.for_user(request.user)
        for playback_id in queryset.select_related("asset").filter(source_type=""):
            playback_id_delete(playback_id=playback_id, actor=actor)

    @admin.display(description="playback ID", ordering="id")
    def id_shown(self, playback_id: PlaybackID) -> str:
        return short_id(playback_id.id)

    @admin.display(description="plays", ordering="asset")
    def plays_shown(self, playback_id: PlaybackID) -> str:
        if playback_id.asset_id:
            return titled_link(playback_id.asset, playback_id.asset.title or "Untitled")
        return format_html("{}{}", small_line(playback_id.source_type.replace("_", " ")),
                           find_short(playback_id.source_id))

    @admin.display(description="URL")
    def playlist(self, playback_id: PlaybackID) -> str:
        url = playback_url(playback_id.id)
        return format_html('<a href="{}" title="{}">playlist</a>', url, url)

    @admin.display(description="plays", ordering="asset")
    def plays(self, playback_id: PlaybackID) -> str:
        if playback_id.asset_id:
            return link_to(playback_id.asset)
        return f"{playback_id.source_type.replace('_', ' ')} {playback_id.source_id}"

    @admin.display(description="URL")
    def url(self, playback_id: PlaybackID) -> str:
        return playback_url(playback_id.id)
