from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from media_core.models import Asset, ProcessingJob
from media_core.services import processing
from tests.clips import make_clip
from tests.factories import asset_from_file

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.storage]


def _queued_asset(environment, tmp_path) -> Asset:
    # Without sync mode the job waits in the queue, as it would for a busy worker.
    return asset_from_file(environment, make_clip(tmp_path / "clip.mp4"))


def test_a_job_whose_worker_went_silent_is_handed_on(environment, tmp_path, settings):
    asset = _queued_asset(environment, tmp_path)
    job = processing.job_claim(job_id=asset.jobs.get().id)
    assert job is not None and job.attempts == 1
    ProcessingJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    assert processing.jobs_recover_stalled() == [job.id]
    job.refresh_from_db()
    assert (job.status, job.error_code) == (ProcessingJob.Status.QUEUED, "worker_lost")

    # Another worker takes it; the silent one (attempt 1) wakes up and can write nothing.
    taken = processing.job_claim(job_id=job.id)
    assert taken.attempts == 2
    assert processing.job_heartbeat(job=job, progress=0.5) is False
    assert processing.job_succeed(job=job, renditions=[], max_resolution="90p") is False
    processing.job_fail(job=job, code="x", message="late", permanent=True)
    taken.refresh_from_db()
    assert (taken.status, taken.attempts, taken.error_code) == (ProcessingJob.Status.RUNNING, 2, "")


def test_a_live_worker_keeps_its_job(environment, tmp_path):
    asset = _queued_asset(environment, tmp_path)
    job = processing.job_claim(job_id=asset.jobs.get().id)

    assert processing.jobs_recover_stalled() == []
    job.refresh_from_db()
    assert job.status == ProcessingJob.Status.RUNNING


def test_the_last_attempt_lost_ends_the_asset_errored(environment, tmp_path):
    asset = _queued_asset(environment, tmp_path)
    job = processing.job_claim(job_id=asset.jobs.get().id)
    ProcessingJob.objects.filter(pk=job.pk).update(
        attempts=job.max_attempts, lease_expires_at=timezone.now() - timedelta(seconds=1))

    processing.jobs_recover_stalled()
    asset.refresh_from_db()
    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "processing_failed")
    assert "stopped responding" in asset.error_messages[0]


def test_a_job_queued_too_long_is_sent_again_once(environment, tmp_path):
    asset = _queued_asset(environment, tmp_path)
    job = asset.jobs.get()
    OrmQ.objects.all().delete()  # the message was lost
    ProcessingJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=20))

    assert processing.jobs_requeue_forgotten() == [job.id]
    assert processing.jobs_requeue_forgotten() == []
    assert job.status == ProcessingJob.Status.QUEUED
