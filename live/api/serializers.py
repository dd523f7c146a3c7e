"""How live streams and simulcast targets look in the API, in responses and in events."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from live.models import LiveStream, SimulcastTarget
from live.selectors import stream_playback_ids, stream_recent_asset_ids
from media_core.api.serializers import POLICIES, NewAssetSettingsSerializer, PlaybackIdSerializer

INGEST_APPS = LiveStream.INGEST_APPS


def rtmp_url(stream: LiveStream) -> str:
    return f"rtmp://{settings.LIVE_PUBLIC_HOST}:{settings.RTMP_PORT}/{INGEST_APPS[stream.latency_mode]}"


def rtmps_url(stream: LiveStream) -> str | None:
    """RTMP in TLS, where the ingest has a certificate (LIVE_TLS_CERT); else None."""
    if not settings.RTMPS_PORT:
        return None
    return f"rtmps://{settings.LIVE_PUBLIC_HOST}:{settings.RTMPS_PORT}/{INGEST_APPS[stream.latency_mode]}"


def srt_url(stream: LiveStream) -> str | None:
    if not stream.srt_port or not stream.srt_passphrase:
        return None
    return f"srt://{settings.LIVE_PUBLIC_HOST}:{stream.srt_port}?passphrase={stream.srt_passphrase}"


# --- input ------------------------------------------------------------------------
@extend_schema_serializer(examples=[OpenApiExample(
    "A public stream, recorded", request_only=True,
    value={"name": "Sunday service", "playback_policy": ["public"],
           "new_asset_settings": {"playback_policy": ["public"]},
           "reconnect_window": 60, "latency_mode": "standard", "passthrough": "weekly-show"},
)])
class LiveStreamCreateSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="",
        help_text="What operators call the stream; unnamed, it is named after the time it "
                  "was created.")
    playback_policy = serializers.ListField(
        child=serializers.ChoiceField(choices=POLICIES), required=False, default=list,
        max_length=4, help_text="One playback ID is created per entry.")
    new_asset_settings = NewAssetSettingsSerializer(
        required=False, allow_null=True, default=None,
        help_text="Record each session into an asset with these settings; null: no recording.")
    reconnect_window = serializers.FloatField(
        required=False, default=60, min_value=0, max_value=1800,
        help_text="Seconds the stream stays active after the encoder disconnects; a reconnect "
                  "within it continues the same recording.")
    latency_mode = serializers.ChoiceField(
        choices=LiveStream.LatencyMode.choices, required=False,
        default=LiveStream.LatencyMode.STANDARD,
        help_text="`standard`: 4 s segments. `low`: 1 s segments (set the encoder's keyframe "
                  "interval to 1 s).")
    passthrough = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


@extend_schema_serializer(examples=[OpenApiExample(
    "Low latency from the next publish", request_only=True,
    value={"name": "Sunday service (low latency)", "latency_mode": "low",
           "reconnect_window": 30},
)])
class LiveStreamUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=False)
    new_asset_settings = NewAssetSettingsSerializer(required=False, allow_null=True)
    reconnect_window = serializers.FloatField(required=False, min_value=0, max_value=1800)
    latency_mode = serializers.ChoiceField(choices=LiveStream.LatencyMode.choices,
                                           required=False)
    passthrough = serializers.CharField(max_length=255, required=False, allow_blank=True)


@extend_schema_serializer(examples=[OpenApiExample(
    "Another RTMP service", request_only=True,
    value={"url": "rtmp://live.example.com/app", "stream_key": "my-channel-key"},
)])
class SimulcastTargetCreateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=1024, help_text="rtmp:// or rtmps:// server URL.")
    stream_key = serializers.CharField(max_length=512, required=False, allow_blank=True, default="")
    passthrough = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    def validate_url(self, value: str) -> str:
        not_rtmp = "A simulcast target is an rtmp:// or rtmps:// URL."
        try:
            parts = urlsplit(value.strip())
        except ValueError as exc:  # e.g. an unclosed "[" around the host
            raise serializers.ValidationError(not_rtmp) from exc
        if parts.scheme not in ("rtmp", "rtmps") or not parts.hostname:
            raise serializers.ValidationError(not_rtmp)
        if parts.username or parts.password or parts.fragment:
            raise serializers.ValidationError("Put credentials in stream_key, not in the URL.")
        return value.strip()


# --- output -----------------------------------------------------------------------
class HealthSerializer(serializers.Serializer):
    connected = serializers.BooleanField(help_text="An encoder is publishing now.")
    bitrate = serializers.IntegerField(allow_null=True, help_text="Bits per second received.")
    frame_rate = serializers.FloatField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    video_codec = serializers.CharField(allow_null=True)
    audio_codec = serializers.CharField(allow_null=True)
    keyframe_interval = serializers.FloatField(allow_null=True, help_text="Seconds between keyframes.")
    stalled = serializers.BooleanField(
        help_text="Publishing, but no bytes arrived for a few seconds.")
    last_seen_at = serializers.DateTimeField(allow_null=True)
    uptime = serializers.FloatField(allow_null=True, help_text="Seconds since the encoder connected.")
    disconnects = serializers.IntegerField()


class SimulcastTargetSerializer(serializers.ModelSerializer):
    stream_key = serializers.SerializerMethodField(help_text="The key's last characters only.")
    error = serializers.SerializerMethodField()

    class Meta:
        model = SimulcastTarget
        fields = ["id", "url", "stream_key", "passthrough", "status", "error", "updated_at"]

    def get_stream_key(self, target: SimulcastTarget) -> str:
        return target.key_hint

    def get_error(self, target: SimulcastTarget) -> str | None:
        return target.error or None


class LiveStreamSerializer(serializers.ModelSerializer):
    stream_key = serializers.SerializerMethodField(
        help_text="The encoder's Stream key field. A secret: only in the responses of create and "
                  "reset-stream-key; null elsewhere, and in an idempotent replay of those.")
    rtmp_url = serializers.SerializerMethodField(help_text="The encoder's Server field.")
    rtmps_url = serializers.SerializerMethodField(
        help_text="The same in TLS (RTMPS), for encoders on networks they do not trust; null "
                  "where the ingest has no certificate. The stream key goes with it as with "
                  "rtmp_url.")
    srt_url = serializers.SerializerMethodField(
        help_text="A complete SRT caller URL with the stream's passphrase; like the stream key, "
                  "only in the responses of create and reset-stream-key.")
    playback_ids = serializers.SerializerMethodField()
    recent_asset_ids = serializers.SerializerMethodField()
    active_asset_id = serializers.SerializerMethodField()
    simulcast_targets = SimulcastTargetSerializer(many=True, read_only=True)
    health = serializers.SerializerMethodField()

    class Meta:
        model = LiveStream
        fields = ["id", "name", "status", "stream_key", "rtmp_url", "rtmps_url", "srt_url",
                  "latency_mode",
                  "reconnect_window", "new_asset_settings", "passthrough", "playback_ids",
                  "active_asset_id", "recent_asset_ids", "simulcast_targets", "health",
                  "created_at"]

    def get_stream_key(self, stream: LiveStream) -> str | None:
        return self.context.get("stream_key")

    def get_rtmp_url(self, stream: LiveStream) -> str:
        return rtmp_url(stream)

    def get_rtmps_url(self, stream: LiveStream) -> str | None:
        return rtmps_url(stream)

    def get_srt_url(self, stream: LiveStream) -> str | None:
        return srt_url(stream) if self.context.get("stream_key") else None

    @extend_schema_field(PlaybackIdSerializer(many=True))
    def get_playback_ids(self, stream: LiveStream) -> list[dict]:
        return PlaybackIdSerializer(stream_playback_ids(stream), many=True).data

    def get_recent_asset_ids(self, stream: LiveStream) -> list[str]:
        return stream_recent_asset_ids(stream)

    def get_active_asset_id(self, stream: LiveStream) -> str | None:
        return stream.recording_asset_id

    @extend_schema_field(HealthSerializer)
    def get_health(self, stream: LiveStream) -> dict:
        return health_data(stream)


def health_data(stream: LiveStream) -> dict:
    h = stream.health or {}
    connected_at = parse_datetime(h["connected_at"]) if h.get("connected_at") else None
    last_seen_at = parse_datetime(h["last_seen_at"]) if h.get("last_seen_at") else None
    return {
        "connected": stream.connected,
        "bitrate": h.get("bitrate") if stream.connected else None,
        "frame_rate": h.get("frame_rate") if stream.connected else None,
        "width": h.get("width"),
        "height": h.get("height"),
        "video_codec": h.get("video_codec"),
        "audio_codec": h.get("audio_codec"),
        "keyframe_interval": h.get("keyframe_interval"),
        "stalled": bool(h.get("stalled")) and stream.connected,
        "last_seen_at": (serializers.DateTimeField().to_representation(last_seen_at)
                         if last_seen_at else None),
        "uptime": (round((timezone.now() - connected_at).total_seconds(), 1)
                   if stream.connected and connected_at else None),
        "disconnects": stream.disconnects,
    }


def live_stream_data(stream: LiveStream, *, stream_key: str | None = None) -> dict:
    return dict(LiveStreamSerializer(stream, context={"stream_key": stream_key}).data)


def simulcast_target_data(target: SimulcastTarget) -> dict:
    return dict(SimulcastTargetSerializer(target).data)
