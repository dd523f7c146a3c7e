from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from foundation.admin import change_url, changelist_url
from foundation.models import AuditEntry
from media_core.models import Asset, ProcessingJob, Upload
from media_core.services.processing import job_claim
from tests.clips import random_bytes
from tests.factories import asset_from_file, upload_for

from .conftest import delete_url

pytestmark = pytest.mark.django_db


def _listed(client, model, **params) -> list[str]:
    page = client.get(changelist_url(model, **params))
    assert page.status_code == 200
    return sorted(obj.pk for obj in page.context["cl"].result_list)


# --- processing jobs ----------------------------------------------------------------
def test_stuck_lists_a_running_job_whose_lease_ran_out(admin_client, environment,
                                                       preparing_asset, tmp_path):
    healthy = job_claim(job_id=asset_from_file(
        environment, random_bytes(tmp_path / "ok.mp4")).jobs.get().id)
    lost = job_claim(job_id=preparing_asset.jobs.get().id)
    # The worker stopped renewing its lease two minutes ago.
    ProcessingJob.objects.filter(pk=lost.pk).update(
        lease_expires_at=timezone.now() - timedelta(minutes=2))

    assert _listed(admin_client, ProcessingJob, stuck="yes") == [lost.id]
    assert healthy.id in _listed(admin_client, ProcessingJob, status="running")


def test_stuck_lists_a_job_queued_for_more_than_ten_minutes(admin_client, environment,
                                                            preparing_asset, tmp_path):
    fresh = asset_from_file(environment, random_bytes(tmp_path / "new.mp4")).jobs.get()
    waiting = preparing_asset.jobs.get()
    ProcessingJob.objects.filter(pk=waiting.pk).update(
        updated_at=timezone.now() - timedelta(minutes=11))

    assert _listed(admin_client, ProcessingJob, stuck="yes") == [waiting.id]
    assert fresh.status == ProcessingJob.Status.QUEUED


def test_the_job_list_shows_attempts_progress_and_stage(admin_client, preparing_asset):
    job = job_claim(job_id=preparing_asset.jobs.get().id)
    ProcessingJob.objects.filter(pk=job.pk).update(progress=0.5, stage="encoding")

    page = admin_client.get(changelist_url(ProcessingJob))

    assertContains(page, "1/3")
    assertContains(page, "encoding · 50 %")
    # The asset by its title, its id in the tooltip.
    assertContains(page, f'<a class="kino-wrap" href="{change_url(preparing_asset)}" '
                         f'title="{preparing_asset.id}">{preparing_asset.title}</a>', html=True)


def test_a_failed_job_page_shows_ffmpeg_output_in_a_pre(admin_client, refused_asset):
    job = refused_asset.jobs.get()
    ProcessingJob.objects.filter(pk=job.pk).update(stderr_tail="moov atom not found <eof>")

    page = admin_client.get(change_url(job))

    assertContains(page, "<pre>moov atom not found &lt;eof&gt;</pre>", html=False)
    assertContains(page, "non_video")


def test_jobs_cannot_be_added_changed_or_deleted(admin_client, errored_asset):
    job = errored_asset.jobs.get()

    assert admin_client.get(changelist_url(ProcessingJob) + "add/").status_code == 403
    assert admin_client.post(change_url(job), {"status": "queued"}).status_code == 403
    assert admin_client.get(delete_url(job)).status_code == 403
    job.refresh_from_db()
    assert job.status == ProcessingJob.Status.FAILED


def test_retry_the_asset_from_its_failed_job(admin_client, admin_user, errored_asset,
                                             run_action):
    failed = errored_asset.jobs.get()

    response = run_action(admin_client, ProcessingJob, "retry_asset", [failed])

    assertContains(response, "Retrying 1 asset.")
    errored_asset.refresh_from_db()
    assert errored_asset.status == Asset.Status.PREPARING
    new = errored_asset.jobs.exclude(pk=failed.pk).get()
    assert new.status == ProcessingJob.Status.QUEUED
    assert AuditEntry.objects.filter(object_id=errored_asset.id, action="asset.retried",
                                     actor_id=str(admin_user.pk)).exists()


def test_retrying_from_a_job_of_a_preparing_asset_explains_why_not(admin_client,
                                                                    preparing_asset, run_action):
    response = run_action(admin_client, ProcessingJob, "retry_asset", [preparing_asset.jobs.get()])

    assertContains(response, f"Asset {preparing_asset.id}: Only errored assets can be retried; "
                             "this one is preparing.")
    assert preparing_asset.jobs.count() == 1


def test_jobs_are_found_by_their_asset_id(admin_client, errored_asset, preparing_asset):
    assert _listed(admin_client, ProcessingJob, q=errored_asset.id) == [errored_asset.jobs.get().id]


# --- uploads ------------------------------------------------------------------------
def test_cancel_upload_cancels_a_waiting_upload(admin_client, admin_user, environment,
                                                run_action):
    upload = upload_for(environment)

    response = run_action(admin_client, Upload, "cancel", [upload])

    assertContains(response, "Cancelled 1 upload.")
    upload.refresh_from_db()
    assert upload.status == Upload.Status.CANCELLED
    entry = AuditEntry.objects.get(object_id=upload.id, action="upload.cancelled")
    assert (entry.actor_type, entry.actor_id) == ("user", str(admin_user.pk))


def test_cancelling_an_upload_that_made_its_asset_says_why_not(admin_client, environment,
                                                               preparing_asset, run_action):
    done = preparing_asset.upload
    waiting = upload_for(environment)

    response = run_action(admin_client, Upload, "cancel", [done, waiting])

    assertContains(response, "Cancelled 1 upload.")
    assertContains(response, f"Upload {done.id}: Only waiting uploads can be cancelled; "
                             "this one is asset_created.")
    done.refresh_from_db()
    assert done.status == Upload.Status.ASSET_CREATED


def test_expired_but_still_waiting_lists_only_those(admin_client, environment):
    expired, current = upload_for(environment), upload_for(environment)
    Upload.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert _listed(admin_client, Upload, attention="expired_waiting") == [expired.id]
    assertContains(admin_client.get(change_url(expired)), "expired")
    assert current.id in _listed(admin_client, Upload, status="waiting")


def test_uploads_are_found_by_their_asset_id(admin_client, preparing_asset, environment):
    upload_for(environment)

    assert _listed(admin_client, Upload, q=preparing_asset.id) == [preparing_asset.upload.id]


def test_support_staff_cannot_cancel_uploads(support_client, environment, run_action):
    upload = upload_for(environment)

    assertNotContains(support_client.get(changelist_url(Upload)), 'value="cancel"')
    run_action(support_client, Upload, "cancel", [upload])

    upload.refresh_from_db()
    assert upload.status == Upload.Status.WAITING
