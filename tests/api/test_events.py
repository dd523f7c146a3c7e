"""GET /api/v1/events: the polling fallback for webhooks, same documents as deliveries."""

from __future__ import annotations

import re
import time

import pytest

from foundation import ids
from tests.factories import upload_for

from .conftest import assert_problem, create_upload, put_file

pytestmark = pytest.mark.django_db

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
# Published as soon as it is ready: the environment's publishing is auto.
LIFECYCLE = ["video.upload.created", "video.asset.created", "video.upload.asset_created",
             "video.asset.ready", "video.asset.published", "video.asset.renditions_ready"]
# What the encoded ladder adds to the asset after it plays from its stream copy.
LADDER_FIELDS = {"renditions", "renditions_status", "duration", "tracks"}


@pytest.fixture
def processed(owner, anonymous, clip, sync_tasks) -> dict:
    """An upload taken through the API and the upload URL, processed for real."""
    created = create_upload(owner, title="Evented")
    asset_id = put_file(anonymous, created["url"], clip.read_bytes()).json()["asset_id"]
    return {
        "created": created,
        "upload": owner.get(f"/api/v1/uploads/{created['id']}").json(),
        "asset": owner.get(f"/api/v1/assets/{asset_id}").json(),
    }


def events(client, query: str = "") -> list[dict]:
    response = client.get(f"/api/v1/events?limit=100{query}")
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_a_processed_upload_leaves_its_lifecycle_events(owner, processed):
    listed = events(owner)

    types = [e["type"] for e in listed]
    for expected in LIFECYCLE:
        assert types.count(expected) == 1, types
    assert set(types) == set(LIFECYCLE)


def test_every_event_is_shaped_as_the_contract_says(owner, processed):
    for event in events(owner):
        assert re.match(r"^evt_[0-9a-z]{26}$", event["id"])
        assert RFC3339_UTC.match(event["created_at"])
        assert event["environment"] == "production"
        assert set(event["object"]) == {"type", "id"}
        prefix = {"upload": "upl_", "asset": "ast_"}[event["object"]["type"]]
        assert event["object"]["id"].startswith(prefix)
        assert event["data"]["id"] == event["object"]["id"]


def test_event_data_is_the_object_as_the_api_showed_it_then(owner, processed):
    by_type = {e["type"]: e for e in events(owner)}

    assert by_type["video.upload.created"]["data"] == processed["created"]
    assert by_type["video.upload.asset_created"]["data"] == processed["upload"]
    # Ready from its stream copy, then published at once (publishing: auto), then its
    # ladder joined: the last event shows it as now.
    assert by_type["video.asset.renditions_ready"]["data"] == processed["asset"]
    published = by_type["video.asset.published"]["data"]
    assert published["renditions_status"] == "preparing"
    assert [r["name"] for r in published["renditions"]] == ["source"]
    assert ({k: v for k, v in published.items() if k not in LADDER_FIELDS}
            == {k: v for k, v in processed["asset"].items() if k not in LADDER_FIELDS})
    assert by_type["video.asset.ready"]["data"] == {
        **published, "publication_status": "scheduled",
        "publish_at": by_type["video.asset.ready"]["data"]["publish_at"], "published_at": None}
    assert by_type["video.asset.ready"]["object"] == {"type": "asset",
                                                      "id": processed["asset"]["id"]}
    assert by_type["video.asset.created"]["data"]["status"] == "preparing"


def test_the_events_list_newest_first(owner, processed):
    ids = [e["id"] for e in events(owner)]

    assert ids == sorted(ids, reverse=True)
    assert events(owner)[0]["type"] == "video.asset.renditions_ready"
    assert events(owner)[1]["type"] == "video.asset.published"
    assert events(owner)[2]["type"] == "video.asset.ready"
    assert events(owner)[-1]["type"] == "video.upload.created"


def test_an_event_reads_back_alone_as_in_the_list(owner, processed):
    for event in events(owner):
        assert owner.get(f"/api/v1/events/{event['id']}").json() == event


def test_type_filters_the_events(owner, processed):
    ready = events(owner, "&type=video.asset.ready")

    assert [e["type"] for e in ready] == ["video.asset.ready"]
    assert events(owner, "&type=video.asset.errored") == []


def test_after_returns_only_later_events(owner, processed):
    oldest_first = list(reversed(events(owner)))
    upload_created = next(e for e in oldest_first if e["type"] == "video.upload.created")
    newest = oldest_first[-1]

    later = events(owner, f"&after={upload_created['id']}")
    none = events(owner, f"&after={newest['id']}")

    assert upload_created["id"] not in {e["id"] for e in later}
    assert {e["type"] for e in later} == set(LIFECYCLE) - {"video.upload.created"}
    assert none == []


def test_after_and_type_combine(owner, processed):
    first = events(owner)[-1]

    found = events(owner, f"&after={first['id']}&type=video.asset.ready")

    assert [e["type"] for e in found] == ["video.asset.ready"]


def test_a_poller_sees_a_new_event_after_the_last_one_it_saw(owner, processed):
    last_seen = events(owner)[0]["id"]

    owner.put(f"/api/v1/uploads/{create_upload(owner)['id']}/cancel")

    new = events(owner, f"&after={last_seen}")
    assert [e["type"] for e in new] == ["video.upload.cancelled", "video.upload.created"]


@pytest.mark.parametrize("after", ["garbage", "ast_01m855ye29fjzz3qb66pwj9ncz", "evt_", "1"])
def test_after_that_is_not_an_event_id_is_a_400_problem(owner, after):
    body = assert_problem(owner.get(f"/api/v1/events?after={after}"), 400, "invalid_request")

    assert list(body["errors"]) == ["after"]


def test_an_unknown_event_is_a_404_problem(owner):
    assert_problem(owner.get("/api/v1/events/evt_00000000000000000000000000"), 404, "not_found")


def test_a_deleted_asset_leaves_a_deleted_event(owner, processed):
    asset_id = processed["asset"]["id"]
    owner.delete(f"/api/v1/assets/{asset_id}")

    [deleted] = events(owner, "&type=video.asset.deleted")

    assert deleted["object"] == {"type": "asset", "id": asset_id}
    assert deleted["data"]["id"] == asset_id


def test_after_never_skips_an_event_made_in_the_same_millisecond(owner, environment,
                                                                 monkeypatch):
    frozen = time.time_ns()
    monkeypatch.setattr(ids.time, "time_ns", lambda: frozen)
    # The random part of each id happens to come out smaller than the one before.
    random_parts = iter(range(2**80 - 1, 0, -(2**70)))
    monkeypatch.setattr(ids.secrets, "randbits", lambda bits: next(random_parts))
    upload_for(environment)
    last_seen = events(owner)[0]["id"]

    upload_for(environment)

    assert len(events(owner, f"&after={last_seen}")) == 1
