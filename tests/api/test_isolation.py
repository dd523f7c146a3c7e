"""A key never sees, lists, changes or plays anything of another environment: 404, not 403."""

from __future__ import annotations

import pytest

from media_core.models import Asset, PlaybackID, Upload
from tests.clips import random_bytes
from tests.factories import asset_from_file, upload_for
from webhooks.models import Event

from .conftest import assert_problem, create_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def asset(environment, tmp_path) -> Asset:
    """A preparing asset of the owner's environment, with a public playback ID."""
    return asset_from_file(environment, random_bytes(tmp_path / "in.mp4", 1000), title="Mine")


@pytest.fixture
def playback_id(asset) -> PlaybackID:
    return asset.playback_ids.get()


def test_a_key_of_another_environment_gets_404_for_the_asset(outsider, asset):
    response = outsider.get(f"/api/v1/assets/{asset.id}")

    body = assert_problem(response, 404, "not_found")
    assert "Mine" not in response.content.decode()
    assert body["status"] == 404


def test_a_key_of_another_environment_cannot_rename_the_asset(outsider, asset):
    response = outsider.patch(f"/api/v1/assets/{asset.id}", {"title": "Theirs"}, format="json")

    assert_problem(response, 404, "not_found")
    asset.refresh_from_db()
    assert asset.title == "Mine"


def test_a_key_of_another_environment_cannot_delete_the_asset(outsider, owner, asset):
    response = outsider.delete(f"/api/v1/assets/{asset.id}")

    assert_problem(response, 404, "not_found")
    asset.refresh_from_db()
    assert asset.deleted_at is None
    assert owner.get(f"/api/v1/assets/{asset.id}").status_code == 200


def test_a_key_of_another_environment_cannot_retry_the_asset(outsider, asset):
    Asset.objects.filter(pk=asset.pk).update(status=Asset.Status.ERRORED)

    response = outsider.post(f"/api/v1/assets/{asset.id}/retry")

    assert_problem(response, 404, "not_found")
    asset.refresh_from_db()
    assert asset.status == Asset.Status.ERRORED
    assert asset.jobs.count() == 1


def test_a_key_of_another_environment_cannot_add_a_playback_id(outsider, asset):
    response = outsider.post(f"/api/v1/assets/{asset.id}/playback-ids", {"policy": "public"},
                             format="json")

    assert_problem(response, 404, "not_found")
    assert asset.playback_ids.count() == 1


def test_a_key_of_another_environment_cannot_see_or_remove_a_playback_id(outsider, asset,
                                                                         playback_id):
    url = f"/api/v1/assets/{asset.id}/playback-ids/{playback_id.id}"

    assert_problem(outsider.get(url), 404, "not_found")
    assert_problem(outsider.delete(url), 404, "not_found")
    assert PlaybackID.objects.filter(pk=playback_id.pk).exists()


def test_a_playback_id_is_found_only_under_its_own_asset(owner, environment, tmp_path, asset,
                                                         playback_id):
    other = asset_from_file(environment, random_bytes(tmp_path / "b.mp4", 1000))

    response = owner.delete(f"/api/v1/assets/{other.id}/playback-ids/{playback_id.id}")

    assert_problem(response, 404, "not_found")
    assert PlaybackID.objects.filter(pk=playback_id.pk).exists()


def test_the_owner_sees_and_lists_its_asset(owner, asset, playback_id):
    detail = owner.get(f"/api/v1/assets/{asset.id}")
    listed = owner.get("/api/v1/assets").json()["data"]

    assert detail.status_code == 200
    assert detail.json()["playback_ids"] == [{"id": playback_id.id, "policy": "public"}]
    assert [a["id"] for a in listed] == [asset.id]


def test_another_environment_never_lists_the_asset(outsider, asset):
    assert outsider.get("/api/v1/assets").json() == {"data": [], "next_cursor": None}


def test_another_environment_never_lists_the_upload(owner, outsider, environment):
    upload = upload_for(environment)

    assert outsider.get("/api/v1/uploads").json() == {"data": [], "next_cursor": None}
    assert [u["id"] for u in owner.get("/api/v1/uploads").json()["data"]] == [upload.id]


def test_a_key_of_another_environment_gets_404_for_the_upload(outsider, owner):
    upload = create_upload(owner)

    assert_problem(outsider.get(f"/api/v1/uploads/{upload['id']}"), 404, "not_found")
    assert owner.get(f"/api/v1/uploads/{upload['id']}").status_code == 200


def test_a_key_of_another_environment_cannot_cancel_the_upload(outsider, owner):
    upload = create_upload(owner)

    response = outsider.put(f"/api/v1/uploads/{upload['id']}/cancel")

    assert_problem(response, 404, "not_found")
    assert Upload.objects.get(pk=upload["id"]).status == Upload.Status.WAITING


def test_another_environment_never_lists_the_events(owner, outsider, asset):
    create_upload(owner)
    owned = owner.get("/api/v1/events?limit=100").json()["data"]

    assert {e["type"] for e in owned} >= {"video.upload.created", "video.asset.created"}
    assert outsider.get("/api/v1/events").json() == {"data": [], "next_cursor": None}
    assert outsider.get("/api/v1/events?type=video.asset.created").json()["data"] == []


def test_a_key_of_another_environment_gets_404_for_an_event(owner, outsider, asset):
    event = Event.objects.filter(object_id=asset.id).first()

    assert_problem(outsider.get(f"/api/v1/events/{event.id}"), 404, "not_found")
    assert owner.get(f"/api/v1/events/{event.id}").json()["id"] == event.id


def test_an_outsiders_after_cursor_reveals_nothing_of_the_owner(outsider, asset):
    event = Event.objects.filter(object_id=asset.id).first()

    response = outsider.get(f"/api/v1/events?after={event.id}")

    assert response.json() == {"data": [], "next_cursor": None}


def test_what_an_outsider_creates_belongs_to_its_own_environment(outsider, owner,
                                                                 other_environment):
    upload = create_upload(outsider)

    assert Upload.objects.get(pk=upload["id"]).environment == other_environment
    assert_problem(owner.get(f"/api/v1/uploads/{upload['id']}"), 404, "not_found")
