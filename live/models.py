"""Live streams, their publish sessions, restream targets and health samples."""

from __future__ import annotations

from django.db import models

from foundation.ids import id_default
from foundation.statemachine import Transitions


class LiveStream(models.Model):
    class Status(models.TextChoices):
        IDLE = "idle"
        ACTIVE = "active"
        DISABLED = "disabled"

    class LatencyMode(models.TextChoices):
        STANDARD = "standard"
        LOW = "low"

    # The nginx-rtmp application of each latency mode (nginx-rtmp sets HLS timing per
    # application): encoders publish to it, and its HLS is under LIVE_DIR/hls/<app>/.
    INGEST_APPS = {LatencyMode.STANDARD: "live", LatencyMode.LOW: "live-low"}

    TRANSITIONS = Transitions("live stream", {
        Status.IDLE: {Status.ACTIVE, Status.DISABLED},
        Status.ACTIVE: {Status.IDLE, Status.DISABLED},
        Status.DISABLED: {Status.IDLE},
    })

    id = models.CharField(primary_key=True, max_length=32, default=id_default("lvs"), editable=False)
    environment = models.ForeignKey("foundation.Environment", on_delete=models.PROTECT,
                                    related_name="live_streams")
    name = models.CharField(max_length=200, help_text="What operators call it, e.g. "
                                                      "\"Sunday service\" or \"Studio B\".")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IDLE,
                              db_index=True)
    latency_mode = models.CharField(max_length=16, choices=LatencyMode.choices,
                                    default=LatencyMode.STANDARD)
    reconnect_window = models.FloatField(
        default=60, help_text="Seconds the stream stays active after the encoder leaves, so a "
                              "reconnect continues the same recording.")
    new_asset_settings = models.JSONField(
        null=True, blank=True, help_text="Settings of the asset each session is recorded into; "
                                         "empty: no recording.")
    passthrough = models.CharField(max_length=255, blank=True)
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the stream key's secret.")
    key_generation = models.PositiveIntegerField(default=1)
    srt_port = models.PositiveIntegerField(null=True, blank=True, unique=True)
    srt_passphrase = models.CharField(max_length=64, blank=True)
    connected = models.BooleanField(default=False, help_text="An encoder is publishing now.")
    active_since = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(
        null=True, blank=True, help_text="When the encoder left; the reconnect window runs from here.")
    disconnects = models.PositiveIntegerField(default=0)
    recording_asset = models.ForeignKey("media_core.Asset", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+",
                                        help_text="The asset the current run is recorded into.")
    health = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "live stream"

    def __str__(self) -> str:
        return self.name or self.id

    @property
    def records(self) -> bool:
        return self.new_asset_settings is not None


class LiveSession(models.Model):
    """One publish: from the encoder's connect to its disconnect, on one ingest node."""

    id = models.CharField(primary_key=True, max_length=32, default=id_default("lss"), editable=False)
    stream = models.ForeignKey(LiveStream, on_delete=models.CASCADE, related_name="sessions")
    node = models.CharField(max_length=128)
    app = models.CharField(max_length=32)
    client_id = models.CharField(max_length=32)
    address = models.CharField(max_length=64, blank=True)
    via = models.CharField(max_length=8, default="rtmp", help_text="rtmp or srt")
    started_at = models.DateTimeField(auto_now_add=True)
    playable_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    end_reason = models.CharField(max_length=64, blank=True)
    bytes_in = models.BigIntegerField(default=0)
    drop_requested = models.BooleanField(
        default=False, help_text="The platform asked the ingest to disconnect this encoder.")
    recording_path = models.CharField(
        max_length=1024, blank=True,
        help_text="The recording file on the ingest node's disk, until the node stored it "
                  "or removed it.")
    recording_name = models.CharField(
        max_length=255, blank=True,
        help_text="The recording in media storage, once the ingest node stored it there.")
    asset = models.ForeignKey("media_core.Asset", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")

    class Meta:
        ordering = ["-id"]
        verbose_name = "live session"

    def __str__(self) -> str:
        return self.id


class SimulcastTarget(models.Model):
    class Status(models.TextChoices):
        IDLE = "idle"
        STARTING = "starting"
        BROADCASTING = "broadcasting"
        ERRORED = "errored"

    TRANSITIONS = Transitions("simulcast target", {
        Status.IDLE: {Status.STARTING},
        Status.STARTING: {Status.BROADCASTING, Status.ERRORED, Status.IDLE},
        Status.BROADCASTING: {Status.ERRORED, Status.IDLE},
        Status.ERRORED: {Status.STARTING, Status.BROADCASTING, Status.IDLE},
    })

    id = models.CharField(primary_key=True, max_length=32, default=id_default("smt"), editable=False)
    stream = models.ForeignKey(LiveStream, on_delete=models.CASCADE, related_name="simulcast_targets")
    url = models.CharField(max_length=1024, help_text="rtmp:// or rtmps:// server URL.")
    stream_key = models.CharField(max_length=512, blank=True)
    passthrough = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IDLE)
    error = models.TextField(blank=True)
    speed = models.FloatField(null=True, blank=True)
    restarts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "simulcast target"

    def __str__(self) -> str:
        return self.id

    @property
    def key_hint(self) -> str:
        return f"…{self.stream_key[-4:]}" if len(self.stream_key) > 8 else ("…" if self.stream_key else "")


class HealthSample(models.Model):
    stream = models.ForeignKey(LiveStream, on_delete=models.CASCADE, related_name="health_samples")
    session = models.ForeignKey(LiveSession, null=True, on_delete=models.CASCADE,
                                related_name="health_samples")
    at = models.DateTimeField(db_index=True)
    bitrate = models.PositiveIntegerField(help_text="Bits per second received.")
    bytes_in = models.BigIntegerField()
    frame_rate = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    video_codec = models.CharField(max_length=32, blank=True)
    audio_codec = models.CharField(max_length=32, blank=True)
    keyframe_interval = models.FloatField(null=True, blank=True)
    stalled = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["stream", "-at"], name="health_stream_at")]

    def __str__(self) -> str:
        return f"{self.stream_id} {self.at:%H:%M:%S}"


class IngestNode(models.Model):
    """An ingest machine, as its reports describe it: it reports every few seconds while
    it runs and once more when it stops. Made by its first report (there is no other
    registration), so a node never heard from is not listed."""

    name = models.CharField(max_length=128, unique=True)
    first_seen_at = models.DateTimeField()
    last_report_at = models.DateTimeField()
    stopped_at = models.DateTimeField(
        null=True, blank=True, help_text="When its final report came: it stopped cleanly.")
    streams = models.PositiveIntegerField(
        default=0, help_text="Streams publishing to it in its last report.")
    hls_url = models.CharField(
        max_length=255, blank=True,
        help_text="Where it serves its live HLS itself (LIVE_HLS_URL), as its last report "
                  "said; empty when the platform reads its HLS folder.")

    class Meta:
        ordering = ["name"]
        verbose_name = "ingest node"

    def __str__(self) -> str:
        return self.name
