from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from foundation.admin import change_url, changelist_url
from foundation.models import AuditEntry
from media_core.models import Asset, PlaybackID, ProcessingJob
from media_core.processing.pipeline import run_job
from media_core.services.processing import job_claim, job_heartbeat
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

def test_a_refused_asset_page_offers_no_retry_button_and_says_why(admin_client, refused_asset):
    page = admin_client.get(change_url(refused_asset))

    assertNotContains(page, 'name="_retry"')
    assertContains(page, "<strong>Processing cannot be retried:</strong> The original file was "
                         "refused and is gone; upload it again.", html=True)


def test_an_errored_asset_whose_original_is_kept_is_not_told_it_cannot_be_retried(
        admin_client, errored_asset):
    page = admin_client.get(change_url(errored_asset))

    assertContains(page, 'name="_retry"')
    assertNotContains(page, "cannot be retried")


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


class _JobFacts(HTMLParser):
    """The text of every element the page's progress script rewrites for a job."""

    def __init__(self, job_id: str):
        super().__init__()
        self.job_id, self.facts, self._open = job_id, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("data-job") == self.job_id:
            self._open.append([tag, attrs["data-job-field"], "", 0])
        elif self._open and tag == self._open[-1][0]:
            self._open[-1][3] += 1

    def handle_data(self, data):
        for fact in self._open:
            fact[2] += data

    def handle_endtag(self, tag):
        if self._open and tag == self._open[-1][0]:
            if self._open[-1][3]:
                self._open[-1][3] -= 1
            else:
                _, field, text, _ = self._open.pop()
                self.facts.append((field, " ".join(text.split())))


def job_facts(page, job_id: str) -> list[tuple[str, str]]:
    reader = _JobFacts(job_id)
    reader.feed(page.content.decode())
    return sorted(reader.facts)


def test_the_progress_line_and_the_jobs_table_show_the_same_job_and_follow_it_together(
        admin_client, preparing_asset):
    job = job_claim(job_id=preparing_asset.jobs.get().id)
    job_heartbeat(job=job, progress=0.98, stage="encoding")

    page = admin_client.get(change_url(preparing_asset))

    # The line (progress bar, status with stage, attempts) and the table's row (status,
    # attempts, progress, stage): both marked for the script, which rewrites them all.
    assert job_facts(page, job.id) == [
        ("attempts", "1/3"), ("attempts", "1/3"), ("progress", "98 %"), ("progress", "98 %"),
        ("stage", "encoding"), ("status", "running"), ("status", "running (encoding)")]
    progress = admin_client.get(change_url(preparing_asset).replace("/change/", "/progress/"))
    assert progress.json()["job_id"] == job.id
    assert (progress.json()["job_status"], progress.json()["progress"]) == ("running", 0.98)


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
