"""Text tracks on the asset page: the list, with delete, and a page that adds one.

Both go through media_core/services/tracks.py with the signed-in user as the actor, as
the API does; a file that is refused is told as a message naming the line that failed.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_http_methods

from foundation.admin import ReadOnlyAdmin, link_to, user_may
from foundation.context import Actor
from foundation.errors import DomainError
from media_core import captions
from media_core.models import Asset, TextTrack
from media_core.services.tracks import (
    LANGUAGE_PATTERN,
    FileTooLarge,
    language_name,
    text_track_create,
    text_track_delete,
    text_track_discard,
    text_track_refusal,
    text_track_store,
)


class TextTrackForm(forms.Form):
    """The API's fields (POST /api/v1/assets/{id}/tracks), with the same limits."""

    required_css_class = "required"

    file = forms.FileField(
        help_text=f"WebVTT (.vtt) or SRT (.srt), UTF-8, at most "
                  f"{captions.MAX_BYTES // 1024 // 1024} MiB. SRT is converted to WebVTT; "
                  "cue times are kept to the millisecond.")
    language_code = forms.RegexField(
        LANGUAGE_PATTERN, max_length=35, label="Language code",
        help_text="BCP 47, e.g. en, de, pt-BR.",
        error_messages={"invalid": "A language code such as en, de or pt-BR."})
    name = forms.CharField(max_length=64, required=False,
                           help_text="What viewers see in the captions menu, e.g. English. "
                                     "Empty: the language's name.")
    closed_captions = forms.BooleanField(
        required=False, label="Closed captions",
        help_text="The track also describes sounds and speakers (for viewers who are deaf or "
                  "hard of hearing).")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if '"' in name:
            raise forms.ValidationError("A name cannot contain a double quote.")
        return name


class TextTrackInline(admin.TabularInline):
    """The asset's text tracks; a ticked "Delete?" removes one when the page is saved."""

    model = TextTrack
    fields = ["track", "language_code", "name", "closed_captions", "source_format",
              "cue_count", "created_at"]
    readonly_fields = fields
    extra = 0
    template = "admin/media_core/asset/text_tracks_inline.html"
    verbose_name_plural = "text tracks (captions, subtitles)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # the file is uploaded on a page of its own

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.deleted_at:
            return False
        return user_may(request, "delete", TextTrack)

    @admin.display(description="track")
    def track(self, track: TextTrack) -> str:
        return link_to(track, track.id)


class TextTrackAdminMixin:
    """Adds the text track page to the asset admin, and deletes through the service."""

    def get_urls(self):
        return [path("<path:object_id>/text-tracks/add/",
                     self.admin_site.admin_view(self.text_track_add_view),
                     name="media_core_asset_text_track_add"),
                *super().get_urls()]

    def save_formset(self, request, form, formset, change):
        if formset.model is not TextTrack:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # lists what was ticked; the service deletes it
        actor = Actor.for_user(request.user)
        for track in formset.deleted_objects:
            if text_track_delete(track=track, actor=actor):
                messages.success(request, f"The text track “{track.name}” was removed.")
        return None

    @method_decorator(require_http_methods(["GET", "POST"]))
    def text_track_add_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not user_may(request, "add", TextTrack):
            raise PermissionDenied
        asset = get_object_or_404(Asset, pk=unquote(object_id))
        asset_page = reverse("admin:media_core_asset_change", args=[quote(asset.pk)])
        if refusal := text_track_refusal(asset):
            messages.error(request, refusal.detail)
            return HttpResponseRedirect(asset_page)
        form = TextTrackForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            track = self._add(request, asset, form.cleaned_data)
            if track is not None:
                messages.success(request, f"The text track “{track.name}” was added: it "
                                          "plays with the asset from now on.")
                return HttpResponseRedirect(asset_page)
        return TemplateResponse(request, "admin/media_core/asset/text_track_add.html", {
            **self.admin_site.each_context(request),
            "title": "Add a text track",
            "opts": self.opts,
            "original": asset,
            "asset_page": asset_page,
            "form": form,
        })

    def _add(self, request: HttpRequest, asset: Asset, data: dict) -> TextTrack | None:
        upload = data["file"]
        try:
            if upload.size > captions.MAX_BYTES:  # refused before it is read into memory
                raise FileTooLarge(f"The file is larger than "
                                   f"{captions.MAX_BYTES // 1024 // 1024} MiB.")
            stored = text_track_store(asset=asset, data=upload.read(), filename=upload.name)
            try:
                return text_track_create(
                    asset=asset, stored=stored, actor=Actor.for_user(request.user),
                    language_code=data["language_code"],
                    name=data["name"] or language_name(data["language_code"]),
                    closed_captions=data["closed_captions"])
            except Exception:
                text_track_discard(stored)  # no row will ever point at them
                raise
        except DomainError as exc:
            messages.error(request, f"{upload.name}: {exc.detail}")
            return None


@admin.register(TextTrack)
class TextTrackAdmin(ReadOnlyAdmin):
    """Found by ID; added and removed on their asset's page."""

    list_display = ["id", "asset_link", "language_code", "name", "closed_captions", "status",
                    "created_at"]
    list_filter = ["status", "closed_captions"]
    list_select_related = ["asset"]
    search_fields = ["=id", "=asset__id", "name", "language_code"]
    fields = ["id", "asset_link", "status", "language_code", "name", "closed_captions",
              "source_format", "cue_count", "created_at"]
    readonly_fields = fields

    @admin.display(description="asset", ordering="asset")
    def asset_link(self, track: TextTrack) -> str:
        return link_to(track.asset)
