from django.db import models

from .changes import ShownQuerySet


class StaticRendition(models.Model):
    """A download of an asset (`mp4_support: standard`), made from its ladder: the file
    is at `{media_prefix}/static/{name}` of the renditions it was made from."""

    class Status(models.TextChoices):
        PREPARING = "preparing"
        READY = "ready"
        ERRORED = "errored"

    asset = models.ForeignKey("media_core.Asset", on_delete=models.CASCADE,
                              related_name="static_renditions")
    name = models.CharField(max_length=32, help_text="highest.mp4 or audio.m4a")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREPARING)
    media_prefix = models.CharField(max_length=512,
                                    help_text="The renditions it is made from.")
    bytes = models.BigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShownQuerySet.as_manager()

    class Meta:
        ordering = ["asset", "name"]
        verbose_name = "download"
        constraints = [models.UniqueConstraint(fields=["asset", "name"],
                                               name="static_rendition_asset_name_unique")]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.name}"

    @property
    def storage_name(self) -> str:
        return f"{self.media_prefix}/static/{self.name}"
