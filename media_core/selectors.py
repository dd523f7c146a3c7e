"""Reads, always scoped to one environment: another environment's objects do not exist."""

from __future__ import annotations

from django.db import connection
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from foundation.errors import NotFound
from media_core.models import Asset, PlaybackID, ProcessingJob, Rendition, TextTrack, Upload


def shaped_for_the_api(assets: QuerySet[Asset]) -> QuerySet[Asset]:
    """Everything the API's asset document shows, in a number of queries that does not
    grow with the number of assets: the assets with their upload and the progress of
    their latest job (one query), their video renditions (one), their playback IDs (one),
    their text tracks (one), their downloads (one).
    """
    latest_job = ProcessingJob.objects.filter(asset=OuterRef("pk")).order_by("-id")
    return (assets.select_related("upload")
            .annotate(latest_job_progress=Subquery(latest_job.values("progress")[:1]))
            .prefetch_related(
                Prefetch("renditions", Rendition.objects.filter(kind=Rendition.Kind.VIDEO),
                         to_attr="video_renditions"),
                "playback_ids", "text_tracks", "static_renditions"))


def asset_list(*, environment_id: str) -> QuerySet[Asset]:
    return shaped_for_the_api(
        Asset.objects.filter(environment_id=environment_id, deleted_at__isnull=True))


def asset_page_ids(*, environment_id: str, limit: int, before: str | None = None,
                   filters: dict | None = None) -> list[str]:
    """The ids of a page of the asset list, newest first (ids sort by creation time),
    narrowed by `filters` (AssetFilters' cleaned values).

    Unfiltered it is written as SQL: the ORM's building of this one statement cost more
    than running it, and every poll of a list makes it (the assets' documents are kept,
    media_core/documents.py)."""
    if filters:
        assets = _filtered(Asset.objects.filter(environment_id=environment_id,
                                                deleted_at__isnull=True), filters)
        if before is not None:
            assets = assets.filter(pk__lt=before)
        return list(assets.order_by("-pk").values_list("pk", flat=True)[:limit])
    table = connection.ops.quote_name(Asset._meta.db_table)
    sql = f"SELECT id FROM {table} WHERE environment_id = %s AND deleted_at IS NULL"
    params: list = [environment_id]
    if before is not None:
        sql += " AND id < %s"
        params.append(before)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY id DESC LIMIT %s", [*params, limit])
        return [row[0] for row in cursor.fetchall()]


def _filtered(assets: QuerySet[Asset], filters: dict) -> QuerySet[Asset]:
    exact = {"status": "status", "publication_status": "publication_status",
             "live_stream_id": "live_stream_id", "upload_id": "upload__id",
             "created_after": "created_at__gte", "created_before": "created_at__lt"}
    assets = assets.filter(**{exact[name]: value for name, value in filters.items()
                              if name in exact})
    if tag := filters.get("tag"):
        # A tag is a JSON string in the list; tags cannot hold a quote, so this is exact
        # (but for case), on SQLite and PostgreSQL alike.
        assets = assets.filter(tags__icontains=f'"{tag}"')
    if q := filters.get("q"):
        assets = assets.filter(Q(title__icontains=q) | Q(description__icontains=q)
                               | Q(tags__icontains=q))
    return assets


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


def _part_of_asset(model, *, environment_id: str, asset_id: str, pk: str, what: str):
    """A row of an asset (a playback ID, a text track), with its asset, in one query; a
    refusal says which of the two is missing."""
    found = (model.objects.select_related("asset")
             .filter(pk=pk, asset_id=asset_id, asset__environment_id=environment_id,
                     asset__deleted_at__isnull=True)
             .first())
    if found is None:
        # Which of the two is missing decides the message; only a refusal pays for it.
        if not Asset.objects.filter(pk=asset_id, environment_id=environment_id,
                                    deleted_at__isnull=True).exists():
            raise NotFound(f"No asset {asset_id!r} in this environment.")
        raise NotFound(f"No {what} {pk!r} on this asset.")
    return found


def playback_id_get(*, environment_id: str, asset_id: str, playback_id: str) -> PlaybackID:
    return _part_of_asset(PlaybackID, environment_id=environment_id, asset_id=asset_id,
                          pk=playback_id, what="playback ID")


def asset_is_audio_only(*, asset_id: str) -> bool:
    """Whether a ready asset plays sound alone: it has renditions, none of them video."""
    kinds = set(Rendition.objects.filter(asset_id=asset_id).values_list("kind", flat=True))
    return bool(kinds) and Rendition.Kind.VIDEO not in kinds


def ready_text_tracks(*, asset_id: str) -> list[TextTrack]:
    """The text tracks players are offered, in the order they were added."""
    return list(TextTrack.objects.filter(asset_id=asset_id, status=TextTrack.Status.READY)
                .order_by("id"))


def text_track_get(*, environment_id: str, asset_id: str, track_id: str) -> TextTrack:
    return _part_of_asset(TextTrack, environment_id=environment_id, asset_id=asset_id,
                          pk=track_id, what="text track")


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


def oldest_queued_job() -> ProcessingJob | None:
    """The job that has waited longest for a worker. It waits since updated_at: a job
    handed back to the queue waits since then, not since it was made."""
    return (ProcessingJob.objects.filter(status=ProcessingJob.Status.QUEUED)
            .select_related("asset").order_by("updated_at", "id").first())
