"""Idempotency-Key on POST: the first response again, 422 for another body, 409 in flight."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from foundation.api import idempotency
from foundation.api.idempotency import fingerprint
from foundation.models import AuditEntry, IdempotencyRecord
from media_core.api import views
from media_core.models import PlaybackID, Upload
from media_core.services import uploads
from tests.clips import random_bytes
from tests.factories import asset_from_file
from webhooks.models import Event

from .conftest import assert_problem

pytestmark = pytest.mark.django_db

BODY = {"new_asset_settings": {"title": "Launch", "playback_policy": ["public"]}}


def post_upload(client, key: str, body: dict = BODY, **extra):
    return client.post("/api/v1/uploads", body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def test_the_same_key_and_body_replay_the_first_response(owner):
    first = post_upload(owner, "order-1")
    again = post_upload(owner, "order-1")

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Upload.objects.count() == 1


def test_a_replay_creates_no_audit_entry_or_event(owner):
    upload_id = post_upload(owner, "order-1").json()["id"]
    post_upload(owner, "order-1")
    post_upload(owner, "order-1")

    assert AuditEntry.objects.filter(object_id=upload_id).count() == 1
    assert Event.objects.filter(object_id=upload_id).count() == 1


def test_the_same_json_written_differently_is_the_same_body(owner):
    first = post_upload(owner, "order-1")
    reordered = owner.generic(
        "POST", "/api/v1/uploads",
        '{ "new_asset_settings": {"playback_policy": ["public"],   "title": "Launch"} }',
        content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-1")

    assert reordered.status_code == 201
    assert reordered.json() == first.json()
    assert Upload.objects.count() == 1


def test_the_same_key_with_a_different_body_is_a_422_problem(owner):
    post_upload(owner, "order-1")

    response = post_upload(owner, "order-1", {"new_asset_settings": {"title": "Other"}})

    assert_problem(response, 422, "idempotency_key_reused")
    assert Upload.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_a_422_problem(owner, environment, tmp_path):
    asset = asset_from_file(environment, random_bytes(tmp_path / "a.mp4", 100))
    post_upload(owner, "order-1")

    response = owner.post(f"/api/v1/assets/{asset.id}/playback-ids", {"policy": "public"},
                          format="json", HTTP_IDEMPOTENCY_KEY="order-1")

    assert_problem(response, 422, "idempotency_key_reused")
    assert asset.playback_ids.count() == 1


def test_a_key_of_another_environment_is_independent(owner, outsider, environment,
                                                     other_environment):
    mine = post_upload(owner, "order-1")
    theirs = post_upload(outsider, "order-1")

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert theirs.json()["id"] != mine.json()["id"]
    assert Upload.objects.get(pk=theirs.json()["id"]).environment == other_environment
    assert Upload.objects.get(pk=mine.json()["id"]).environment == environment


def test_another_environment_with_the_same_key_and_a_different_body_is_not_refused(owner,
                                                                                  outsider):
    post_upload(owner, "order-1")

    response = post_upload(outsider, "order-1", {"new_asset_settings": {"title": "Other"}})

    assert response.status_code == 201


def test_a_request_while_the_first_is_in_flight_is_a_409_problem(owner, environment):
    raw = json.dumps(BODY).encode()
    IdempotencyRecord.objects.create(
        scope=environment.id, key="order-1",
        fingerprint=fingerprint("POST", "/api/v1/uploads", raw, "application/json"))

    response = post_upload(owner, "order-1")

    assert_problem(response, 409, "idempotency_key_in_use")
    assert Upload.objects.count() == 0


def test_a_claim_abandoned_by_a_crashed_request_can_be_taken_again(owner, environment):
    raw = json.dumps(BODY).encode()
    record = IdempotencyRecord.objects.create(
        scope=environment.id, key="order-1",
        fingerprint=fingerprint("POST", "/api/v1/uploads", raw, "application/json"))
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - timedelta(minutes=10))

    response = post_upload(owner, "order-1")

    assert response.status_code == 201
    assert Upload.objects.count() == 1


def test_a_key_older_than_24_hours_is_not_replayed(owner):
    first = post_upload(owner, "order-1")
    IdempotencyRecord.objects.filter(key="order-1").update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1))

    second = post_upload(owner, "order-1")

    assert second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert second.json()["id"] != first.json()["id"]
    assert Upload.objects.count() == 2
    assert post_upload(owner, "order-1").json()["id"] == second.json()["id"]


def test_a_key_just_under_24_hours_old_is_still_replayed(owner):
    first = post_upload(owner, "order-1")
    IdempotencyRecord.objects.filter(key="order-1").update(
        created_at=timezone.now() - timedelta(hours=23, minutes=59))

    second = post_upload(owner, "order-1")

    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()


def test_an_error_response_is_replayed_with_the_same_body(owner):
    bad = {"new_asset_settings": {"playback_policy": ["bogus"]}}
    first = post_upload(owner, "order-1", bad)
    again = post_upload(owner, "order-1", bad)

    first_body = assert_problem(first, 400, "invalid_request")
    again_body = assert_problem(again, 400, "invalid_request")
    assert again_body == first_body
    assert again["Idempotent-Replayed"] == "true"
    assert Upload.objects.count() == 0


def test_a_404_is_replayed_as_a_problem(owner):
    path = "/api/v1/assets/ast_00000000000000000000000000/playback-ids"
    first = owner.post(path, {"policy": "public"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    again = owner.post(path, {"policy": "public"}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert assert_problem(again, 404) == assert_problem(first, 404)
    assert again["Idempotent-Replayed"] == "true"


def test_a_500_is_not_kept_so_the_key_can_be_used_again(owner, monkeypatch):
    real = uploads.upload_create

    def flaky(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(uploads, "upload_create", flaky)
    assert_problem(post_upload(owner, "order-1"), 500, "internal_error")
    monkeypatch.setattr(uploads, "upload_create", real)

    response = post_upload(owner, "order-1")

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Upload.objects.count() == 1


def test_a_failed_request_leaves_nothing_behind(owner, monkeypatch):
    """The view's writes and the stored response commit together, or not at all."""
    def explode(*args, **kwargs):
        raise RuntimeError("serializer broke after the upload was written")

    monkeypatch.setattr(views.UploadSerializer, "to_representation", explode)

    assert_problem(post_upload(owner, "order-1"), 500)
    assert Upload.objects.count() == 0
    assert not IdempotencyRecord.objects.filter(key="order-1").exists()


def test_a_playback_id_post_with_a_key_replays_the_same_playback_id(owner, environment, tmp_path):
    asset = asset_from_file(environment, random_bytes(tmp_path / "a.mp4", 100))
    path = f"/api/v1/assets/{asset.id}/playback-ids"

    first = owner.post(path, {"policy": "signed"}, format="json", HTTP_IDEMPOTENCY_KEY="pbk-1")
    again = owner.post(path, {"policy": "signed"}, format="json", HTTP_IDEMPOTENCY_KEY="pbk-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert first.json()["id"].startswith("pbk_")
    assert again["Idempotent-Replayed"] == "true"
    assert PlaybackID.objects.filter(asset=asset, policy="signed").count() == 1


def test_posts_without_a_key_are_not_deduplicated(owner):
    owner.post("/api/v1/uploads", BODY, format="json")
    owner.post("/api/v1/uploads", BODY, format="json")

    assert Upload.objects.count() == 2


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\tkey"])
def test_an_unusable_key_is_a_400_problem(owner, key):
    response = post_upload(owner, key)

    assert_problem(response, 400, "invalid_idempotency_key")
    assert Upload.objects.count() == 0


def test_a_refused_request_does_not_claim_the_key(client_with_scopes, owner):
    refused = post_upload(client_with_scopes("assets:read"), "order-1")

    assert_problem(refused, 403)
    assert post_upload(owner, "order-1").status_code == 201


@pytest.mark.parametrize("handler_seconds", [0.0, 0.5])
def test_two_concurrent_posts_with_one_key_create_one_object(live_server, environment,
                                                             make_key, monkeypatch,
                                                             handler_seconds):
    """Two real requests on two connections claim the key at the same moment."""
    _, secret = make_key(environment)
    together = threading.Barrier(2, timeout=10)
    real_claim, real_create = idempotency.claim, uploads.upload_create

    def claim_together(**kwargs):
        together.wait()
        return real_claim(**kwargs)

    def slow_create(**kwargs):
        time.sleep(handler_seconds)  # the winner is still running when the other asks
        return real_create(**kwargs)

    monkeypatch.setattr(idempotency, "claim", claim_together)
    monkeypatch.setattr(uploads, "upload_create", slow_create)
    responses: list[requests.Response] = []

    def post():
        responses.append(requests.post(
            f"{live_server.url}/api/v1/uploads", json=BODY, timeout=60,
            headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "order-1"}))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(r.status_code for r in responses)
    assert statuses in ([201, 201], [201, 409]), [r.text[:300] for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in created) == 1
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.json()["code"] == "idempotency_key_in_use"
    assert Upload.objects.count() == 1
    assert IdempotencyRecord.objects.get(key="order-1").state == "completed"


def test_a_post_arriving_while_the_first_is_running_gets_409_at_once(live_server, environment,
                                                                     make_key, monkeypatch):
    """The first request holds its transaction open; the second is told, not kept waiting."""
    _, secret = make_key(environment)
    running, second_answered = threading.Event(), threading.Event()
    real_create = uploads.upload_create

    def slow_create(**kwargs):
        running.set()
        second_answered.wait(timeout=3)
        return real_create(**kwargs)

    monkeypatch.setattr(uploads, "upload_create", slow_create)
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "order-1"}
    url = f"{live_server.url}/api/v1/uploads"
    first: list[requests.Response] = []
    thread = threading.Thread(
        target=lambda: first.append(requests.post(url, json=BODY, headers=headers, timeout=60)))
    thread.start()
    assert running.wait(timeout=10)

    started = time.monotonic()
    second = requests.post(url, json=BODY, headers=headers, timeout=60)
    waited = time.monotonic() - started
    second_answered.set()
    thread.join(timeout=60)

    assert second.status_code == 409, second.text[:300]
    assert second.json()["code"] == "idempotency_key_in_use"
    assert waited < 2
    assert first[0].status_code == 201
    assert Upload.objects.count() == 1
