"""The upload page: who may use it, what it asks the services for, and the JSON it serves
to the page's scripts. The browser side (tus-js-client, resuming) is in tests/e2e."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from foundation.admin import change_url, changelist_url
from foundation.models import AuditEntry, Environment
from media_core.models import Asset, PlaybackID, ProcessingJob, Upload
from tests.clips import random_bytes

pytestmark = pytest.mark.django_db

UPLOAD_PAGE = "/admin/media_core/asset/upload/"


def _progress_url(asset) -> str:
    return change_url(asset).replace("/change/", "/progress/")


def _ask_for_upload(client, in_environment, **fields):
    data = {"environment": in_environment.id, "title": "Sunrise", "playback_policy": ["public"],
            "max_duration_seconds": "", **fields}
    return client.post(UPLOAD_PAGE, data, HTTP_ORIGIN="http://testserver",
                       HTTP_ACCEPT="application/json")


def test_the_upload_page_lives_under_the_asset_admin():
    assert reverse("admin:media_core_asset_upload") == UPLOAD_PAGE


def test_the_asset_list_offers_admins_an_upload_button(admin_client):
    page = admin_client.get(changelist_url(Asset))

    assertContains(page, f'<a href="{UPLOAD_PAGE}" class="addlink">Upload video</a>', html=True)


def test_the_upload_page_asks_for_environment_title_policy_and_file(
        admin_client, environment, other_environment, settings):
    settings.ADMIN_UPLOAD_CHUNK_BYTES = 5 * 1024 * 1024
    page = admin_client.get(UPLOAD_PAGE)

    assert page.status_code == 200
    assertContains(page, "Upload a video")
    assertContains(page, f'<option value="{environment.id}">production</option>', html=True)
    assertContains(page, f'<option value="{other_environment.id}">staging</option>', html=True)
    assertContains(page, '<input type="checkbox" name="playback_policy" value="public" '
                         'id="id_playback_policy_0" checked>', html=True)
    assertContains(page, '<input type="checkbox" name="playback_policy" value="signed" '
                         'id="id_playback_policy_1">', html=True)
    assertContains(page, 'name="max_duration_seconds"')
    assertContains(page, 'type="file" id="id_file"')
    assertContains(page, 'data-chunk-size="5242880"')
    assertContains(page, "/static/vendor/tus-js-client/tus.min.js")
    assertContains(page, "/static/admin/kino/upload.js")


def test_with_one_environment_the_page_chooses_it(admin_client, environment):
    page = admin_client.get(UPLOAD_PAGE)

    assertContains(page, f'<option value="{environment.id}" selected>production</option>',
                   html=True)


def test_asking_for_an_upload_url_creates_the_upload_as_the_admin_user(
        admin_client, admin_user, environment, settings):
    response = _ask_for_upload(admin_client, environment, title="Sunrise",
                               playback_policy=["public", "signed"], max_duration_seconds="120")

    assert response.status_code == 201, response.content
    body = response.json()
    upload = Upload.objects.get(pk=body["upload_id"])
    assert body["url"].startswith(f"{settings.PUBLIC_BASE_URL}/upload/{upload.id}/")
    assert body["status_url"] == f"{UPLOAD_PAGE}{upload.id}/status/"
    assert upload.environment == environment
    assert upload.status == Upload.Status.WAITING
    assert upload.new_asset_settings == {"title": "Sunrise", "playback_policy": ["public", "signed"],
                                         "max_duration_seconds": 120.0}
    # The page may sit on another host than the upload URL: it must be let in.
    assert upload.cors_origin == "http://testserver"
    entry = AuditEntry.objects.get(object_id=upload.id, action="upload.created")
    assert (entry.actor_type, entry.actor_id, entry.actor_label) == (
        "user", str(admin_user.pk), admin_user.username)


def test_the_status_endpoint_names_the_asset_once_the_file_arrived(
        admin_client, environment, tmp_path):
    body = _ask_for_upload(admin_client, environment, max_duration_seconds="").json()
    status_before = admin_client.get(body["status_url"]).json()

    sent = admin_client.put(urlsplit(body["url"]).path, random_bytes(tmp_path / "a.mp4").read_bytes(),
                            content_type="application/octet-stream")
    assert sent.status_code == 200, sent.content
    status_after = admin_client.get(body["status_url"]).json()

    assert (status_before["status"], status_before["asset_id"]) == ("waiting", None)
    asset = Asset.objects.get(pk=status_after["asset_id"])
    assert status_after["status"] == "asset_created"
    assert status_after["asset_url"] == change_url(asset)
    assert asset.title == "Sunrise" and asset.max_duration is None
    assert list(asset.playback_ids.values_list("policy", flat=True)) == [PlaybackID.Policy.PUBLIC]


def test_invalid_settings_are_answered_field_by_field_and_create_nothing(admin_client, environment):
    response = _ask_for_upload(admin_client, environment, environment="env_nope",
                               max_duration_seconds="0", playback_policy=["public", "secret"])

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"environment", "max_duration_seconds", "playback_policy"}
    assert not Upload.objects.exists()


def test_a_limit_above_the_environments_is_answered_on_its_field(admin_client, environment):
    Environment.objects.filter(pk=environment.pk).update(max_duration_seconds=600)

    response = _ask_for_upload(admin_client, environment, max_duration_seconds="601")

    assert response.status_code == 400
    assert response.json()["errors"] == {"max_duration_seconds": [
        "Ensure this value is at most 600 (seconds), the longest video the environment "
        "production accepts."]}
    assert not Upload.objects.exists()


def test_staff_without_change_permission_may_not_upload_but_may_watch_progress(
        support_client, environment, preparing_asset):
    uploads = Upload.objects.count()

    assert support_client.get(UPLOAD_PAGE).status_code == 403
    assert _ask_for_upload(support_client, environment).status_code == 403
    assertNotContains(support_client.get(changelist_url(Asset)), "Upload video")
    assert Upload.objects.count() == uploads
    progress = support_client.get(_progress_url(preparing_asset))
    assert progress.status_code == 200


def test_the_progress_endpoint_reports_the_latest_job_of_a_preparing_asset(
        admin_client, preparing_asset):
    job = preparing_asset.jobs.get()
    ProcessingJob.objects.filter(pk=job.pk).update(progress=0.42, stage="encoding")

    response = admin_client.get(_progress_url(preparing_asset))

    assert response.status_code == 200
    assert response.json() == {"status": "preparing", "deleted": False, "job_id": job.id,
                               "progress": 0.42, "stage": "encoding", "job_status": "queued",
                               "attempts": 0, "max_attempts": job.max_attempts}


def test_the_asset_page_polls_for_progress_only_while_the_asset_prepares(
        admin_client, preparing_asset, ready_asset):
    preparing = admin_client.get(change_url(preparing_asset))
    ready = admin_client.get(change_url(ready_asset))

    assertContains(preparing, f'data-progress-url="{_progress_url(preparing_asset)}"')
    job = preparing_asset.jobs.get()
    assertContains(preparing, f'<span id="job-progress" data-job="{job.id}" data-job-field='
                              '"progress" data-bar><progress max="100" value="0"></progress> 0 %'
                              '</span>', html=True)
    assertNotContains(ready, "asset_progress.js")


@pytest.mark.parametrize("persona", ["anonymous", "signed-in non-staff"])
def test_the_json_endpoints_refuse_anyone_outside_the_console(
        persona, environment, preparing_asset, django_user_model):
    client = Client()
    if persona != "anonymous":
        client.force_login(django_user_model.objects.create_user("viewer", password="pw"))
    upload = preparing_asset.upload
    uploads = Upload.objects.count()

    answers = [
        _ask_for_upload(client, environment),
        client.get(reverse("admin:media_core_asset_upload_status", args=[upload.id])),
        client.get(_progress_url(preparing_asset)),
    ]

    for response in answers:
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert Upload.objects.count() == uploads


def test_an_upload_kept_as_a_draft_says_so_in_its_settings(admin_client, environment):
    response = _ask_for_upload(admin_client, environment, title="Rough cut", draft="on")

    assert response.status_code == 201, response.content
    upload = Upload.objects.get(pk=response.json()["upload_id"])
    assert upload.new_asset_settings["publish"] is False
