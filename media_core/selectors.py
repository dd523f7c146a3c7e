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
