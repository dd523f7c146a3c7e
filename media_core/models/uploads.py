from django.db import models

from foundation.ids import id_default
from foundation.statemachine import Transitions

from .changes import UploadQuerySet


class Upload(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting"
        ASSET_CREATED = "asset_created"
        ERRORED = "errored"
        CANCELLED = "cancelled"
        TIMED_OUT = "timed_out"

    TRANSITIONS = Transitions("upload", {
        Status.WAITING: {Status.ASSET_CREATED, Status.ERRORED, Status.CANCELLED, Status.TIMED_OUT},
    })

    id = models.CharField(primary_key=True, max_length=32, default=id_default("upl"), editable=False)
    environment = models.ForeignKey("foundation.Environment", on_delete=models.PROTECT,
                                    related_name="uploads")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING,
                              db_index=True)
    new_asset_settings = models.JSONField(default=dict, blank=True)
    cors_origin = models.CharField(max_length=255, blank=True)
    timeout = models.PositiveIntegerField(help_text="Seconds the upload URL stays valid.")
    expires_at = models.DateTimeField(db_index=True)
    asset = models.OneToOneField("media_core.Asset", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="upload")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    # Resumable (tus) uploads: the declared length and how many bytes are stored.
    length = models.BigIntegerField(null=True, blank=True, help_text="Upload-Length, once declared.")
    offset = models.BigIntegerField(default=0, help_text="Bytes received so far.")
    filename = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # One request at a time may write: it holds this claim, renewed as bytes arrive.
    writer_token = models.CharField(max_length=64, blank=True)
    writer_expires_at = models.DateTimeField(null=True, blank=True)
    error_type = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UploadQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.id
