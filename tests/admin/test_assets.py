from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from foundation.admin import change_url, changelist_url
from foundation.models import AuditEntry
from media_core.models import Asset, PlaybackID, ProcessingJob
from media_core.processing.pipeline import run_job
from media_core.services.processing import job_claim
from tests.clips import random_bytes
from tests.factories import asset_from_file
from webhooks.models import Event

from .conftest import delete_url, form_data

pytestmark = pytest.mark.django_db


def test_retrying_an_errored_asset_runs_a_new_job_as_the_admin_user(
        admin_client, admin_user, errored_asset, run_action):
    response = run_action(admin_client, Asset, "retry_processing", [errored_asset])

    assertContains(response, "Retrying 1 asset.")
    entry = AuditEntry.objects.get(object_id=errored_asset.id, action="asset.retried")
    assert (entry.actor_type, entry.actor_id, entry.actor_label) == (
        "user", str(admin_user.pk), admin_user.username)
    assert entry.request_id
    failed, new = errored_asset.jobs.order_by("id")
    assert (failed.status, new.status) == (ProcessingJob.Status.FAILED, ProcessingJob.Status.QUEUED)
    # A worker takes the new job, and this time the clip processes.
    run_job(new.id)
    errored_asset.refresh_from_db()
    assert errored_asset.status == Asset.Status.READY


def test_a_refused_file_cannot_be_retried_and_the_admin_says_why(admin_client, refused_asset,
                                                                   run_action):
    response = run_action(admin_client, Asset, "retry_processing", [refused_asset])

    assertContains(response, "upload it again")
    refused_asset.refresh_from_db()
    assert refused_asset.status == Asset.Status.ERRORED
    assert refused_asset.jobs.count() == 1

def test_it_explains_that_only_errored_assets_can_be_retried(admin_client, ready_asset,
                                                             run_action):
    response = run_action(admin_client, Asset, "retry_processing", [ready_asset])

    assertContains(response, f"Asset {ready_asset.id}: Only errored assets can be retried; "
                             "this one is ready.")
    assertNotContains(response, "Retrying")
    assert ready_asset.jobs.count() == 1


def test_the_asset_page_offers_a_retry_button_for_an_errored_asset(admin_client, errored_asset):
    page = admin_client.get(change_url(errored_asset))
    assertContains(page, 'name="_retry"')

    data = form_data(page, "asset_form")
    data["_retry"] = "Retry processing"
    response = admin_client.post(change_url(errored_asset), data, follow=True)

    assertContains(response, "Retrying 1 asset.")
    errored_asset.refresh_from_db()
    assert errored_asset.status == Asset.Status.PREPARING
    assert errored_asset.jobs.filter(status=ProcessingJob.Status.QUEUED).count() == 1


def test_editing_the_title_goes_through_the_service_and_leaves_status_alone(
        admin_client, admin_user, errored_asset):
    page = admin_client.get(change_url(errored_asset))
    data = form_data(page, "asset_form")
    data.update(title="Renamed", passthrough="cms-42", status="ready", duration="99")

    response = admin_client.post(change_url(errored_asset), data, follow=True)

    assert response.status_code == 200
    errored_asset.refresh_from_db()
    assert (errored_asset.title, errored_asset.passthrough) == ("Renamed", "cms-42")
    assert errored_asset.status == Asset.Status.ERRORED
    assert errored_asset.duration != 99
    entry = AuditEntry.objects.get(object_id=errored_asset.id, action="asset.updated")
    assert entry.actor_id == str(admin_user.pk)
    assert entry.changes == {"title": ["Noise", "Renamed"], "passthrough": ["", "cms-42"]}
    assert Event.objects.filter(object_id=errored_asset.id, type="video.asset.updated").exists()


def test_deleting_asks_first_then_deletes_through_the_service(admin_client, admin_user,
                                                              ready_asset, run_action):
    playback_id = ready_asset.playback_ids.get()

    confirm = run_action(admin_client, Asset, "delete_with_media", [ready_asset])
    assertContains(confirm, "This cannot be undone.")
    ready_asset.refresh_from_db()
    assert ready_asset.deleted_at is None

    done = run_action(admin_client, Asset, "delete_with_media", [ready_asset], post="yes")

    assertContains(done, "Deleted 1 asset.")
    ready_asset.refresh_from_db()
    assert ready_asset.deleted_at is not None
    assert not PlaybackID.objects.filter(pk=playback_id.pk).exists()
    entry = AuditEntry.objects.get(object_id=ready_asset.id, action="asset.deleted")
    assert entry.actor_id == str(admin_user.pk)


def test_the_default_delete_is_not_offered(admin_client, ready_asset):
    assert admin_client.get(delete_url(ready_asset)).status_code == 403
    assertNotContains(admin_client.get(changelist_url(Asset)), 'value="delete_selected"')


def test_a_ready_asset_page_shows_playback_urls_and_the_poster(admin_client, ready_asset):
    playback_id = ready_asset.playback_ids.get().id

    page = admin_client.get(change_url(ready_asset))

    assertContains(page, f"/v/{playback_id}.m3u8")
    assertContains(page, f'<img src="/v/{playback_id}/thumbnail.jpg"')
    assertContains(page, "90p")
    assertContains(page, "100 %")
    assertContains(page, f"?object_id={ready_asset.id}")
    assertContains(page, f"?asset__id__exact={ready_asset.id}")
    assertContains(page, change_url(ready_asset.upload))
    poster = admin_client.get(f"/v/{playback_id}/thumbnail.jpg")
    assert (poster.status_code, poster["Content-Type"]) == (200, "image/jpeg")


def test_an_refused_asset_page_shows_its_error_and_no_poster(admin_client, refused_asset):
    page = admin_client.get(change_url(refused_asset))

    assertContains(page, "non_video")
    assertContains(page, refused_asset.error_messages[0])
    assertNotContains(page, "thumbnail.jpg")


def test_a_preparing_asset_shows_its_job_progress(admin_client, preparing_asset):
    job = preparing_asset.jobs.get()
    ProcessingJob.objects.filter(pk=job.pk).update(progress=0.42)

    assertContains(admin_client.get(changelist_url(Asset)), "42 %")
    assertContains(admin_client.get(change_url(preparing_asset)), '<progress max="100" value="42">')


def test_searching_by_a_playback_id_finds_its_asset(admin_client, ready_asset, preparing_asset):
    playback_id = ready_asset.playback_ids.get().id

    page = admin_client.get(changelist_url(Asset, q=playback_id))

    assert [a.id for a in page.context["cl"].result_list] == [ready_asset.id]


@pytest.mark.parametrize("related", ["upload", "job", "id"])
def test_searching_by_a_related_id_finds_the_asset(admin_client, ready_asset, preparing_asset,
                                                    related):
    term = {"upload": lambda a: a.upload.id, "job": lambda a: a.jobs.get().id,
            "id": lambda a: a.id}[related](ready_asset)

    page = admin_client.get(changelist_url(Asset, q=term))

    assert [a.id for a in page.context["cl"].result_list] == [ready_asset.id]


def _attention(client, value: str) -> list[str]:
    page = client.get(changelist_url(Asset, attention=value))
    assert page.status_code == 200
    return sorted(a.id for a in page.context["cl"].result_list)


def test_needs_attention_lists_errored_assets(admin_client, errored_asset, ready_asset):
    assert _attention(admin_client, "errored") == [errored_asset.id]


def test_needs_attention_lists_assets_preparing_for_over_half_an_hour(
        admin_client, environment, preparing_asset, tmp_path):
    fresh = asset_from_file(environment, random_bytes(tmp_path / "fresh.mp4"))
    # As if its job had been waiting since 31 minutes ago.
    preparing_asset.jobs.update(created_at=timezone.now() - timedelta(minutes=31))

    assert _attention(admin_client, "stuck") == [preparing_asset.id]
    assert fresh.id not in _attention(admin_client, "stuck")


def test_needs_attention_lists_assets_whose_worker_stopped(admin_client, environment,
                                                           preparing_asset, tmp_path):
    healthy = asset_from_file(environment, random_bytes(tmp_path / "healthy.mp4"))
    job_claim(job_id=healthy.jobs.get().id)
    job = job_claim(job_id=preparing_asset.jobs.get().id)
    # The worker stopped renewing its lease a minute ago.
    ProcessingJob.objects.filter(pk=job.pk).update(
        lease_expires_at=timezone.now() - timedelta(minutes=1))

    assert _attention(admin_client, "stuck") == [preparing_asset.id]


def test_support_staff_can_read_an_asset_but_not_retry_or_edit_it(
        support_client, errored_asset, run_action):
    page = support_client.get(change_url(errored_asset))
    assert page.status_code == 200
    assertNotContains(page, 'name="_retry"')
    assertNotContains(support_client.get(changelist_url(Asset)), "retry_processing")

    run_action(support_client, Asset, "retry_processing", [errored_asset])
    response = support_client.post(change_url(errored_asset), {"title": "Mine now"})

    assert response.status_code == 403
    errored_asset.refresh_from_db()
    assert (errored_asset.status, errored_asset.title) == (Asset.Status.ERRORED, "Noise")
    assert errored_asset.jobs.count() == 1


def test_a_signed_in_non_staff_user_is_sent_to_the_login_page(outsider_client, ready_asset):
    response = outsider_client.get(change_url(ready_asset))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
