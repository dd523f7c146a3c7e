"""Usage records: daily counters per environment, the storage ledger, the keys of work
counted once, and where each delivery log was read up to."""

from __future__ import annotations

from django.db import models


class Metric(models.TextChoices):
    """What a counter counts. Seconds are kept as whole milliseconds so sums stay exact."""

    PROCESSING_MS = "processing_ms"  # dimension: JobType
    STORAGE_BYTES = "storage_bytes"  # dimension: StorageKind; a day's change, not a level
    DELIVERY_BYTES = "delivery_bytes"
    LIVE_MS = "live_ms"
    RECORDING_MS = "recording_ms"
    # Objects in storage that no row owned, found and deleted by the orphan sweep
    # (media_core/storage_audit.py), by the environment their path names.
    ORPHANS_DELETED_BYTES = "orphans_deleted_bytes"


class JobType(models.TextChoices):
    ENCODE = "encode"  # the ladder of an upload, a URL import or a live recording
    CLIP = "clip"  # the ladder of a clip, cut from its source's top rung
    STATIC_RENDITIONS = "static_renditions"  # downloads remuxed from the ladder
    TEXT_TRACKS = "text_tracks"  # a caption file checked, converted and stored
    LIVE_RECORDING = "live_recording"  # a live run's files joined into its original


class StorageKind(models.TextChoices):
    ORIGINALS = "originals"  # uploaded or imported files
    RENDITIONS = "renditions"  # the HLS ladder (with its poster)
    STATIC_RENDITIONS = "static_renditions"  # highest.mp4, audio.m4a
    TEXT_TRACKS = "text_tracks"
    RECORDINGS = "recordings"  # live runs' originals
    IMAGES = "images"  # thumbnails, GIFs and storyboards made on request, kept for the next


class UsageCounter(models.Model):
    """One figure of one environment for one UTC day. Only ever incremented (one UPDATE),
    inserted on its first use."""

    environment = models.ForeignKey("foundation.Environment", on_delete=models.PROTECT,
                                    related_name="+")
    day = models.DateField()
    metric = models.CharField(max_length=32, choices=Metric.choices)
    dimension = models.CharField(max_length=32, blank=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["environment", "day", "metric", "dimension"],
                                               name="usage_counter_unique")]
        verbose_name = "usage counter"

    def __str__(self) -> str:
        return f"{self.environment_id} {self.day} {self.metric} {self.dimension}"


class StoredObject(models.Model):
    """A file, or a folder written as one (a rendition ladder), that the platform keeps in
    media storage: written when the platform stores it, removed when it deletes it."""

    name = models.CharField(max_length=512, unique=True,
                            help_text="Storage name of the file, or prefix of the folder.")
    environment = models.ForeignKey("foundation.Environment", on_delete=models.PROTECT,
                                    related_name="+")
    kind = models.CharField(max_length=32, choices=StorageKind.choices)
    bytes = models.BigIntegerField()
    stored_at = models.DateTimeField()

    class Meta:
        verbose_name = "stored object"

    def __str__(self) -> str:
        return self.name


class UsageRecord(models.Model):
    """A piece of work already counted (a processing attempt, a download made): a task
    run twice finds its key here and counts nothing."""

    key = models.CharField(primary_key=True, max_length=128)
    recorded_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "usage record"

    def __str__(self) -> str:
        return self.key


class DeliveryLogCursor(models.Model):
    """How far a delivery log (the platform's own, nginx's) was read: the file (its inode,
    so a rotated file is told from its successor) and the offset of the next line."""

    source = models.CharField(primary_key=True, max_length=64)
    inode = models.BigIntegerField(default=0)
    offset = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "delivery log cursor"

    def __str__(self) -> str:
        return f"{self.source} @ {self.offset}"
