"""Pictures of streams on air in the console: a column of the live streams' list and the
operator dashboard's cards, both from the staff-only `…/livestream/<id>/picture.jpg`
(live/thumbnails.py: a frame of the newest segment, a few seconds old at most), so
that streams whose playback IDs are signed, or that have none, show theirs too."""

from __future__ import annotations

from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from . import delivery, thumbnails
from .models import LiveStream


def picture_url(stream_id: str) -> str:
    return reverse("admin:live_livestream_picture", args=[quote(stream_id)])


class LivePictures:
    """For LiveStreamAdmin: the `picture` column and the view behind it."""

    def get_urls(self):
        return [path("<path:object_id>/picture.jpg", self.admin_site.admin_view(self.picture_view),
                     name="live_livestream_picture"), *super().get_urls()]

    def picture_view(self, request, object_id: str) -> HttpResponse:
        stream = get_object_or_404(LiveStream, pk=unquote(object_id), deleted_at__isnull=True)
        if not self.has_view_or_change_permission(request, stream):
            raise PermissionDenied
        session = delivery.session_playing(stream)
        if session is None:
            raise Http404("The stream is not on air.")
        try:
            picture = thumbnails.picture(stream, session)
        except thumbnails.Unavailable as exc:
            raise Http404("No picture of the stream just now.") from exc
        response = HttpResponse(picture.jpeg, content_type="image/jpeg")
        response["Cache-Control"] = f"private, max-age={int(thumbnails.FRESH_SECONDS)}"
        return response

    def picture(self, stream: LiveStream) -> str:
        if stream.status != LiveStream.Status.ACTIVE:
            return format_html('<span class="live-picture off">{}</span>', "off air")
        return format_html('<img class="live-picture" src="{}" alt="A recent frame of {}" '
                           'width="64" height="36" loading="lazy">', picture_url(stream.id),
                           stream.name or stream.id)

    picture.short_description = "picture"
