from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from .context import Actor
from .ids import id_default

# --- tenancy: environments and API keys, the ground every other app stands on ---------
SCOPES = (
    "assets:read",
    "assets:write",
    "uploads:write",
    "playback:write",
    "live:read",
    "live:write",
    "webhooks:manage",
    "events:read",
    "audit:read",
    "usage:read",
)


class Environment(models.Model):
    """A tenant boundary: a key sees only its own environment's objects."""

    id = models.CharField(primary_key=True, max_length=32, default=id_default("env"), editable=False)
    name = models.SlugField(max_length=64, unique=True)
    # Blank follows the platform's setting, so changing the setting moves every
    # environment that did not choose its own limit.
    max_duration_seconds = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        verbose_name="max duration (seconds)",
        help_text="The longest video an asset of this environment may be; longer ones end "
                  "errored (duration_too_long). An asset's own max_duration_seconds may only "
                  "be lower. Blank: ASSET_MAX_DURATION_SECONDS (12 hours unless set).")
    class Publishing(models.TextChoices):
        AUTO = "auto", "auto: published when ready"
        REVIEW = "review", "review: drafts until an editor publishes"

    publishing = models.CharField(
        max_length=8, choices=Publishing.choices, default=Publishing.AUTO,
        help_text="Whether a new asset plays as soon as it is ready (auto) or waits in "
                  "draft until someone publishes it (review).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def asset_max_duration(self) -> int:
        """Seconds: the longest video accepted here (the environment's, or the default)."""
        return self.max_duration_seconds or settings.ASSET_MAX_DURATION_SECONDS


class ApiKey(models.Model):
    """A credential for the API. Only a SHA-256 of the secret is stored.

    Secrets carry 256 random bits, so a plain hash is as strong as a slow KDF here
    and lets a request find its key with one indexed lookup.
    """

    id = models.CharField(primary_key=True, max_length=32, default=id_default("key"), editable=False)
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The first characters of the secret, to recognise it.")
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def actor(self) -> Actor:
        return Actor(kind="api_key", id=self.id, label=self.name)


# --- the audit log and idempotency ------------------------------------------------------

class AuditEntry(models.Model):
    """One thing someone did, with the fields it changed. Never updated, never deleted."""

    id = models.CharField(primary_key=True, max_length=32, default=id_default("aud"), editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.SET_NULL,
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


# Usage metering's models live in their own package (foundation/usage/).
from .usage.models import (  # noqa: E402, F401
    DeliveryLogCursor,
    StoredObject,
    UsageCounter,
    UsageRecord,
)
