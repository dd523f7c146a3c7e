from django.db import models

from foundation.ids import id_default
from foundation.statemachine import Transitions

from .changes import JobQuerySet


class ProcessingJob(models.Model):
    """One request to process an asset. A retry is a new job; attempts are counted here."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    TRANSITIONS = Transitions("processing job", {
        Status.QUEUED: {Status.RUNNING, Status.CANCELLED},
        # running -> queued: a transient failure or a lost worker hands it on.
        Status.RUNNING: {Status.SUCCEEDED, Status.FAILED, Status.QUEUED, Status.CANCELLED},
    })

    id = models.CharField(primary_key=True, max_length=32, default=id_default("job"), editable=False)
    asset = models.ForeignKey("media_core.Asset", on_delete=models.CASCADE, related_name="jobs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED,
                              db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    progress = models.FloatField(default=0.0, help_text="0 to 1, from FFmpeg's -progress.")
    stage = models.CharField(max_length=32, blank=True)
    worker = models.CharField(max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    output_prefix = models.CharField(max_length=512, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    stderr_tail = models.TextField(blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "processing job"

    def __str__(self) -> str:
        return self.id
