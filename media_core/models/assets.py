from django.db import models

from foundation.ids import id_default
from foundation.statemachine import Transitions

from .changes import AssetQuerySet, ShownQuerySet


class Asset(models.Model):
    class Status(models.TextChoices):
        PREPARING = "preparing"
        READY = "ready"
        ERRORED = "errored"

    TRANSITIONS = Transitions("asset", {
        Status.PREPARING: {Status.READY, Status.ERRORED},
        # A retry re-runs processing for an asset whose processing failed.
        Status.ERRORED: {Status.PREPARING},
    })

    id = models.CharField(primary_key=True, max_length=32, default=id_default("ast"), editable=False)
    environment = models.ForeignKey("foundation.Environment", on_delete=models.PROTECT,
                                    related_name="assets")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREPARING,
                              db_index=True)
    title = models.CharField(max_length=512, blank=True)
    passthrough = models.CharField(max_length=255, blank=True)
    duration = models.FloatField(null=True, blank=True)
    aspect_ratio = models.CharField(max_length=16, blank=True)
    max_resolution = models.CharField(max_length=16, blank=True)

    class RenditionsStatus(models.TextChoices):
        PREPARING = "preparing"
        READY = "ready"
        ERRORED = "errored"

    renditions_status = models.CharField(
        max_length=16, choices=RenditionsStatus.choices, default=RenditionsStatus.PREPARING,
        help_text="Whether every rendition is made: a standard input plays (status ready) "
                  "from its stream copy while its encoded ladder is still preparing.")
    tracks = models.JSONField(default=list, blank=True)
    error_type = models.CharField(max_length=64, blank=True)
    error_messages = models.JSONField(default=list, blank=True)
    allowed_origins = models.JSONField(
        default=list, blank=True,
        help_text="Origins (https://example.com, https://*.example.com) that may play or embed "
                  "this asset; empty: any.")
    input_url = models.URLField(max_length=2048, blank=True,
                                help_text="Where the original was fetched from (URL import).")
    max_duration = models.FloatField(null=True, blank=True,
                                     help_text="Longest accepted duration in seconds.")
    master_name = models.CharField(max_length=512, blank=True,
                                   help_text="Storage name of the original file.")
    master_size = models.BigIntegerField(null=True, blank=True)
    media_prefix = models.CharField(max_length=512, blank=True,
                                    help_text="Storage prefix of the current renditions.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The live stream this asset is a recording of. An id, not a relation: live streams
    # belong to a layer above this one, which finds its recordings by this id.
    # (null, not "": the column was a nullable foreign key, and the API shows null)
    live_stream_id = models.CharField(max_length=32, null=True, blank=True,  # noqa: DJ001
                                      db_index=True)

    # What editors write about it (media_core/metadata.py checks the shapes).
    description = models.TextField(blank=True, max_length=5000)
    tags = models.JSONField(default=list, blank=True, help_text="Short labels, for search.")
    metadata = models.JSONField(default=dict, blank=True,
                                help_text="Free key/value pairs (strings), at most 50.")
    chapters = models.JSONField(default=list, blank=True,
                                help_text='[{"start": seconds, "title": "..."}], in order.')
    poster_time = models.FloatField(null=True, blank=True,
                                    help_text="Seconds: the frame of the default thumbnail "
                                              "and the embed's poster.")

    # Downloads (media_core/services/downloads.py): "standard" makes highest.mp4 and
    # audio.m4a from the ladder once the asset is ready.
    class Mp4Support(models.TextChoices):
        NONE = "none"
        STANDARD = "standard"

    mp4_support = models.CharField(max_length=16, choices=Mp4Support.choices,
                                   default=Mp4Support.NONE,
                                   help_text="standard: offer highest.mp4 and audio.m4a "
                                             "downloads.")
    # A clip (media_core/services/clips.py) is cut from another asset's [start, end).
    source_asset_id = models.CharField(max_length=32, null=True, blank=True,  # noqa: DJ001
                                       db_index=True, help_text="The asset this clip was "
                                                                "cut from.")
    clip_start = models.FloatField(null=True, blank=True)
    clip_end = models.FloatField(null=True, blank=True)

    class Publication(models.TextChoices):
        DRAFT = "draft"
        SCHEDULED = "scheduled"
        PUBLISHED = "published"
        UNPUBLISHED = "unpublished"

    # Whether viewers may play it (media_core/services/publication.py); editors decide.
    publication_status = models.CharField(max_length=16, choices=Publication.choices,
                                          default=Publication.DRAFT, db_index=True)
    publish_at = models.DateTimeField(
        null=True, blank=True, db_index=True,
        help_text="A scheduled asset is published at this time, once it is ready.")
    unpublish_at = models.DateTimeField(
        null=True, blank=True, db_index=True,
        help_text="A published (or scheduled) asset stops playing at this time.")
    published_at = models.DateTimeField(null=True, blank=True)

    objects = AssetQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        permissions = [("publish_asset", "Can publish and unpublish assets"),
                       ("retry_asset", "Can retry the processing of an asset")]

    def __str__(self) -> str:
        return f"{self.title or 'Untitled'} ({self.id})"


class Rendition(models.Model):
    class Kind(models.TextChoices):
        VIDEO = "video"
        AUDIO = "audio"

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="renditions")
    name = models.CharField(max_length=32)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    frame_rate = models.FloatField(null=True, blank=True)
    bitrate = models.PositiveIntegerField(help_text="Average bits per second, measured.")
    peak_bitrate = models.PositiveIntegerField(help_text="Largest segment's bits per second.")
    codecs = models.CharField(max_length=64)

    objects = ShownQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "-height"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "name"], name="rendition_asset_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.name}"


class PlaybackID(models.Model):
    class Policy(models.TextChoices):
        PUBLIC = "public"
        SIGNED = "signed"

    id = models.CharField(primary_key=True, max_length=32, default=id_default("pbk"), editable=False)
    environment = models.ForeignKey("foundation.Environment", on_delete=models.PROTECT,
                                    related_name="playback_ids")
    # What it plays: an asset, or a source of a higher layer that registered itself with
    # playback (playback/sources.py: a live stream is source_type "live_stream").
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="playback_ids")
    source_type = models.CharField(max_length=32, blank=True, default="")
    source_id = models.CharField(max_length=32, null=True, blank=True,  # noqa: DJ001
                                 db_index=True)
    policy = models.CharField(max_length=8, choices=Policy.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShownQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = "playback ID"
        constraints = [
            # Exactly one parent: an asset, or one registered source.
            models.CheckConstraint(
                condition=(models.Q(asset__isnull=False, source_type="", source_id__isnull=True)
                           | models.Q(asset__isnull=True, source_id__isnull=False)
                           & ~models.Q(source_type="")),
                name="playback_id_one_parent"),
        ]

    def __str__(self) -> str:
        return self.id
