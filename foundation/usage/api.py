"""`GET /api/v1/usage` (usage:read): the key's environment's usage, day by day."""

from __future__ import annotations

from datetime import UTC, timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from foundation.api.views import ApiView
from foundation.errors import ValidationFailed
from foundation.models import Environment

from . import selectors
from .ingest import ingest_delivery_logs
from .models import JobType, StorageKind

DEFAULT_DAYS = 30
MAX_DAYS = 366


def _with_from_and_to(fields: dict, make) -> dict:
    # "from" is a Python keyword, so it cannot be declared as a class attribute.
    return {"from": make("from"), "to": make("to"), **fields}


class UsageQuerySerializer(serializers.Serializer):
    granularity = serializers.ChoiceField(choices=["day"], default="day")

    def get_fields(self):
        return _with_from_and_to(super().get_fields(), lambda name: serializers.DateField(
            required=False, input_formats=["iso-8601"]))

    def validate(self, attrs):
        today = timezone.now().astimezone(UTC).date()
        end = attrs.get("to") or today
        start = attrs.get("from") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise serializers.ValidationError({"from": ["Must not be after to."]})
        if (end - start).days + 1 > MAX_DAYS:
            raise serializers.ValidationError(
                {"to": [f"A range covers at most {MAX_DAYS} days."]})
        return {**attrs, "from": start, "to": end}


class ProcessingSecondsSerializer(serializers.Serializer):
    total = serializers.FloatField()

    def get_fields(self):
        return {**super().get_fields(), **{t.value: serializers.FloatField(help_text=label)
                                           for t, label in _JOB_TYPES.items()}}


class StorageBytesSerializer(serializers.Serializer):
    total = serializers.IntegerField()

    def get_fields(self):
        return {**super().get_fields(), **{k.value: serializers.IntegerField(help_text=label)
                                           for k, label in _STORAGE_KINDS.items()}}


_JOB_TYPES = {
    JobType.ENCODE: "Encoding uploads, URL imports and live recordings into their ladder.",
    JobType.CLIP: "Encoding clips.",
    JobType.STATIC_RENDITIONS: "Making downloads (highest.mp4, audio.m4a).",
    JobType.TEXT_TRACKS: "Reading, converting and storing caption files.",
    JobType.LIVE_RECORDING: "Joining a live run's recorded files into its original.",
}
_STORAGE_KINDS = {
    StorageKind.ORIGINALS: "Uploaded and imported files.",
    StorageKind.RENDITIONS: "The HLS renditions (with their poster).",
    StorageKind.STATIC_RENDITIONS: "Downloads.",
    StorageKind.TEXT_TRACKS: "Caption and subtitle files.",
    StorageKind.RECORDINGS: "Live recordings' originals.",
    StorageKind.IMAGES: "Thumbnails, GIFs and storyboards made on request and kept.",
}


class UsageDaySerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The UTC day.")
    processing_seconds = ProcessingSecondsSerializer(
        help_text="Seconds of processing work finished that day, by job type.")
    storage_bytes = StorageBytesSerializer(
        help_text="Bytes stored at the end of the day (today: now), by kind.")
    delivery_bytes = serializers.IntegerField(
        help_text="Bytes of media sent to viewers that day (response bodies: playlists, "
                  "segments, downloads, images, text tracks).")
    live_seconds = serializers.FloatField(
        help_text="Seconds encoders published live streams that day.")
    recording_seconds = serializers.FloatField(
        help_text="Seconds of live recordings that became ready that day.")
    orphaned_bytes_deleted = serializers.IntegerField(
        help_text="Bytes in storage that no asset, upload or track owned any more (what a "
                  "crash left between writing and recording an object), deleted that day "
                  "by the daily orphan sweep; counted in the environment their path names. "
                  "Not part of storage_bytes.")


class UsageEnvironmentSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class UsageSerializer(serializers.Serializer):
    environment = UsageEnvironmentSerializer()
    granularity = serializers.CharField()
    data = UsageDaySerializer(many=True, help_text="One entry per day, oldest first, up to "
                                                   "today (days to come are left out).")

    def get_fields(self):
        fields = super().get_fields()
        return {"environment": fields.pop("environment"),
                **_with_from_and_to(fields, lambda name: serializers.DateField(
                    help_text=f"The range's {'first' if name == 'from' else 'last'} day."))}


_EXAMPLE_DAY = {
    "date": "2026-11-30",
    "processing_seconds": {"total": 42.5, "encode": 38.25, "clip": 3.5,
                           "static_renditions": 0.5, "text_tracks": 0.25, "live_recording": 0.0},
    "storage_bytes": {"total": 310_000_000, "originals": 120_000_000,
                      "renditions": 150_000_000, "static_renditions": 38_000_000,
                      "text_tracks": 4_000, "recordings": 0, "images": 1_996_000},
    "delivery_bytes": 2_400_000_000,
    "live_seconds": 3600.0,
    "recording_seconds": 3540.2,
}


class UsageView(ApiView):
    required_scopes = {"GET": "usage:read"}
    serializer_class = UsageSerializer

    @extend_schema(
        operation_id="get_usage",
        summary="Read usage",
        responses=UsageSerializer,
        description=(
            "What the API key's environment used, per UTC day, in the units video platforms "
            "bill by. Every figure comes from the platform's own records: processing "
            "seconds as measured by the worker that did each piece of work (recorded the day "
            "it finished, once however often a task is retried); storage bytes from the ledger "
            "of the files the platform stores, kept as each day's change, so a day shows what "
            "was stored at its end (today: now); delivery bytes from the platform's delivery "
            "log and, in production, nginx's access log (response bodies, counted once); live "
            "seconds from publish sessions (split at midnight UTC); recording seconds from "
            "each live recording's length once processed. The delivery logs are read up to "
            "now before answering. Defaults: the last 30 days; at most 366 days."),
        parameters=[
            OpenApiParameter("from", {"type": "string", "format": "date"},
                             description="First day (YYYY-MM-DD, UTC); default: 29 days before "
                                         "`to`."),
            OpenApiParameter("to", {"type": "string", "format": "date"},
                             description="Last day (YYYY-MM-DD, UTC), included; default: today."),
            OpenApiParameter("granularity", str, enum=["day"],
                             description="Only `day` for now."),
        ],
        examples=[OpenApiExample("A day", response_only=True, value={
            "environment": {"id": "env_01jdz3k6y2m8v4t7q9w5x0c1bn", "name": "production"},
            "from": "2026-11-30", "to": "2026-11-30", "granularity": "day",
            "data": [_EXAMPLE_DAY]})],
    )
    def get(self, request):
        query = UsageQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise ValidationFailed("A query parameter is not valid; see errors.",
                                   errors=query.errors)
        start, end = query.validated_data["from"], query.validated_data["to"]
        # The answer includes what was delivered up to this request.
        ingest_delivery_logs()
        environment = Environment.objects.get(pk=self.environment_id)
        # Days to come have no figures yet (storage would only repeat today's).
        today = timezone.now().astimezone(UTC).date()
        rows = (selectors.usage_by_day(environment_id=environment.id, start=start,
                                       end=min(end, today)) if start <= today else [])
        return Response(UsageSerializer({
            "environment": environment, "from": start, "to": end,
            "granularity": query.validated_data["granularity"], "data": rows}).data)
