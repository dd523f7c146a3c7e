from django.db import models

from .ids import id_default


class AuditEntry(models.Model):
    """One thing someone did, with the fields it changed. Never updated, never deleted."""

    id = models.CharField(primary_key=True, max_length=32, default=id_default("aud"), editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    environment = models.ForeignKey(
        "media_core.Environment", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_type = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=64)
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64, db_index=True)
    request_id = models.CharField(max_length=128, blank=True, db_index=True)
    changes = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.object_id}"


class IdempotencyRecord(models.Model):
    """The first response to a POST made with an Idempotency-Key, kept for 24 hours."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"

    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True)
    # The rendered bytes, replayed verbatim (a JSON column could reorder the keys).
    response_body = models.TextField(blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
