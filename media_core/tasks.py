"""Worker entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from django.conf import settings

from foundation.api.idempotency import purge_expired
from foundation.context import request_id_scope
from foundation.errors import DomainError
from foundation.usage import services as usage
from media_core import ffmpeg, staging, storage
from media_core.models import Asset, ProcessingJob, Rendition, StaticRendition, TextTrack, Upload
from media_core.models.tracks import text_files, text_folder
from media_core.processing import static
from media_core.processing.pipeline import run_job
from media_core.services import downloads, publication
from media_core.services.processing import jobs_recover_stalled, jobs_requeue_forgotten
from media_core.services.uploads import uploads_time_out

log = logging.getLogger("kino.tasks")


def process_asset(job_id: str, request_id: str | None = None) -> None:
    with request_id_scope(request_id):
        run_job(job_id)


def sweep_asset_media(asset_id: str, request_id: str | None = None) -> int:
    """Delete an asset's rendition folders other than the one it plays from (its text
    tracks' folder is no rendition folder: it stays)."""
    with request_id_scope(request_id):
        asset = Asset.objects.filter(pk=asset_id).first()
        if asset is None or asset.deleted_at:
            return 0
        running = set(ProcessingJob.objects.filter(asset=asset, status=ProcessingJob.Status.RUNNING)
                      .values_list("output_prefix", flat=True))
        removed = 0
        for prefix in storage.list_children(f"assets/{asset.id}"):
            if prefix not in (asset.media_prefix, text_folder(asset.id)) and prefix not in running:
                removed += storage.delete_tree(prefix)
        return removed


def delete_asset_media(asset_id: str, request_id: str | None = None) -> int:
    with request_id_scope(request_id):
        asset = Asset.objects.filter(pk=asset_id).first()
        if asset is None or not asset.deleted_at:
            return 0
        removed = storage.delete_tree(f"assets/{asset.id}")
        if asset.master_name:
            # The original and the folder it was uploaded into.
            removed += storage.delete_tree(asset.master_name.rsplit("/", 1)[0])
        elif asset.live_stream_id:
            # A live recording deleted before its run's files were joined: those stored.
            removed += storage.delete_tree(f"recordings/{asset.id}")
        log.info("deleted %s files of asset %s", removed, asset.id)
        return removed


def delete_text_track_files(asset_id: str, track_id: str, request_id: str | None = None) -> int:
    """The files of a removed text track (kept if the track is there after all)."""
    with request_id_scope(request_id):
        if TextTrack.objects.filter(pk=track_id).exists():
            return 0
        media = storage.media_storage()
        removed = 0
        for name in text_files(asset_id, track_id):
            if media.exists(name):
                media.delete(name)
                removed += 1
        usage.storage_forget(names=text_files(asset_id, track_id))
        return removed


def discard_upload_bytes(upload_id: str, request_id: str | None = None) -> None:
    """Remove what a closed (cancelled, timed out, failed) upload had received."""
    with request_id_scope(request_id):
        upload = Upload.objects.filter(pk=upload_id).first()
        if upload is None or upload.status in (Upload.Status.WAITING, Upload.Status.ASSET_CREATED):
            return
        staging.discard(upload.id)


def expire_uploads() -> list[str]:
    expired = uploads_time_out()
    if expired:
        log.info("timed out %s uploads: %s", len(expired), ", ".join(expired))
    return expired


def recover_stalled_jobs() -> list[str]:
    recovered = jobs_recover_stalled()
    if recovered:
        log.warning("handed on %s stalled jobs: %s", len(recovered), ", ".join(recovered))
    resent = jobs_requeue_forgotten()
    if resent:
        log.warning("re-sent %s jobs queued too long: %s", len(resent), ", ".join(resent))
    return recovered + resent


def purge_idempotency_records() -> int:
    return purge_expired()


def delete_storage_orphans() -> dict[str, int]:
    """Every day: delete the objects no row owns, once older than the grace period."""
    from .storage_audit import storage_orphans_delete

    deleted, size = storage_orphans_delete()
    if deleted:
        log.warning("deleted %s orphaned objects (%s bytes)", deleted, size)
    return {"objects": deleted, "bytes": size}


def publication_run_due() -> dict[str, int]:
    """Every minute: publish and unpublish the assets whose time has come."""
    return publication.publication_run_due()


def make_downloads(asset_id: str, prefix: str, request_id: str | None = None) -> int:
    """Make the asset's downloads still waiting to be made from the renditions at
    `prefix`; safe to run twice (a second run finds none waiting)."""
    with request_id_scope(request_id):
        asset = Asset.objects.filter(pk=asset_id, media_prefix=prefix).first()
        waiting = list(StaticRendition.objects.filter(
            asset_id=asset_id, media_prefix=prefix, status=StaticRendition.Status.PREPARING))
        if asset is None or not waiting:
            return 0
        renditions = list(asset.renditions.all())
        videos = sorted((r for r in renditions if r.kind == Rendition.Kind.VIDEO),
                        key=lambda r: (r.height or 0, r.bitrate), reverse=True)
        audio = next((r.name for r in renditions if r.kind == Rendition.Kind.AUDIO), None)
        made = 0
        settings.PROCESSING_TMP_DIR.mkdir(parents=True, exist_ok=True)
        for row in waiting:
            began = time.monotonic()
            with tempfile.TemporaryDirectory(dir=settings.PROCESSING_TMP_DIR) as tmp:
                target = Path(tmp) / row.name
                try:
                    static.make(prefix=prefix, name=row.name, audio=audio, target=target,
                                video=videos[0].name if videos else None)
                except (ffmpeg.FFmpegError, DomainError) as exc:
                    log.warning("download %s of %s failed: %s", row.name, asset_id, exc)
                    downloads.download_finish(asset_id=asset_id, name=row.name, prefix=prefix,
                                              error=f"The download could not be made: {exc}",
                                              seconds=time.monotonic() - began)
                    continue
                size = target.stat().st_size
                stored = storage.put_tree(Path(tmp), [target], static.folder(prefix))
            if downloads.download_finish(asset_id=asset_id, name=row.name, prefix=prefix,
                                         size=size, seconds=time.monotonic() - began):
                made += 1
            else:
                storage.media_storage().delete(stored[0])
        return made


def delete_downloads(asset_id: str, prefix: str, request_id: str | None = None) -> int:
    """Remove the download files made from the renditions at `prefix`, unless downloads
    of them are wanted again by now."""
    with request_id_scope(request_id):
        if StaticRendition.objects.filter(asset_id=asset_id, media_prefix=prefix).exists():
            return 0
        return storage.delete_tree(static.folder(prefix))
