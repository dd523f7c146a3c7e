from django.db import models

from foundation.ids import id_default

from .changes import ShownQuerySet


def text_folder(asset_id: str) -> str:
    """Where an asset's text tracks are stored: beside its rendition folders, never inside
    one, since those are replaced by every processing run and the old ones swept."""
    return f"assets/{asset_id}/text"


def text_files(asset_id: str, track_id: str) -> list[str]:
    """A track's files in media storage: the WebVTT file players read, and its HLS media
    playlist (one segment: that file)."""
    folder = text_folder(asset_id)
    return [f"{folder}/{track_id}.vtt", f"{folder}/{track_id}.m3u8"]


class TextTrack(models.Model):
    """Captions or subtitles of an asset: a WebVTT file (an SRT one is converted), played as
    an HLS subtitles rendition."""

    class Status(models.TextChoices):
        PREPARING = "preparing"
        READY = "ready"
        ERRORED = "errored"

    class Format(models.TextChoices):
        WEBVTT = "webvtt", "WebVTT"
        SRT = "srt", "SRT"

    id = models.CharField(primary_key=True, max_length=32, default=id_default("trk"), editable=False)
    asset = models.ForeignKey("media_core.Asset", on_delete=models.CASCADE,
                              related_name="text_tracks")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREPARING)
    language_code = models.CharField(max_length=35, help_text="BCP 47, e.g. en or pt-BR.")
    name = models.CharField(max_length=64, help_text="What players list, e.g. English.")
    closed_captions = models.BooleanField(
        default=False, help_text="Describes sounds and speakers too, for viewers who are deaf "
                                 "or hard of hearing (SDH).")
    source_format = models.CharField(max_length=8, choices=Format.choices,
                                     help_text="The format of the uploaded file.")
    cue_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShownQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = "text track"

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"
