"""Assets: how they look, renaming, deleting with their media, playback IDs on and off."""

from __future__ import annotations

import re

import pytest

from foundation.models import AuditEntry
from media_core.models import Asset, PlaybackID
from media_core.storage import list_tree, media_storage
from tests.clips import random_bytes
from tests.factories import asset_from_file
from webhooks.models import Event

from .conftest import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def preparing_asset(environment, tmp_path) -> Asset:
    """A cheap asset that is not processed (no sync_tasks): it stays preparing."""
    return asset_from_file(environment, random_bytes(tmp_path / "a.mp4", 100), title="Draft")

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def test_a_ready_asset_shows_the_documented_fields(ready_asset):
    asset = ready_asset

    assert re.match(r"^ast_[0-9a-z]{26}$", asset["id"])
    assert asset["status"] == "ready"
    assert asset["duration"] == pytest.approx(2.0, abs=0.1)
    assert asset["aspect_ratio"] == "16:9"
    assert asset["max_resolution"] == "90p"
    video = next(t for t in asset["tracks"] if t["type"] == "video")
    audio = next(t for t in asset["tracks"] if t["type"] == "audio")
    assert (video["width"], video["height"], video["codec"]) == (160, 90, "h264")
    assert video["frame_rate"] == pytest.approx(30)
    assert (audio["channels"], audio["codec"]) == (1, "aac")
    assert asset["renditions_status"] == "ready"
    # Its stream copy (it is H.264 with AAC) on top of the encoded ladder.
    copied, encoded = asset["renditions"]
    assert (copied["name"], copied["width"], copied["height"]) == ("source", 160, 90)
    assert (encoded["name"], encoded["width"], encoded["height"]) == ("90p", 160, 90)
    assert copied["bitrate"] > 0 and encoded["bitrate"] > 0
    [playback] = asset["playback_ids"]
    assert re.match(r"^pbk_[0-9a-z]{26}$", playback["id"]) and playback["policy"] == "public"
    assert asset["errors"] is None
    assert asset["upload_id"].startswith("upl_")
    assert asset["live_stream_id"] is None
    assert RFC3339_UTC.match(asset["created_at"])


def test_a_preparing_asset_has_no_media_facts_yet(owner, preparing_asset):
    shown = owner.get(f"/api/v1/assets/{preparing_asset.id}").json()

    assert shown["status"] == "preparing"
    assert (shown["duration"], shown["aspect_ratio"], shown["max_resolution"]) == (None, None,
                                                                                  None)
    assert (shown["tracks"], shown["renditions"], shown["errors"]) == ([], [], None)


def test_renaming_an_asset_shows_in_get_and_is_audited_with_before_and_after(owner, ready_asset):
    path = f"/api/v1/assets/{ready_asset['id']}"

    response = owner.patch(path, {"title": "Renamed", "passthrough": "crm-9"}, format="json",
                           HTTP_X_REQUEST_ID="rename-1")

    assert response.status_code == 200
    assert (response.json()["title"], response.json()["passthrough"]) == ("Renamed", "crm-9")
    shown = owner.get(path).json()
    assert (shown["title"], shown["passthrough"]) == ("Renamed", "crm-9")
    audit = AuditEntry.objects.get(object_id=ready_asset["id"], action="asset.updated")
    assert audit.changes == {"title": ["Ready clip", "Renamed"], "passthrough": ["", "crm-9"]}
    assert (audit.actor_type, audit.request_id) == ("api_key", "rename-1")
    assert Event.objects.filter(object_id=ready_asset["id"], type="video.asset.updated").exists()


def test_a_patch_changes_only_the_fields_it_names(owner, ready_asset):
    path = f"/api/v1/assets/{ready_asset['id']}"
    owner.patch(path, {"passthrough": "only this"}, format="json")

    audit = AuditEntry.objects.get(object_id=ready_asset["id"], action="asset.updated")
    assert audit.changes == {"passthrough": ["", "only this"]}
    assert owner.get(path).json()["title"] == "Ready clip"


def test_a_patch_that_changes_nothing_is_not_audited(owner, preparing_asset):
    owner.patch(f"/api/v1/assets/{preparing_asset.id}", {"title": "Draft"}, format="json")

    assert not AuditEntry.objects.filter(object_id=preparing_asset.id,
                                         action="asset.updated").exists()


def test_a_patch_cannot_change_the_status_or_the_id(owner, ready_asset):
    path = f"/api/v1/assets/{ready_asset['id']}"

    response = owner.patch(path, {"status": "errored", "id": "ast_x", "duration": 9},
                           format="json")

    assert response.status_code == 200
    assert owner.get(path).json() == ready_asset


def test_a_title_too_long_is_a_400_problem(owner, preparing_asset):
    response = owner.patch(f"/api/v1/assets/{preparing_asset.id}", {"title": "t" * 513},
                           format="json")

    body = assert_problem(response, 400, "invalid_request")
    assert list(body["errors"]) == ["title"]
    preparing_asset.refresh_from_db()
    assert preparing_asset.title == "Draft"


@pytest.mark.storage  # on local files and in a bucket
def test_deleting_an_asset_removes_it_its_media_and_its_playback(owner, anonymous, ready_asset):
    asset_id = ready_asset["id"]
    playback_id = ready_asset["playback_ids"][0]["id"]
    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 200
    assert list_tree(f"assets/{asset_id}")
    master = Asset.objects.get(pk=asset_id).master_name
    assert media_storage().exists(master)

    response = owner.delete(f"/api/v1/assets/{asset_id}", HTTP_X_REQUEST_ID="delete-1")

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(owner.get(f"/api/v1/assets/{asset_id}"), 404, "not_found")
    assert list_tree(f"assets/{asset_id}") == []
    assert not media_storage().exists(master)
    assert_problem(anonymous.get(f"/v/{playback_id}.m3u8"), 404)
    deleted = Event.objects.get(object_id=asset_id, type="video.asset.deleted")
    assert deleted.request_id == "delete-1"
    assert AuditEntry.objects.get(object_id=asset_id, action="asset.deleted").request_id == \
        "delete-1"


def test_deleting_an_asset_twice_is_a_404_the_second_time(owner, ready_asset):
    path = f"/api/v1/assets/{ready_asset['id']}"
    assert owner.delete(path).status_code == 204

    assert_problem(owner.delete(path), 404, "not_found")
    assert Event.objects.filter(object_id=ready_asset["id"],
                                type="video.asset.deleted").count() == 1


def test_a_deleted_asset_can_no_longer_be_changed(owner, ready_asset):
    path = f"/api/v1/assets/{ready_asset['id']}"
    owner.delete(path)

    assert_problem(owner.patch(path, {"title": "x"}, format="json"), 404)
    assert_problem(owner.post(f"{path}/retry"), 404)
    assert_problem(owner.post(f"{path}/playback-ids", {"policy": "public"}, format="json"), 404)


def test_adding_a_public_playback_id_answers_201_and_it_plays(owner, anonymous, ready_asset):
    path = f"/api/v1/assets/{ready_asset['id']}/playback-ids"

    response = owner.post(path, {"policy": "public"}, format="json")

    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"id", "policy"}
    assert re.match(r"^pbk_[0-9a-z]{26}$", created["id"]) and created["policy"] == "public"
    assert created in owner.get(f"/api/v1/assets/{ready_asset['id']}").json()["playback_ids"]
    assert owner.get(f"{path}/{created['id']}").json() == created
    playlist = anonymous.get(f"/v/{created['id']}.m3u8")
    assert playlist.status_code == 200
    assert playlist.content.startswith(b"#EXTM3U")


def test_adding_a_signed_playback_id_does_not_play_without_a_token(owner, anonymous, ready_asset):
    response = owner.post(f"/api/v1/assets/{ready_asset['id']}/playback-ids",
                          {"policy": "signed"}, format="json")

    assert response.status_code == 201
    assert anonymous.get(f"/v/{response.json()['id']}.m3u8").status_code == 403


def test_an_unknown_policy_is_a_400_problem(owner, preparing_asset):
    response = owner.post(f"/api/v1/assets/{preparing_asset.id}/playback-ids",
                          {"policy": "bogus"}, format="json")

    body = assert_problem(response, 400, "invalid_request")
    assert body["errors"] == {"policy": ['"bogus" is not a valid choice.']}
    assert preparing_asset.playback_ids.count() == 1


def test_deleting_a_playback_id_answers_204_and_stops_playback_at_once(owner, anonymous,
                                                                       ready_asset):
    asset_id = ready_asset["id"]
    playback_id = ready_asset["playback_ids"][0]["id"]
    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 200

    response = owner.delete(f"/api/v1/assets/{asset_id}/playback-ids/{playback_id}")

    assert response.status_code == 204
    assert_problem(anonymous.get(f"/v/{playback_id}.m3u8"), 404)
    assert owner.get(f"/api/v1/assets/{asset_id}").json()["playback_ids"] == []
    assert_problem(owner.delete(f"/api/v1/assets/{asset_id}/playback-ids/{playback_id}"), 404)
    audit = AuditEntry.objects.get(object_id=asset_id, action="playback_id.deleted")
    assert audit.changes == {"playback_ids": [{"id": playback_id, "policy": "public"}, None]}
    assert not PlaybackID.objects.filter(pk=playback_id).exists()


def test_the_asset_events_show_the_asset_as_the_api_does(owner, ready_asset):
    done = Event.objects.get(object_id=ready_asset["id"], type="video.asset.renditions_ready")

    assert done.data == ready_asset
