"""The scratch space of a worker killed mid-job is cleaned by the next worker's start,
and nothing a running job or a recent task uses is touched."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from media_core.models import ProcessingJob
from media_core.processing.scratch import scratch_sweep
from tests.factories import asset_from_file

pytestmark = pytest.mark.django_db


def test_leftovers_of_killed_work_go_and_running_work_stays(environment, settings, tmp_path):
    source = tmp_path / "in.mp4"
    source.write_bytes(b"not processed here")
    scratch = settings.PROCESSING_TMP_DIR
    running = asset_from_file(environment, source).jobs.get()
    ProcessingJob.objects.filter(pk=running.pk).update(
        status="running", lease_expires_at=timezone.now() + timedelta(seconds=60))
    lost = asset_from_file(environment, source).jobs.get()  # its worker was killed: requeued
    for name in (f"{running.id}-1abc", f"{lost.id}-2xyz", "tmp-recent", "tmp-old"):
        (scratch / name).mkdir(parents=True)
        (scratch / name / "part.mp4").write_bytes(b"x" * 10)
    long_ago = time.time() - settings.PROCESSING_TIMEOUT_SECONDS - 3600
    os.utime(scratch / "tmp-old", (long_ago, long_ago))

    removed = scratch_sweep()

    assert sorted(removed) == sorted([f"{lost.id}-2xyz", "tmp-old"])
    assert sorted(p.name for p in scratch.iterdir()) == sorted([f"{running.id}-1abc", "tmp-recent"])


def test_a_job_whose_lease_ran_out_leaves_nothing_either(environment, settings, tmp_path):
    source = tmp_path / "in.mp4"
    source.write_bytes(b"not processed here")
    job = asset_from_file(environment, source).jobs.get()
    ProcessingJob.objects.filter(pk=job.pk).update(
        status="running", lease_expires_at=timezone.now() - timedelta(seconds=5))
    (settings.PROCESSING_TMP_DIR / f"{job.id}-1abc").mkdir(parents=True)

    assert scratch_sweep() == [f"{job.id}-1abc"]
