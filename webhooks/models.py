from django.db import models

from foundation.ids import id_default
from foundation.statemachine import Transitions


class Event(models.Model):
    """The outbox: written in the same transaction as the change it describes."""

    id = models.CharField(primary_key=True, max_length=32, default=id_default("evt"), editable=False)
    environment = models.ForeignKey("foundation.Environment", on_delete=models.PROTECT,
                                    related_name="events")
    type = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64, db_index=True)
    # 1, 2, 3, ... per object: receivers order an object's events by it.
    sequence = models.PositiveIntegerField(default=1)
    data = models.JSONField()
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["object_id", "sequence"],
                                    name="event_sequence_unique_per_object"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.object_id}"


class WebhookEndpoint(models.Model):
    """A URL of an integration that receives the environment's events."""

    id = models.CharField(primary_key=True, max_length=32, default=id_default("whe"), editable=False)
    environment = models.ForeignKey("foundation.Environment", on_delete=models.PROTECT,
                                    related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    # ["*"] or a list of event types.
    events = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    # The first failure of a run of failures; None while deliveries succeed.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.id} {self.url}"

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class WebhookSecret(models.Model):
    """A signing secret. Active while expires_at is None or in the future."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="secrets")
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"secret of {self.endpoint_id}"


class WebhookDelivery(models.Model):
    """One event for one endpoint, tried until it succeeds or the schedule runs out."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERING = "delivering"
        SUCCEEDED = "succeeded"
        DEAD = "dead"

    TRANSITIONS = Transitions("webhook delivery", {
        Status.PENDING: [Status.DELIVERING, Status.DEAD],
        Status.DELIVERING: [Status.SUCCEEDED, Status.PENDING, Status.DEAD, Status.DELIVERING],
        Status.SUCCEEDED: [Status.PENDING],  # a manual retry sends it again
        Status.DEAD: [Status.PENDING],  # retry, replay
    })

    id = models.CharField(primary_key=True, max_length=32, default=id_default("whd"), editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=64, blank=True)
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        permissions = [("retry_webhookdelivery", "Can retry a webhook delivery")]
        indexes = [models.Index(fields=["status", "next_attempt_at"]),
                   models.Index(fields=["status", "claim_expires_at"])]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"attempt of {self.delivery_id} at {self.started_at}"


class DispatchWakeup(models.Model):
    """One row: set while a task that sends due deliveries is queued and not started.

    A commit that wrote deliveries queues such a task only when none is waiting to start:
    the waiting one clears this row before it claims anything, so it sees them. A row
    older than a few seconds no longer counts (the task may be lost, or stuck behind busy
    workers), and the every-minute schedule remains the safety net.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    queued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"dispatch wake-up queued at {self.queued_at}" if self.queued_at else "idle"
