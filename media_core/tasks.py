"""Worker entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

import logging

from foundation.api.idempotency import purge_expired
from foundation.context import request_id_scope
from media_core import staging, storage
from media_core.models import Asset, ProcessingJob, Upload
from media_core.processing.pipeline import run_job
from media_core.services import publication
from media_core.services.processing import jobs_recover_stalled, jobs_requeue_forgotten
from media_core.services.uploads import uploads_time_out

log = logging.getLogger("kino.tasks")


def process_asset(job_id: str, request_id: str | None = None) -> None:
    with request_id_scope(request_id):
        run_job(job_id)


def sweep_asset_media(asset_id: str, request_id: str | None = None) -> int:
    """Delete an asset's rendition folders other than the one it plays from."""
    with request_id_scope(request_id):
        asset = Asset.objects.filter(pk=asset_id).first()
        if asset is None or asset.deleted_at:
            return 0
        running = set(ProcessingJob.objects.filter(asset=asset, status=ProcessingJob.Status.RUNNING)
                      .values_list("output_prefix", flat=True))
        removed = 0
        for prefix in storage.list_children(f"assets/{asset.id}"):
            if prefix != asset.media_prefix and prefix not in running:
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
        log.info("deleted %s files of asset %s", removed, asset.id)
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


def publication_run_due() -> dict[str, int]:
    """Every minute: publish and unpublish the assets whose time has come."""
    return publication.publication_run_due()
