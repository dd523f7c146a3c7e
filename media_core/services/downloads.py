"""Downloads (`mp4_support: standard`): which an asset offers, asking for them to be
made from its current renditions, and recording each one made.

    none ──PATCH/setting──> standard: rows `preparing` for each download the renditions
    allow (highest.mp4 with video, audio.m4a with audio); a worker remuxes them
    (media_core/processing/static.py) and marks each `ready` (or `errored`); once none
    is preparing, `video.asset.static_renditions.ready` (or `.errored`) says so.

A reprocessed asset gets new downloads from its new renditions: rows of an older prefix
are replaced, and a finish for a prefix that is no longer current changes nothing.
"""

from __future__ import annotations

from django.db import transaction

from foundation.tasks import enqueue_on_commit
from foundation.usage import services as usage
from foundation.usage.models import JobType, StorageKind
from media_core import events
from media_core.models import Asset, Rendition, StaticRendition
from media_core.processing import static

from .records import asset_event

Status = StaticRendition.Status


def downloads_offered(asset: Asset) -> list[str]:
    kinds = set(asset.renditions.values_list("kind", flat=True))
    return ([static.HIGHEST] if Rendition.Kind.VIDEO in kinds else []) + (
        [static.AUDIO] if Rendition.Kind.AUDIO in kinds else [])


def downloads_request(asset: Asset) -> None:
    """In the caller's transaction, with the asset as it now stands: its downloads are
    made afresh from its current renditions if it wants them and is ready, else none."""
    current = list(asset.static_renditions.all())
    asset.static_renditions.all().delete()
    for prefix in sorted({row.media_prefix for row in current}):
        # Removed unless downloads of that prefix are wanted again by then.
        enqueue_on_commit("media_core.tasks.delete_downloads", asset.id, prefix)
    wanted = (asset.mp4_support == Asset.Mp4Support.STANDARD and asset.status == Asset.Status.READY
              and not asset.deleted_at)
    if not wanted:
        return
    StaticRendition.objects.bulk_create(
        StaticRendition(asset=asset, name=name, media_prefix=asset.media_prefix)
        for name in downloads_offered(asset))
    enqueue_on_commit("media_core.tasks.make_downloads", asset.id, asset.media_prefix)


def download_finish(*, asset_id: str, name: str, prefix: str, size: int | None = None,
                    error: str = "", seconds: float = 0.0) -> bool:
    """Record download `name` of the renditions at `prefix` made (`size` bytes) or failed
    (`error`), after `seconds` of work. False when it is no longer wanted: the caller
    removes its file."""
    with transaction.atomic():
        asset = Asset.objects.select_for_update().filter(pk=asset_id).first()
        row = StaticRendition.objects.filter(
            asset_id=asset_id, name=name, media_prefix=prefix, status=Status.PREPARING).first()
        if asset is None or asset.deleted_at or row is None:
            return False
        row.status = Status.ERRORED if error else Status.READY
        row.bytes, row.error = size, error[:500]
        row.save(update_fields=["status", "bytes", "error", "updated_at"])
        usage.processing_record(key=f"static_rendition:{row.pk}", seconds=seconds,
                                environment_id=asset.environment_id,
                                job_type=JobType.STATIC_RENDITIONS)
        if not error:
            usage.storage_stored(environment_id=asset.environment_id, name=row.storage_name,
                                 kind=StorageKind.STATIC_RENDITIONS, size=size or 0)
        rows = list(asset.static_renditions.all())
        if all(r.status != Status.PREPARING for r in rows):
            errored = any(r.status == Status.ERRORED for r in rows)
            asset_event(asset, events.ASSET_DOWNLOADS_ERRORED if errored
                        else events.ASSET_DOWNLOADS_READY)
    return True
