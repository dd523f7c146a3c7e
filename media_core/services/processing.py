"""Processing jobs: created with the asset, claimed by one worker, fenced by attempt.

A running job holds a lease that it renews as FFmpeg reports progress. Every write a
worker makes is conditioned on (status=running, attempts=<its attempt>), so a worker
that lost its lease (killed, stalled, superseded) can no longer change anything.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from foundation import metrics
from foundation.audit import AuditAction, audit_record
from foundation.context import Actor, current_request_id
from foundation.statemachine import fenced_transition, transition
from foundation.tasks import enqueue, enqueue_on_commit
from foundation.usage import services as usage
from foundation.usage.models import JobType
from media_core import audit_actions, events
from media_core.models import Asset, ProcessingJob, Rendition

from .downloads import downloads_request
from .publication import publication_on_ready
from .records import asset_audit, asset_event

PROCESSING = Actor.system("processing")
Status = ProcessingJob.Status


def _job_audit(job: ProcessingJob, actor: Actor, action: AuditAction, changes: dict,
               message: str = "") -> None:
    audit_record(actor=actor, action=action, object_type="processing_job", object_id=job.id,
                 environment_id=job.asset.environment_id, changes=changes, message=message)


def job_create(*, asset: Asset, actor: Actor) -> ProcessingJob:
    job = ProcessingJob.objects.create(asset=asset, max_attempts=settings.PROCESSING_MAX_ATTEMPTS,
                                       request_id=current_request_id() or "")
    _job_audit(job, actor, audit_actions.JOB_CREATED,
               {"status": [None, job.status], "asset_id": [None, asset.id]})
    enqueue_on_commit("media_core.tasks.process_asset", job.id)
    return job


def _claim(job: ProcessingJob) -> dict:
    """What a worker's attempt holds: every write it makes is conditioned on it (and on
    the job still running)."""
    return {"attempts": job.attempts}


def _fenced(job: ProcessingJob):
    return ProcessingJob.objects.filter(pk=job.pk, status=Status.RUNNING, **_claim(job))


def _lease() -> timezone.datetime:
    return timezone.now() + timedelta(seconds=settings.PROCESSING_LEASE_SECONDS)


def job_claim(*, job_id: str) -> ProcessingJob | None:
    """Take a queued job for this worker; None if it is gone, taken or finished."""
    with transaction.atomic():
        job = ProcessingJob.objects.select_related("asset").filter(pk=job_id).first()
        if job is None or job.status != Status.QUEUED:
            return None
        if job.asset.deleted_at:
            transition(job, ProcessingJob.TRANSITIONS, Status.CANCELLED,
                       extra={"finished_at": timezone.now()})
            return None
        attempt = job.attempts + 1
        transition(job, ProcessingJob.TRANSITIONS, Status.RUNNING, extra={
            "attempts": attempt,
            "lease_expires_at": _lease(),
            "started_at": job.started_at or timezone.now(),
            "worker": f"{socket.gethostname()}:{os.getpid()}",
            "stage": "inspecting",
            "progress": 0.0,
            "output_prefix": f"assets/{job.asset_id}/{job.id}-{attempt}",
            "error_code": "",
            "error_message": "",
            "stderr_tail": "",
        })
    return job


def job_heartbeat(*, job: ProcessingJob, progress: float | None = None, stage: str | None = None) -> bool:
    """Renew the lease and record progress. False: this worker no longer owns the job."""
    updates: dict = {"lease_expires_at": _lease(), "updated_at": timezone.now()}
    if progress is not None:
        updates["progress"] = max(0.0, min(1.0, progress))
    if stage is not None:
        updates["stage"] = stage
    return _fenced(job).update(**updates) == 1


def job_publish_first(*, job: ProcessingJob, renditions: list[dict], max_resolution: str,
                      how: str) -> bool:
    """The asset plays (from `how`: its stream copy, or its first encoded segments,
    processing/early.py) while the job goes on to encode its ladder: `ready`, with
    renditions still `preparing`. False if the job was lost, or the asset is not waiting
    to become playable (a later attempt of a job whose copy was published before: it
    publishes everything at its end)."""
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=job.asset_id)
        if asset.status != Asset.Status.PREPARING or asset.deleted_at:
            return False
        if not _fenced(job).update(stage="encoding", lease_expires_at=_lease()):
            return False
        asset.renditions.all().delete()
        Rendition.objects.bulk_create(Rendition(asset=asset, **r) for r in renditions)
        before = transition(asset, Asset.TRANSITIONS, Asset.Status.READY, extra={
            "media_prefix": job.output_prefix, "max_resolution": max_resolution,
            "ready_at": timezone.now(), "error_type": "", "error_messages": [],
            "renditions_status": Asset.RenditionsStatus.PREPARING,
        })
        asset_audit(asset, PROCESSING, audit_actions.ASSET_READY,
                    {"status": [before, asset.status]},
                    message=f"Plays from {how} ({job.id}, attempt {job.attempts}); "
                            "its ladder is being encoded.")
        asset_event(asset, events.ASSET_READY)
        publication_on_ready(asset)
    return True


def job_succeed(*, job: ProcessingJob, renditions: list[dict], max_resolution: str) -> bool:
    """Switch the asset to the new renditions in one transaction. False if the job was lost."""
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=job.asset_id)
        if not fenced_transition(job, ProcessingJob.TRANSITIONS, Status.RUNNING,
                                 Status.SUCCEEDED, fence=_claim(job), extra={
                                     "progress": 1.0, "stage": "done",
                                     "finished_at": timezone.now(), "lease_expires_at": None}):
            return False
        asset.renditions.all().delete()
        Rendition.objects.bulk_create(Rendition(asset=asset, **r) for r in renditions)
        updates = {"media_prefix": job.output_prefix, "max_resolution": max_resolution,
                   "error_type": "", "error_messages": [],
                   "renditions_status": Asset.RenditionsStatus.READY}
        if asset.status == Asset.Status.READY:  # it played from its stream copy already
            Asset.objects.filter(pk=asset.pk).update(**updates, updated_at=timezone.now())
            asset_audit(asset, PROCESSING, audit_actions.ASSET_RENDITIONS_READY,
                        {"renditions_status": [asset.renditions_status, updates[
                            "renditions_status"]]},
                        message=f"Encoded by {job.id}, attempt {job.attempts}.")
            for field, value in updates.items():
                setattr(asset, field, value)
            asset_event(asset, events.ASSET_RENDITIONS_READY)
            _after_ready(asset)
            return True
        before = transition(asset, Asset.TRANSITIONS, Asset.Status.READY,
                            extra={**updates, "ready_at": timezone.now()})
        asset_audit(asset, PROCESSING, audit_actions.ASSET_READY,
                    {"status": [before, asset.status]},
                    message=f"Processed by {job.id}, attempt {job.attempts}.")
        asset_event(asset, events.ASSET_READY)
        publication_on_ready(asset)
        asset_event(asset, events.ASSET_RENDITIONS_READY)  # at once: encoded in one go
        _after_ready(asset)
    return True


def _after_ready(asset: Asset) -> None:
    """Within the transaction that made every rendition of the asset: its downloads, the
    sweep of older rendition folders, a recording's length."""
    downloads_request(asset)
    enqueue_on_commit("media_core.tasks.sweep_asset_media", asset.id)
    if asset.live_stream_id:  # a live run's recording: its length, once
        usage.recording_record(asset_id=asset.id, environment_id=asset.environment_id,
                               seconds=asset.duration or 0.0)


def job_record_usage(*, job: ProcessingJob, seconds: float) -> None:
    """The seconds one attempt of the job worked (measured by its worker), once per attempt."""
    usage.processing_record(key=f"{job.id}-{job.attempts}",
                            environment_id=job.asset.environment_id, seconds=seconds,
                            job_type=JobType.CLIP if job.asset.source_asset_id else JobType.ENCODE)


def job_fail(*, job: ProcessingJob, code: str, message: str, stderr_tail: str = "",
             permanent: bool, only_if_lease_expired: bool = False) -> None:
    """Record a failed attempt; retry a transient one while attempts remain."""
    retry = not permanent and job.attempts < job.max_attempts
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=job.asset_id)
        dst = Status.QUEUED if retry else Status.FAILED
        updates = {"error_code": code, "error_message": message,
                   "stderr_tail": stderr_tail[-8000:], "lease_expires_at": None}
        if not retry:
            updates["finished_at"] = timezone.now()
        owned = Q(**_claim(job))
        if only_if_lease_expired:
            # The worker may have renewed its lease since we looked: then it is alive.
            owned &= Q(lease_expires_at__lt=timezone.now())
        if not fenced_transition(job, ProcessingJob.TRANSITIONS, Status.RUNNING, dst,
                                 fence=owned, extra=updates):
            return
        job.asset = asset
        metrics.on_commit(metrics.PROCESSING_FAILURES.labels(
            "process_asset", code, "false" if retry else "true").inc)
        action = audit_actions.JOB_REQUEUED if retry else audit_actions.JOB_FAILED
        _job_audit(job, PROCESSING, action,
                   {"status": [Status.RUNNING, dst], "error_code": [None, code]},
                   message=f"Attempt {job.attempts}/{job.max_attempts}: {message}")
        if retry:
            enqueue_on_commit("media_core.tasks.process_asset", job.id)
            return
        if asset.status == Asset.Status.READY and not asset.deleted_at:
            # It plays from its stream copy: the ladder's failure is shown, not its playback
            # taken away (a retry of the asset is refused while it is ready).
            Asset.objects.filter(pk=asset.pk).update(
                renditions_status=Asset.RenditionsStatus.ERRORED, updated_at=timezone.now())
            asset_audit(asset, PROCESSING, audit_actions.ASSET_RENDITIONS_ERRORED,
                        {"renditions_status": [asset.renditions_status, "errored"]},
                        message=message)
            asset.renditions_status = Asset.RenditionsStatus.ERRORED
            asset_event(asset, events.ASSET_UPDATED)
        if asset.status == Asset.Status.PREPARING and not asset.deleted_at:
            error_type = code if permanent else "processing_failed"
            messages = [message] if permanent else [
                f"Processing failed {job.attempts} times; the last error was: {message}"]
            before = transition(asset, Asset.TRANSITIONS, Asset.Status.ERRORED,
                                extra={"error_type": error_type, "error_messages": messages,
                                       "renditions_status": Asset.RenditionsStatus.ERRORED})
            asset_audit(asset, PROCESSING, audit_actions.ASSET_ERRORED,
                        {"status": [before, asset.status], "error_type": [None, error_type]},
                        message=messages[0])
            asset_event(asset, events.ASSET_ERRORED)


def job_cancel(*, job: ProcessingJob, reason: str) -> bool:
    with transaction.atomic():
        # From whatever state the job holds now; a job that finished meanwhile stays so.
        job = ProcessingJob.objects.select_related("asset").get(pk=job.pk)
        src = job.status
        if not ProcessingJob.TRANSITIONS.allowed(src, Status.CANCELLED):
            return False
        changed = fenced_transition(
            job, ProcessingJob.TRANSITIONS, src, Status.CANCELLED, fence={},
            extra={"finished_at": timezone.now(), "lease_expires_at": None,
                   "error_message": reason})
        if changed:
            _job_audit(job, PROCESSING, audit_actions.JOB_CANCELLED,
                       {"status": [src, Status.CANCELLED]}, message=reason)
    return changed


def jobs_recover_stalled() -> list[str]:
    """Hand on the jobs whose worker stopped renewing its lease (killed, host lost)."""
    recovered = []
    stalled = ProcessingJob.objects.filter(status=Status.RUNNING,
                                           lease_expires_at__lt=timezone.now())
    for job in stalled:
        job_fail(job=job, code="worker_lost",
                 message="The worker processing this job stopped responding.", permanent=False,
                 only_if_lease_expired=True)
        recovered.append(job.id)
    return recovered


FORGOTTEN_AFTER = timedelta(minutes=15)


def jobs_requeue_forgotten() -> list[str]:
    """Send again the jobs queued so long that their message was probably lost.

    A broker without persistence, or a process that died between commit and enqueue,
    can lose the message of a queued job. Claiming is a compare-and-swap, so a second
    message for a job that was only waiting is harmless; each job is re-sent at most
    once per FORGOTTEN_AFTER.
    """
    now = timezone.now()
    resent = []
    for job in ProcessingJob.objects.filter(status=Status.QUEUED, updated_at__lt=now - FORGOTTEN_AFTER):
        if ProcessingJob.objects.filter(pk=job.pk, status=Status.QUEUED,
                                        updated_at=job.updated_at).update(updated_at=now):
            enqueue("media_core.tasks.process_asset", job.id)
            resent.append(job.id)
    return resent
