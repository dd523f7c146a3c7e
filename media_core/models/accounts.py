from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from foundation.context import Actor
from foundation.ids import id_default

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
