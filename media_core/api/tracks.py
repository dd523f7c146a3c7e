"""Text tracks of an asset: POST a WebVTT or SRT file (multipart), GET and DELETE a track."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from foundation.api.views import ApiView
from media_core import captions, selectors
from media_core.services.tracks import (
    LANGUAGE_PATTERN,
    FileTooLarge,
    language_name,
    text_track_create,
    text_track_delete,
    text_track_discard,
    text_track_store,
)

from .serializers import TextTrackSerializer

# The file, and room for the other fields and the multipart framing.
MAX_REQUEST_BYTES = captions.MAX_BYTES + 64 * 1024

EXAMPLE_FILE = ("WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nHello!\n\n"
                "00:00:02.500 --> 00:00:04.000\n[door slams]\n")


def _hls_safe(value: str) -> str:
    # The name goes into the master playlist as a quoted string, which holds neither.
    if '"' in value or "\n" in value or "\r" in value:
        raise serializers.ValidationError("A name cannot contain a double quote or a line break.")
    return value


class TextTrackCreateSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text=f"A WebVTT (.vtt) or SRT (.srt) file, UTF-8, at most "
                  f"{captions.MAX_BYTES // 1024 // 1024} MiB. SRT is converted to WebVTT; the "
                  "times of every cue are kept to the millisecond.")
    language_code = serializers.RegexField(
        LANGUAGE_PATTERN, max_length=35,
        help_text="BCP 47, e.g. `en`, `pt-BR`: players choose and label tracks by it.")
    name = serializers.CharField(
        max_length=64, required=False, validators=[_hls_safe],
        help_text="What players list, e.g. `English`; absent: the language's English name.")
    closed_captions = serializers.BooleanField(
        required=False, default=False,
        help_text="true: the track also describes sounds and speakers, for viewers who are "
                  "deaf or hard of hearing (SDH).")

    def validate(self, data: dict) -> dict:
        return {**data, "name": data.get("name") or language_name(data["language_code"])}


UPLOAD_PROBLEMS = {
    "413": f"The file is larger than {captions.MAX_BYTES // 1024 // 1024} MiB.",
    "415": "The body is not multipart/form-data.",
    "409": "The asset is not ready (text tracks are added to a ready asset) or was deleted, "
           "or a request with the same Idempotency-Key is still running.",
    "422": "The file is not valid WebVTT or SRT: `detail` names the line that failed "
           "(e.g. \"line 5: …\"). Or the Idempotency-Key was used before with another request.",
}


class TextTrackListView(ApiView):
    required_scopes = {"POST": "assets:write"}
    serializer_class = TextTrackSerializer
    parser_classes = [MultiPartParser]
    problems = {"POST": UPLOAD_PROBLEMS}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Before anything reads the body: an idempotency key's fingerprint reads it whole.
        length = request.META.get("CONTENT_LENGTH") or ""
        if length.isdigit() and int(length) > MAX_REQUEST_BYTES:
            raise FileTooLarge(UPLOAD_PROBLEMS["413"])

    def prepare(self, request):
        if request.method != "POST":
            return
        self.asset = selectors.asset_get(environment_id=self.environment_id,
                                         asset_id=self.kwargs["asset_id"])
        params = TextTrackCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        self.params = params.validated_data
        upload = self.params.pop("file")
        if upload.size > captions.MAX_BYTES:
            raise FileTooLarge(UPLOAD_PROBLEMS["413"])
        # Files are written here, before the request's transaction (if any) opens.
        self.stored = text_track_store(asset=self.asset, data=upload.read(),
                                       filename=upload.name or "")

    @extend_schema(
        operation_id="create_asset_track", summary="Add a text track (captions, subtitles)",
        request={"multipart/form-data": TextTrackCreateSerializer},
        responses={201: TextTrackSerializer},
        examples=[OpenApiExample("English captions from a WebVTT file", request_only=True,
                                 media_type="multipart/form-data",
                                 value={"file": EXAMPLE_FILE, "language_code": "en",
                                        "name": "English", "closed_captions": True})],
        description="Multipart: `file` (WebVTT or SRT), `language_code`, `name`, "
                    "`closed_captions`. The asset must be `ready`. The track is `ready` at "
                    "once: it is in the asset's `tracks` and in every new master playlist as "
                    "an HLS subtitles rendition. Nothing is re-encoded.")
    def post(self, request, asset_id: str):
        try:
            track = text_track_create(asset=self.asset, stored=self.stored, actor=self.actor,
                                      **self.params)
        except Exception:
            text_track_discard(self.stored)  # no row will ever point at them
            raise
        return Response(TextTrackSerializer(track).data, status=status.HTTP_201_CREATED)


class TextTrackDetailView(ApiView):
    required_scopes = {"GET": "assets:read", "DELETE": "assets:write"}
    serializer_class = TextTrackSerializer

    @extend_schema(operation_id="get_asset_track", summary="Get a text track")
    def get(self, request, asset_id: str, track_id: str):
        track = selectors.text_track_get(environment_id=self.environment_id, asset_id=asset_id,
                                         track_id=track_id)
        return Response(TextTrackSerializer(track).data)

    @extend_schema(operation_id="delete_asset_track", responses={204: None},
                   summary="Delete a text track; new master playlists leave it out at once")
    def delete(self, request, asset_id: str, track_id: str):
        track = selectors.text_track_get(environment_id=self.environment_id, asset_id=asset_id,
                                         track_id=track_id)
        text_track_delete(track=track, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
