"""Status fields are state machines: an illegal move raises, changes nothing, and is a 409."""

from __future__ import annotations

import pytest
from django.db.models import Q
from django.utils import timezone

from foundation.errors import InvalidTransition
from foundation.models import AuditEntry
from foundation.statemachine import fenced_transition, transition
from media_core.models import Asset, ProcessingJob, Upload
from media_core.processing.pipeline import run_job
from media_core.services.uploads import upload_cancel, upload_claim_writer
from tests.clips import make_clip, random_bytes
from tests.conftest import ADMIN
from tests.factories import asset_from_file, failed_asset, upload_for
from webhooks.models import Event

from .conftest import assert_problem, create_upload

pytestmark = pytest.mark.django_db


def test_a_ready_asset_cannot_go_back_to_preparing(ready_asset):
    asset = Asset.objects.get(pk=ready_asset["id"])
    before = Asset.objects.filter(pk=asset.pk).values().get()

    with pytest.raises(InvalidTransition) as raised:
        transition(asset, Asset.TRANSITIONS, Asset.Status.PREPARING)

    assert raised.value.code == "invalid_state"
    assert raised.value.status == 409
    assert asset.status == Asset.Status.READY
    assert Asset.objects.filter(pk=asset.pk).values().get() == before


def test_a_preparing_asset_cannot_skip_to_preparing_again(environment, tmp_path):
    asset = asset_from_file(environment, random_bytes(tmp_path / "a.mp4", 100))

    with pytest.raises(InvalidTransition):
        transition(asset, Asset.TRANSITIONS, Asset.Status.PREPARING)


def test_retrying_a_ready_asset_is_a_409_problem(owner, ready_asset):
    response = owner.post(f"/api/v1/assets/{ready_asset['id']}/retry")

    body = assert_problem(response, 409, "invalid_state")
    assert "ready" in body["detail"]
    asset = Asset.objects.get(pk=ready_asset["id"])
    assert asset.status == Asset.Status.READY
    assert asset.jobs.count() == 1
    assert not AuditEntry.objects.filter(object_id=asset.id, action="asset.retried").exists()


def test_retrying_a_preparing_asset_is_a_409_problem(owner, environment, tmp_path):
    asset = asset_from_file(environment, random_bytes(tmp_path / "a.mp4", 100))

    assert_problem(owner.post(f"/api/v1/assets/{asset.id}/retry"), 409, "invalid_state")
    assert asset.jobs.count() == 1


def test_an_errored_asset_can_be_retried(owner, environment, tmp_path):
    asset = failed_asset(environment, make_clip(tmp_path / "a.mp4"))

    response = owner.post(f"/api/v1/assets/{asset.id}/retry", HTTP_X_REQUEST_ID="retry-1")

    assert response.status_code == 202, response.content
    assert response.json()["id"] == asset.id and response.json()["status"] == "preparing"
    assert asset.jobs.count() == 2
    retried = AuditEntry.objects.get(object_id=asset.id, action="asset.retried")
    assert retried.changes == {"status": ["errored", "preparing"]}
    assert retried.request_id == "retry-1"
    run_job(asset.jobs.latest("id").id)
    assert owner.get(f"/api/v1/assets/{asset.id}").json()["status"] == "ready"


def test_a_refused_file_cannot_be_retried(owner, environment, tmp_path, sync_tasks):
    asset = asset_from_file(environment, random_bytes(tmp_path / "a.mp4", 2000))
    assert asset.status == Asset.Status.ERRORED

    response = owner.post(f"/api/v1/assets/{asset.id}/retry")

    assert response.status_code == 409
    assert response.json()["code"] == "original_discarded"

def test_cancelling_an_upload_twice_is_a_409_the_second_time(owner):
    upload = create_upload(owner)

    first = owner.put(f"/api/v1/uploads/{upload['id']}/cancel")
    second = owner.put(f"/api/v1/uploads/{upload['id']}/cancel")

    assert first.status_code == 200
    assert first.json()["status"] == "cancelled"
    assert first.json()["url"] is None
    body = assert_problem(second, 409, "invalid_state")
    assert "cancelled" in body["detail"]
    assert Event.objects.filter(object_id=upload["id"], type="video.upload.cancelled").count() == 1


def test_an_upload_that_made_its_asset_cannot_be_cancelled(owner, upload_clip, sync_tasks):
    upload, asset_id = upload_clip(owner)

    response = owner.put(f"/api/v1/uploads/{upload['id']}/cancel")

    assert_problem(response, 409, "invalid_state")
    shown = owner.get(f"/api/v1/uploads/{upload['id']}").json()
    assert (shown["status"], shown["asset_id"]) == ("asset_created", asset_id)


def test_a_stale_copy_loses_the_compare_and_swap(environment):
    upload = upload_for(environment)
    mine = Upload.objects.get(pk=upload.pk)
    stale = Upload.objects.get(pk=upload.pk)

    upload_cancel(upload=mine, actor=ADMIN)

    assert stale.status == Upload.Status.WAITING
    with pytest.raises(InvalidTransition) as raised:
        transition(stale, Upload.TRANSITIONS, Upload.Status.TIMED_OUT)
    assert "changed meanwhile" in raised.value.detail
    assert stale.status == Upload.Status.WAITING
    assert Upload.objects.get(pk=upload.pk).status == Upload.Status.CANCELLED


def test_a_stale_cancel_through_the_service_leaves_no_trace(environment):
    upload = upload_for(environment)
    stale = Upload.objects.get(pk=upload.pk)
    upload_cancel(upload=Upload.objects.get(pk=upload.pk), actor=ADMIN)

    with pytest.raises(InvalidTransition):
        upload_cancel(upload=stale, actor=ADMIN)

    assert AuditEntry.objects.filter(object_id=upload.id, action="upload.cancelled").count() == 1
    assert Event.objects.filter(object_id=upload.id, type="video.upload.cancelled").count() == 1


def test_a_transition_records_extra_fields_with_the_state(environment):
    upload = upload_for(environment)

    before = transition(upload, Upload.TRANSITIONS, Upload.Status.ERRORED,
                        extra={"error_type": "too_slow"})

    assert before == Upload.Status.WAITING
    fresh = Upload.objects.get(pk=upload.pk)
    assert (fresh.status, fresh.error_type) == (Upload.Status.ERRORED, "too_slow")


def test_no_state_leaves_a_final_upload_state(environment):
    for final in (Upload.Status.ASSET_CREATED, Upload.Status.ERRORED, Upload.Status.CANCELLED,
                  Upload.Status.TIMED_OUT):
        for target in Upload.Status.values:
            assert not Upload.TRANSITIONS.allowed(final, target), (final, target)


def test_a_fence_that_no_longer_holds_refuses_the_transition_and_changes_nothing(environment):
    upload = upload_for(environment)
    assert upload_claim_writer(upload_id=upload.id, offset=0)
    before = Upload.objects.filter(pk=upload.pk).values().get()

    with pytest.raises(InvalidTransition, match="changed meanwhile"):
        transition(upload, Upload.TRANSITIONS, Upload.Status.TIMED_OUT,
                   fence=Q(writer_token="") | Q(writer_expires_at__lt=timezone.now()))

    assert upload.status == Upload.Status.WAITING
    assert Upload.objects.filter(pk=upload.pk).values().get() == before


def test_a_superseded_worker_changes_nothing_and_is_told_so(environment, tmp_path):
    asset = asset_from_file(environment, random_bytes(tmp_path / "a.mp4", 100))
    job = ProcessingJob.objects.create(asset=asset, status=ProcessingJob.Status.RUNNING,
                                       attempts=2)
    superseded = ProcessingJob.objects.get(pk=job.pk)
    superseded.attempts = 1

    assert not fenced_transition(superseded, ProcessingJob.TRANSITIONS,
                                 ProcessingJob.Status.RUNNING, ProcessingJob.Status.SUCCEEDED,
                                 fence={"attempts": superseded.attempts})
    assert ProcessingJob.objects.get(pk=job.pk).status == ProcessingJob.Status.RUNNING
    assert fenced_transition(job, ProcessingJob.TRANSITIONS, ProcessingJob.Status.RUNNING,
                             ProcessingJob.Status.SUCCEEDED, fence={"attempts": 2})
    assert ProcessingJob.objects.get(pk=job.pk).status == ProcessingJob.Status.SUCCEEDED


def test_a_worker_cannot_make_a_move_the_table_forbids(environment, tmp_path):
    asset = asset_from_file(environment, random_bytes(tmp_path / "a.mp4", 100))
    job = ProcessingJob.objects.create(asset=asset, status=ProcessingJob.Status.SUCCEEDED,
                                       attempts=1)

    with pytest.raises(InvalidTransition):
        fenced_transition(job, ProcessingJob.TRANSITIONS, ProcessingJob.Status.SUCCEEDED,
                          ProcessingJob.Status.RUNNING, fence={"attempts": 1})
    assert ProcessingJob.objects.get(pk=job.pk).status == ProcessingJob.Status.SUCCEEDED
