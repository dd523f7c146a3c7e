"""How uploads and assets look in the API, in responses and in event data alike."""

from __future__ import annotations

from functools import cached_property
from urllib.parse import urlsplit

from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from media_core.models import Asset, PlaybackID, Rendition, StaticRendition, TextTrack, Upload
from media_core.upload_urls import upload_url

POLICIES = [c for c, _ in PlaybackID.Policy.choices]


# --- input ------------------------------------------------------------------------
ORIGIN_MAX_LENGTH = 255


# The schema describes a narrower set than is accepted (host names only, lower-case
# scheme), so that whatever matches it is accepted.
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
ORIGIN_PATTERN = rf"^https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:{_PORT})?/?$"


@extend_schema_field({"type": "string", "maxLength": ORIGIN_MAX_LENGTH, "pattern": ORIGIN_PATTERN,
                      "example": "https://www.example.com"})
class OriginField(serializers.CharField):
    """scheme://host[:port], the host possibly starting with '*.' for any subdomain."""

    message = ("An origin is scheme://host[:port], e.g. https://www.example.com or "
               "https://*.example.com.")

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", ORIGIN_MAX_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data).strip().rstrip("/").lower()
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError as exc:  # an unclosed "[", a port out of range or not a number
            raise serializers.ValidationError(self.message) from exc
        host = (parts.hostname or "").removeprefix("*.")
        if (parts.scheme not in ("http", "https") or not host or parts.path or parts.query
                or parts.fragment or parts.username is not None):
            raise serializers.ValidationError(self.message)
        return value


ALLOWED_ORIGINS_HELP = ("Origins whose pages may play or embed the asset (checked against "
                        "Origin/Referer); empty or absent: any origin.")


class ChapterSerializer(serializers.Serializer):
    start = serializers.FloatField(min_value=0, max_value=7 * 24 * 3600,
                                   help_text="Seconds from the start.")
    title = serializers.CharField(max_length=255)


def _no_quotes(value: str) -> str:
    if '"' in value:
        raise serializers.ValidationError('A tag cannot contain ".')
    return value


class AssetMetadataSerializer(serializers.Serializer):
    """What editors write about an asset; every field optional."""

    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=64, validators=[_no_quotes]), required=False,
        max_length=50, help_text="Up to 50 short labels; `tag=` filters the list by one.")
    metadata = serializers.DictField(
        child=serializers.CharField(max_length=1024, allow_blank=True), required=False,
        help_text="Free key/value pairs, strings, at most 50 keys of up to 64 characters.")
    chapters = ChapterSerializer(many=True, required=False, max_length=500,
                                 help_text="In order of `start`; the embed player lists them.")
    poster_time = serializers.FloatField(
        required=False, allow_null=True, min_value=0,
        help_text="Seconds: the frame of the default thumbnail and the embed's poster.")

    def validate_tags(self, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))

    def validate_metadata(self, metadata: dict) -> dict:
        if len(metadata) > 50:
            raise serializers.ValidationError("At most 50 keys.")
        if long := [key for key in metadata if not 0 < len(key) <= 64]:
            raise serializers.ValidationError(f"Keys are 1 to 64 characters: {long[0]!r}.")
        return metadata

    def validate_chapters(self, chapters: list[dict]) -> list[dict]:
        starts = [chapter["start"] for chapter in chapters]
        for number, (before, after) in enumerate(zip(starts, starts[1:], strict=False), 2):
            if after <= before:
                raise serializers.ValidationError(
                    f"Chapter {number} starts at {after} s, not after chapter {number - 1} "
                    f"({before} s): give chapters in order of start.")
        return [{"start": chapter["start"], "title": chapter["title"]} for chapter in chapters]


class NewAssetSettingsSerializer(AssetMetadataSerializer):
    title = serializers.CharField(max_length=512, required=False, allow_blank=True, default="")
    passthrough = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    playback_policy = serializers.ListField(
        child=serializers.ChoiceField(choices=POLICIES), required=False, default=list,
        max_length=4, help_text="One playback ID is created per entry.",
    )
    max_duration_seconds = serializers.FloatField(
        required=False, min_value=1, max_value=24 * 3600,
        help_text="Refuse (errored, duration_too_long) a video longer than this. At most "
                  "the environment's own limit (12 hours unless the operator set another), "
                  "which applies when this is absent; a larger value is refused with 400.",
    )
    allowed_origins = serializers.ListField(child=OriginField(), required=False,
                                            max_length=50, help_text=ALLOWED_ORIGINS_HELP)
    mp4_support = serializers.ChoiceField(
        choices=Asset.Mp4Support.choices, required=False,
        help_text="standard: make `highest.mp4` and `audio.m4a` downloads once the asset is "
                  "ready (from its ladder, no second encode); none (default): no downloads.")
    publish = serializers.BooleanField(
        required=False,
        help_text="false: the asset stays a draft until someone publishes it, even in an "
                  "environment that publishes new assets when they are ready. Absent: the "
                  "environment's `publishing` setting decides (auto, or review: draft).")


@extend_schema_serializer(examples=[OpenApiExample(
    "A public video uploaded from a web page", request_only=True,
    value={"new_asset_settings": {"title": "Product launch", "playback_policy": ["public"],
                                  "passthrough": "cms-item-4711"},
           "cors_origin": "https://www.example.com"},
)])
class UploadCreateSerializer(serializers.Serializer):
    new_asset_settings = NewAssetSettingsSerializer(required=False, default=dict)
    cors_origin = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="",
        help_text="The origin of a web page that PUTs the file (e.g. https://www.example.com), "
                  "or * for any; empty: no cross-origin upload from a browser.")
    timeout = serializers.IntegerField(
        required=False, min_value=60, max_value=7 * 24 * 3600,
        help_text="Seconds the upload URL stays valid (default 3600).",
    )


@extend_schema_serializer(examples=[OpenApiExample(
    "A video fetched from a URL", request_only=True,
    value={"input": "https://media.example.com/videos/launch.mp4", "title": "Product launch",
           "playback_policy": ["public"], "passthrough": "cms-item-4711"},
)])
class AssetCreateSerializer(NewAssetSettingsSerializer):
    input = serializers.CharField(
        max_length=2048, trim_whitespace=True,
        help_text="An http or https URL the server fetches the video from. Only public "
                  "addresses are fetched: never loopback, private or link-local ones, "
                  "including after redirects.",
    )

    def validate_input(self, value: str) -> str:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError as exc:
            raise serializers.ValidationError("Enter a valid http or https URL.") from exc
        if parts.scheme.lower() not in ("http", "https"):
            raise serializers.ValidationError("Only http and https URLs can be imported.")
        if not parts.hostname:
            raise serializers.ValidationError("The URL has no host.")
        return value


@extend_schema_serializer(examples=[OpenApiExample(
    "A new title, tags and chapters", request_only=True,
    value={"title": "Product launch (final cut)", "passthrough": "cms-item-4712",
           "description": "The keynote, with the demo.", "tags": ["keynote", "2030"],
           "metadata": {"campaign": "spring"},
           "chapters": [{"start": 0, "title": "Welcome"}, {"start": 95.5, "title": "Demo"}],
           "poster_time": 12.0},
)])
class AssetUpdateSerializer(AssetMetadataSerializer):
    title = serializers.CharField(max_length=512, required=False, allow_blank=True)
    passthrough = serializers.CharField(max_length=255, required=False, allow_blank=True)
    allowed_origins = serializers.ListField(child=OriginField(), required=False,
                                            max_length=50, help_text=ALLOWED_ORIGINS_HELP)
    mp4_support = serializers.ChoiceField(
        choices=Asset.Mp4Support.choices, required=False,
        help_text="standard: make `highest.mp4` and `audio.m4a` downloads once the asset is "
                  "ready (from its ladder, no second encode); none (default): no downloads.")


@extend_schema_serializer(examples=[
    OpenApiExample("Now", request_only=True, value={}),
    OpenApiExample("At a time to come", request_only=True, value={"at": "2030-01-01T09:00:00Z"}),
])
class PublicationSerializer(serializers.Serializer):
    at = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="When (RFC 3339); absent, null or past: now.")


@extend_schema_serializer(examples=[OpenApiExample(
    "A playback ID that needs a signed token", request_only=True, value={"policy": "signed"},
)])
class PlaybackIdCreateSerializer(serializers.Serializer):
    # The model's choices, so the schema shares one PolicyEnum with PlaybackIdSerializer.
    policy = serializers.ChoiceField(choices=PlaybackID.Policy.choices)


class AssetFiltersSerializer(serializers.Serializer):
    """The asset list's filters (query parameters), each optional; they combine."""

    status = serializers.ChoiceField(choices=Asset.Status.choices, required=False)
    publication_status = serializers.ChoiceField(choices=Asset.Publication.choices,
                                                 required=False)
    tag = serializers.CharField(max_length=64, required=False, validators=[_no_quotes],
                                help_text="Assets that carry this tag (any case).")
    q = serializers.CharField(max_length=200, required=False,
                              help_text="Words in the title, the description or the tags.")
    live_stream_id = serializers.CharField(max_length=32, required=False)
    upload_id = serializers.CharField(max_length=32, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


# --- output -----------------------------------------------------------------------
class PlaybackIdSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlaybackID
        fields = ["id", "policy"]


class RenditionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rendition
        fields = ["name", "width", "height", "bitrate", "frame_rate"]


class TextTrackSerializer(serializers.ModelSerializer):
    """A text track, as POST …/tracks answers and as the asset's `tracks` lists it."""

    type = serializers.SerializerMethodField()
    text_type = serializers.SerializerMethodField()
    language = serializers.CharField(source="language_code", read_only=True,
                                     help_text="The same as `language_code`.")

    class Meta:
        model = TextTrack
        fields = ["type", "id", "text_type", "status", "language_code", "language", "name",
                  "closed_captions"]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "description": "`text`, as in the asset's `tracks`."})
    def get_type(self, track: TextTrack) -> str:
        return "text"

    @extend_schema_field({"type": "string", "description": "`subtitles`: shown over the video, "
                                                           "chosen by the viewer."})
    def get_text_type(self, track: TextTrack) -> str:
        return "subtitles"


class StaticRenditionSerializer(serializers.ModelSerializer):
    class Meta:
        model = StaticRendition
        fields = ["name", "status", "bytes"]


class AssetErrorsSerializer(serializers.Serializer):
    type = serializers.CharField()
    messages = serializers.ListField(child=serializers.CharField())


class AssetSerializer(serializers.ModelSerializer):
    tracks = serializers.SerializerMethodField()
    renditions = serializers.SerializerMethodField()
    playback_ids = PlaybackIdSerializer(many=True, read_only=True)
    errors = serializers.SerializerMethodField()
    upload_id = serializers.SerializerMethodField()
    live_stream_id = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    aspect_ratio = serializers.SerializerMethodField()
    max_resolution = serializers.SerializerMethodField()
    renditions_status = serializers.CharField(
        read_only=True,
        help_text="`preparing` until every rendition is made, then `ready` (`errored` if "
                  "they could not be). A standard input (H.264 with AAC) is `ready` to play "
                  "from a stream copy of itself about a second after it arrives, while its "
                  "encoded ladder is still `preparing`; `video.asset.renditions_ready` says "
                  "when the ladder joined it.")
    static_renditions = StaticRenditionSerializer(
        many=True, read_only=True,
        help_text="Downloads (`mp4_support: standard`), at /v/{playback_id}/{name}.")
    source_asset_id = serializers.CharField(
        allow_null=True, read_only=True, help_text="For a clip: the asset it was cut from.")

    class Meta:
        model = Asset
        fields = [
            "id", "status", "renditions_status", "title", "passthrough", "duration",
            "aspect_ratio", "max_resolution", "tracks", "renditions", "playback_ids", "allowed_origins", "errors",
            "upload_id",
            "live_stream_id", "progress", "description", "tags", "metadata", "chapters",
            "poster_time", "publication_status", "publish_at", "unpublish_at",
            "published_at", "mp4_support", "static_renditions", "source_asset_id",
            "created_at",
        ]

    @extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True},
                          "description": "The media's tracks (`video`, `audio`: from inspection, "
                                         "empty until it is done), then its ready `text` tracks "
                                         "(as POST …/tracks answers them)."})
    def get_tracks(self, asset: Asset) -> list[dict]:
        # media_core.selectors.shaped_for_the_api fetched the text tracks with the asset.
        text = [t for t in asset.text_tracks.all() if t.status == TextTrack.Status.READY]
        return [*(asset.tracks or []), *(self._text_track.to_representation(t) for t in text)]

    @cached_property
    def _text_track(self) -> TextTrackSerializer:
        return TextTrackSerializer()

    @extend_schema_field(RenditionSerializer(many=True))
    def get_renditions(self, asset: Asset) -> list[dict]:
        # media_core.selectors.shaped_for_the_api fetched them with the asset.
        video = getattr(asset, "video_renditions", None)
        if video is None:
            video = [r for r in asset.renditions.all() if r.kind == Rendition.Kind.VIDEO]
        return [self._rendition.to_representation(r) for r in video]

    @cached_property
    def _rendition(self) -> RenditionSerializer:
        # One for every asset of a list: a ModelSerializer builds its fields from the model
        # the first time it is used, which costs more than writing a rendition.
        return RenditionSerializer()

    @extend_schema_field(AssetErrorsSerializer(allow_null=True))
    def get_errors(self, asset: Asset) -> dict | None:
        if asset.status != Asset.Status.ERRORED:
            return None
        return {"type": asset.error_type, "messages": asset.error_messages}

    def get_upload_id(self, asset: Asset) -> str | None:
        try:
            return asset.upload.id
        except Upload.DoesNotExist:
            return None

    def get_live_stream_id(self, asset: Asset) -> str | None:
        return asset.live_stream_id

    def get_aspect_ratio(self, asset: Asset) -> str | None:
        return asset.aspect_ratio or None

    def get_max_resolution(self, asset: Asset) -> str | None:
        return asset.max_resolution or None

    @extend_schema_field(serializers.FloatField(allow_null=True,
                         help_text="0 to 1 while preparing; null otherwise."))
    def get_progress(self, asset: Asset) -> float | None:
        if asset.status != Asset.Status.PREPARING:
            return None
        if hasattr(asset, "latest_job_progress"):  # read with the asset (shaped_for_the_api)
            progress = asset.latest_job_progress
        else:
            latest = max(asset.jobs.all(), key=lambda j: j.id, default=None)
            progress = latest.progress if latest else None
        return round(progress, 3) if progress is not None else 0.0


class UploadSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    asset_id = serializers.CharField(allow_null=True, read_only=True)
    error = serializers.SerializerMethodField()
    new_asset_settings = serializers.JSONField()

    class Meta:
        model = Upload
        fields = ["id", "status", "url", "expires_at", "timeout", "asset_id", "cors_origin",
                  "new_asset_settings", "error", "created_at"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_url(self, upload: Upload) -> str | None:
        return upload_url(upload) if upload.status == Upload.Status.WAITING else None

    @extend_schema_field(AssetErrorsSerializer(allow_null=True))
    def get_error(self, upload: Upload) -> dict | None:
        if not upload.error_type:
            return None
        return {"type": upload.error_type, "messages": [upload.error_message]}


def asset_data(asset: Asset) -> dict:
    return dict(AssetSerializer(asset).data)


def upload_data(upload: Upload) -> dict:
    return dict(UploadSerializer(upload).data)
