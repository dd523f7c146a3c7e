"""Reads, always scoped to one environment: another environment's objects do not exist."""

from __future__ import annotations

from django.db.models import QuerySet

from foundation.errors import NotFound
from media_core.models import Asset, PlaybackID, Upload


def asset_list(*, environment_id: str) -> QuerySet[Asset]:
    return (Asset.objects.filter(environment_id=environment_id, deleted_at__isnull=True)
            .select_related("upload").prefetch_related("renditions", "playback_ids", "jobs"))


def asset_get(*, environment_id: str, asset_id: str) -> Asset:
    asset = asset_list(environment_id=environment_id).filter(pk=asset_id).first()
    if asset is None:
        raise NotFound(f"No asset {asset_id!r} in this environment.")
    return asset


def upload_list(*, environment_id: str) -> QuerySet[Upload]:
    return Upload.objects.filter(environment_id=environment_id)


def upload_get(*, environment_id: str, upload_id: str) -> Upload:
    upload = upload_list(environment_id=environment_id).filter(pk=upload_id).first()
    if upload is None:
        raise NotFound(f"No upload {upload_id!r} in this environment.")
    return upload


def playback_id_get(*, asset: Asset, playback_id: str) -> PlaybackID:
    found = PlaybackID.objects.filter(asset=asset, pk=playback_id).select_related("asset").first()
    if found is None:
        raise NotFound(f"No playback ID {playback_id!r} on this asset.")
    return found


def source_playback_ids(*, source_type: str, source_ids: list[str]) -> dict[str, list[PlaybackID]]:
    """The playback IDs of objects of a registered playback source (a live stream's), by
    object id, in one query."""
    found: dict[str, list[PlaybackID]] = {source_id: [] for source_id in source_ids}
    for playback_id in PlaybackID.objects.filter(source_type=source_type, source_id__in=source_ids):
        found[playback_id.source_id].append(playback_id)
    return found


def source_playback_id_get(*, source_type: str, source_id: str, playback_id: str) -> PlaybackID:
    found = PlaybackID.objects.filter(source_type=source_type, source_id=source_id,
                                      pk=playback_id).first()
    if found is None:
        raise NotFound(f"No playback ID {playback_id!r} on this {source_type.replace('_', ' ')}.")
    return found
