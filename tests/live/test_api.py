"""The live streams API: what an integrator sees when creating and managing streams."""

from __future__ import annotations

import json
import re
import time

import pytest

from foundation.models import AuditEntry
from live.models import LiveStream, SimulcastTarget
from tests.api.conftest import assert_problem

from .support import Ingest, create_stream, event_types, events, go_live

pytestmark = pytest.mark.django_db

ID = r"[0-9a-z]{26}"
PUBLIC_TARGET = "rtmp://8.8.8.8/app"
TARGET_KEY = "live_8437_abcdefghijkl"


def get(client, stream_id: str):
    return client.get(f"/api/v1/live-streams/{stream_id}")


def action(client, stream_id: str, name: str):
    return client.post(f"/api/v1/live-streams/{stream_id}/{name}")


# --- create ----------------------------------------------------------------------------
def test_a_new_stream_is_idle_with_its_key_urls_and_playback_ids(owner, settings):
    created = create_stream(owner, reconnect_window=30, latency_mode="standard")

    assert re.fullmatch(f"lvs_{ID}", created["id"])
    assert created["status"] == "idle"
    name, _, secret = created["stream_key"].partition("?key=")
    assert name == created["id"] and len(secret) >= 24
    assert created["rtmp_url"] == (f"rtmp://{settings.LIVE_PUBLIC_HOST}:{settings.RTMP_PORT}"
                                   "/live")
    assert created["srt_url"].startswith(f"srt://{settings.LIVE_PUBLIC_HOST}:")
    assert "passphrase=" in created["srt_url"]
    assert [p["policy"] for p in created["playback_ids"]] == ["public"]
    assert re.fullmatch(f"pbk_{ID}", created["playback_ids"][0]["id"])
    assert created["recent_asset_ids"] == []
    assert created["reconnect_window"] == 30
    assert created["health"]["connected"] is False
    assert created["health"]["disconnects"] == 0
    assert created["health"]["bitrate"] is None


def test_a_low_latency_stream_publishes_to_the_low_latency_application(owner):
    created = create_stream(owner, latency_mode="low")

    assert created["rtmp_url"].endswith("/live-low")
    assert created["latency_mode"] == "low"


def test_every_playback_policy_asked_for_gets_a_playback_id(owner):
    created = create_stream(owner, playback_policy=["public", "signed"])

    assert sorted(p["policy"] for p in created["playback_ids"]) == ["public", "signed"]


def test_the_defaults_record_nothing_and_wait_a_minute_for_a_reconnect(owner):
    created = create_stream(owner)

    assert created["new_asset_settings"] is None
    assert created["reconnect_window"] == 60
    assert created["latency_mode"] == "standard"


def test_the_stream_key_and_srt_url_are_not_shown_again(owner):
    created = create_stream(owner)

    shown = get(owner, created["id"]).json()
    listed = owner.get("/api/v1/live-streams").json()["data"][0]

    for body in (shown, listed):
        assert body["id"] == created["id"]
        assert body["stream_key"] is None
        assert body["srt_url"] is None
        assert created["stream_key"].split("?key=")[1] not in json.dumps(body)
    assert shown["rtmp_url"] == created["rtmp_url"]


@pytest.mark.parametrize("body, field", [
    ({"latency_mode": "ultra"}, "latency_mode"),
    ({"reconnect_window": -1}, "reconnect_window"),
    ({"reconnect_window": 99999}, "reconnect_window"),
    ({"playback_policy": ["everyone"]}, "playback_policy[0]"),
    ({"new_asset_settings": {"playback_policy": ["everyone"]}},
     "new_asset_settings.playback_policy[0]"),
])
def test_an_invalid_create_is_a_problem_naming_the_field(owner, body, field):
    response = owner.post("/api/v1/live-streams", body, format="json")

    problem = assert_problem(response, 400, "invalid_request")
    assert list(problem["errors"]) == [field], problem
    assert not LiveStream.objects.exists()


def test_the_same_idempotency_key_replays_the_first_stream_without_its_key(owner):
    body = {"playback_policy": ["public"], "reconnect_window": 10}
    first = owner.post("/api/v1/live-streams", body, format="json", HTTP_IDEMPOTENCY_KEY="stream-1")
    again = owner.post("/api/v1/live-streams", body, format="json", HTTP_IDEMPOTENCY_KEY="stream-1")

    assert first.status_code == again.status_code == 201
    assert first.json()["stream_key"]
    assert again.json() == {**first.json(), "stream_key": None, "srt_url": None}
    assert LiveStream.objects.count() == 1


def test_the_same_idempotency_key_with_another_body_is_422(owner):
    owner.post("/api/v1/live-streams", {"reconnect_window": 10}, format="json",
               HTTP_IDEMPOTENCY_KEY="stream-1")
    response = owner.post("/api/v1/live-streams", {"reconnect_window": 20}, format="json",
                          HTTP_IDEMPOTENCY_KEY="stream-1")

    assert_problem(response, 422)
    assert LiveStream.objects.count() == 1


# --- scopes and environments ---------------------------------------------------------------
def test_reading_needs_live_read_and_writing_needs_live_write(owner, client_with_scopes):
    stream_id = create_stream(owner)["id"]
    reader = client_with_scopes("live:read")
    writer = client_with_scopes("live:write")
    unrelated = client_with_scopes("assets:read,assets:write")

    assert reader.get("/api/v1/live-streams").status_code == 200
    assert get(reader, stream_id).status_code == 200
    assert reader.get(f"/api/v1/live-streams/{stream_id}/simulcast-targets").status_code == 200
    assert_problem(reader.post("/api/v1/live-streams", {}, format="json"), 403)
    assert_problem(action(reader, stream_id, "disable"), 403)
    assert_problem(reader.patch(f"/api/v1/live-streams/{stream_id}", {"passthrough": "x"},
                                format="json"), 403)
    assert_problem(reader.delete(f"/api/v1/live-streams/{stream_id}"), 403)

    assert writer.post("/api/v1/live-streams", {}, format="json").status_code == 201
    assert_problem(get(writer, stream_id), 403)
    assert_problem(writer.get("/api/v1/live-streams"), 403)

    for response in (unrelated.get("/api/v1/live-streams"), get(unrelated, stream_id),
                     unrelated.post("/api/v1/live-streams", {}, format="json")):
        assert_problem(response, 403)
    assert LiveStream.objects.count() == 2


def test_another_environment_gets_404_for_everything_about_the_stream(owner, outsider):
    created = create_stream(owner)
    stream_id = created["id"]
    target = owner.post(f"/api/v1/live-streams/{stream_id}/simulcast-targets",
                        {"url": PUBLIC_TARGET}, format="json").json()
    base = f"/api/v1/live-streams/{stream_id}"

    responses = [
        outsider.get(base),
        outsider.patch(base, {"passthrough": "mine"}, format="json"),
        outsider.delete(base),
        *(outsider.post(f"{base}/{name}") for name in
          ("disable", "enable", "complete", "reset-stream-key")),
        outsider.post(f"{base}/playback-ids", {"policy": "public"}, format="json"),
        outsider.delete(f"{base}/playback-ids/{created['playback_ids'][0]['id']}"),
        outsider.get(f"{base}/simulcast-targets"),
        outsider.post(f"{base}/simulcast-targets", {"url": PUBLIC_TARGET}, format="json"),
        outsider.get(f"{base}/simulcast-targets/{target['id']}"),
        outsider.delete(f"{base}/simulcast-targets/{target['id']}"),
    ]

    for response in responses:
        assert_problem(response, 404)
    assert outsider.get("/api/v1/live-streams").json()["data"] == []
    after = get(owner, stream_id).json()
    assert after["status"] == "idle" and after["passthrough"] == ""
    assert len(after["playback_ids"]) == 1 and len(after["simulcast_targets"]) == 1


def test_an_unknown_stream_is_404(owner):
    assert_problem(get(owner, "lvs_00000000000000000000000000"), 404)
    assert_problem(get(owner, "not-an-id"), 404)


# --- list, update, delete ------------------------------------------------------------------
def test_the_list_pages_through_every_stream_once_newest_first(owner):
    created = []
    for _ in range(5):
        created.append(create_stream(owner)["id"])
        time.sleep(0.002)

    seen, url, sizes = [], "/api/v1/live-streams?limit=2", []
    while url:
        body = owner.get(url).json()
        assert set(body) == {"data", "next_cursor"}
        seen += [s["id"] for s in body["data"]]
        sizes.append(len(body["data"]))
        cursor = body["next_cursor"]
        url = f"/api/v1/live-streams?limit=2&cursor={cursor}" if cursor else None

    assert seen == list(reversed(created))
    assert sizes == [2, 2, 1]


def test_patch_changes_the_settings_for_the_next_publish(owner):
    created = create_stream(owner)

    response = owner.patch(f"/api/v1/live-streams/{created['id']}",
                           {"reconnect_window": 15, "latency_mode": "low", "passthrough": "studio-b",
                            "new_asset_settings": {"playback_policy": ["public"]}}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reconnect_window"] == 15
    assert body["latency_mode"] == "low"
    assert body["rtmp_url"].endswith("/live-low")
    assert body["passthrough"] == "studio-b"
    assert body["new_asset_settings"]["playback_policy"] == ["public"]
    assert body["stream_key"] is None
    assert get(owner, created["id"]).json() == body


def test_an_invalid_patch_changes_nothing(owner):
    created = create_stream(owner)

    response = owner.patch(f"/api/v1/live-streams/{created['id']}", {"latency_mode": "ultra"},
                           format="json")

    assert "latency_mode" in assert_problem(response, 400)["errors"]
    assert get(owner, created["id"]).json()["latency_mode"] == "standard"


def test_delete_answers_204_and_then_the_stream_is_gone(owner, anonymous):
    created = create_stream(owner)
    stream_id = created["id"]
    playback_id = created["playback_ids"][0]["id"]

    response = owner.delete(f"/api/v1/live-streams/{stream_id}")

    assert response.status_code == 204
    assert_problem(get(owner, stream_id), 404)
    assert_problem(owner.delete(f"/api/v1/live-streams/{stream_id}"), 404)
    assert owner.get("/api/v1/live-streams").json()["data"] == []
    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 404


# --- actions ---------------------------------------------------------------------------
def test_disable_then_enable(owner):
    stream_id = create_stream(owner)["id"]

    disabled = action(owner, stream_id, "disable")
    assert disabled.status_code == 200
    assert disabled.json()["status"] == "disabled"
    assert disabled.json()["stream_key"] is None
    assert get(owner, stream_id).json()["status"] == "disabled"

    enabled = action(owner, stream_id, "enable")
    assert enabled.status_code == 200
    assert enabled.json()["status"] == "idle"


def test_completing_an_idle_stream_is_409(owner):
    stream_id = create_stream(owner)["id"]

    assert_problem(action(owner, stream_id, "complete"), 409, "invalid_state")
    assert get(owner, stream_id).json()["status"] == "idle"


def test_completing_an_active_stream_makes_it_idle_at_once(owner):
    created = create_stream(owner)
    go_live(Ingest(), created)
    assert get(owner, created["id"]).json()["status"] == "active"

    response = action(owner, created["id"], "complete")

    assert response.status_code == 200
    assert response.json()["status"] == "idle"


def test_reset_stream_key_shows_a_new_key_and_passphrase_once(owner):
    created = create_stream(owner)

    response = action(owner, created["id"], "reset-stream-key")

    assert response.status_code == 200
    reset = response.json()
    assert reset["stream_key"].startswith(f"{created['id']}?key=")
    assert reset["stream_key"] != created["stream_key"]
    assert reset["srt_url"] and reset["srt_url"] != created["srt_url"]
    shown = get(owner, created["id"]).json()
    assert shown["stream_key"] is None and shown["srt_url"] is None


# --- playback IDs ------------------------------------------------------------------------
def test_a_playback_id_can_be_added_and_deleted(owner):
    created = create_stream(owner)
    base = f"/api/v1/live-streams/{created['id']}/playback-ids"

    added = owner.post(base, {"policy": "signed"}, format="json")

    assert added.status_code == 201
    assert re.fullmatch(f"pbk_{ID}", added.json()["id"])
    assert added.json()["policy"] == "signed"
    ids = [p["id"] for p in get(owner, created["id"]).json()["playback_ids"]]
    assert added.json()["id"] in ids and len(ids) == 2

    assert owner.delete(f"{base}/{added.json()['id']}").status_code == 204
    ids = [p["id"] for p in get(owner, created["id"]).json()["playback_ids"]]
    assert ids == [created["playback_ids"][0]["id"]]
    assert_problem(owner.delete(f"{base}/{added.json()['id']}"), 404)


def test_an_invalid_playback_policy_is_refused(owner):
    created = create_stream(owner)

    response = owner.post(f"/api/v1/live-streams/{created['id']}/playback-ids",
                          {"policy": "everyone"}, format="json")

    assert "policy" in assert_problem(response, 400)["errors"]


def test_a_playback_id_of_another_stream_cannot_be_deleted_through_this_one(owner):
    first, second = create_stream(owner), create_stream(owner)

    response = owner.delete(f"/api/v1/live-streams/{first['id']}/playback-ids/"
                            f"{second['playback_ids'][0]['id']}")

    assert_problem(response, 404)
    assert len(get(owner, second["id"]).json()["playback_ids"]) == 1


# --- simulcast targets ------------------------------------------------------------------
def test_a_simulcast_target_is_created_listed_read_and_deleted(owner):
    stream_id = create_stream(owner)["id"]
    base = f"/api/v1/live-streams/{stream_id}/simulcast-targets"

    response = owner.post(base, {"url": PUBLIC_TARGET, "stream_key": TARGET_KEY,
                                 "passthrough": "youtube"}, format="json")

    assert response.status_code == 201, response.content
    target = response.json()
    assert re.fullmatch(f"smt_{ID}", target["id"])
    assert target["status"] == "idle"
    assert target["url"] == PUBLIC_TARGET
    assert target["passthrough"] == "youtube"
    assert target["error"] is None
    listed = owner.get(base).json()
    assert [t["id"] for t in listed["data"]] == [target["id"]]
    assert owner.get(f"{base}/{target['id']}").json() == target
    assert [t["id"] for t in get(owner, stream_id).json()["simulcast_targets"]] == [target["id"]]

    assert owner.delete(f"{base}/{target['id']}").status_code == 204
    assert_problem(owner.get(f"{base}/{target['id']}"), 404)
    assert owner.get(base).json()["data"] == []


def test_a_simulcast_targets_key_is_shown_only_as_a_hint(owner):
    stream_id = create_stream(owner)["id"]
    base = f"/api/v1/live-streams/{stream_id}/simulcast-targets"

    created = owner.post(base, {"url": PUBLIC_TARGET, "stream_key": TARGET_KEY}, format="json")

    shown = [created.json(), owner.get(f"{base}/{created.json()['id']}").json(),
             owner.get(base).json()["data"][0], get(owner, stream_id).json()["simulcast_targets"][0]]
    for body in shown:
        assert body["stream_key"] == "…ijkl"
    for text in (created.content, owner.get(base).content, get(owner, stream_id).content):
        assert TARGET_KEY.encode() not in text


@pytest.mark.parametrize("url", ["rtmp://127.0.0.1/live", "rtmp://10.1.2.3/live",
                                 "rtmps://192.168.0.20:443/app", "rtmp://[::1]/live",
                                 "rtmp://169.254.169.254/app"])
def test_a_private_simulcast_target_is_refused(owner, settings, url):
    settings.SIMULCAST_ALLOW_PRIVATE_TARGETS = False
    stream_id = create_stream(owner)["id"]

    response = owner.post(f"/api/v1/live-streams/{stream_id}/simulcast-targets",
                          {"url": url, "stream_key": TARGET_KEY}, format="json")

    problem = assert_problem(response, 400, "target_refused")
    assert "url" in problem["errors"]
    assert TARGET_KEY not in response.content.decode()
    assert not SimulcastTarget.objects.exists()


def test_a_private_simulcast_target_is_allowed_when_the_setting_says_so(owner, settings):
    settings.SIMULCAST_ALLOW_PRIVATE_TARGETS = True
    stream_id = create_stream(owner)["id"]

    response = owner.post(f"/api/v1/live-streams/{stream_id}/simulcast-targets",
                          {"url": "rtmp://127.0.0.1:1936/live"}, format="json")

    assert response.status_code == 201


@pytest.mark.parametrize("url", ["http://8.8.8.8/live", "rtmp:///live", "srt://8.8.8.8:9000",
                                 "rtmp://user:pass@8.8.8.8/live", "rtmp://[8.8.8.8/live"])
def test_a_simulcast_target_must_be_an_rtmp_url_without_credentials(owner, url):
    stream_id = create_stream(owner)["id"]

    response = owner.post(f"/api/v1/live-streams/{stream_id}/simulcast-targets", {"url": url},
                          format="json")

    assert "url" in assert_problem(response, 400)["errors"]


# --- audit and events ------------------------------------------------------------------
def test_every_change_through_the_api_leaves_an_audit_entry(owner):
    stream_id = create_stream(owner)["id"]
    base = f"/api/v1/live-streams/{stream_id}"
    owner.patch(base, {"reconnect_window": 5}, format="json")
    action(owner, stream_id, "reset-stream-key")
    action(owner, stream_id, "disable")
    action(owner, stream_id, "enable")
    playback_id = owner.post(f"{base}/playback-ids", {"policy": "signed"}, format="json").json()
    owner.delete(f"{base}/playback-ids/{playback_id['id']}")
    target = owner.post(f"{base}/simulcast-targets", {"url": PUBLIC_TARGET,
                                                     "stream_key": TARGET_KEY},
                        format="json").json()
    owner.delete(f"{base}/simulcast-targets/{target['id']}")
    owner.delete(base)

    entries = list(AuditEntry.objects.filter(object_id=stream_id).order_by("id"))

    assert [e.action for e in entries] == [
        "live_stream.created", "live_stream.updated", "live_stream.key_reset",
        "live_stream.disabled", "live_stream.enabled", "playback_id.created",
        "playback_id.deleted", "simulcast_target.created", "simulcast_target.deleted",
        "live_stream.deleted"]
    assert all(e.actor_type == "api_key" and e.request_id for e in entries)
    assert entries[1].changes == {"reconnect_window": [60.0, 5.0]}
    assert entries[3].changes == {"status": ["idle", "disabled"]}
    text = json.dumps([[e.changes, e.message] for e in entries])
    assert TARGET_KEY not in text


def test_the_audit_log_of_a_stream_reads_back_through_the_api(owner, client_with_scopes):
    stream_id = create_stream(owner)["id"]
    action(owner, stream_id, "disable")

    response = owner.get(f"/api/v1/audit-log?object_id={stream_id}")

    assert response.status_code == 200, response.status_code
    actions = [e["action"] for e in response.json()["data"]]
    assert actions == ["live_stream.disabled", "live_stream.created"]
    assert_problem(client_with_scopes("live:read").get(
        f"/api/v1/audit-log?object_id={stream_id}"), 403)


def test_a_streams_events_never_carry_its_key_or_passphrase(owner):
    created = create_stream(owner, new_asset_settings={"playback_policy": ["public"]},
                            reconnect_window=0)
    stream_id = created["id"]
    owner.post(f"/api/v1/live-streams/{stream_id}/simulcast-targets",
               {"url": PUBLIC_TARGET, "stream_key": TARGET_KEY}, format="json")
    ingest = Ingest()
    go_live(ingest, created)
    ingest.publish_done(stream_id)
    reset = action(owner, stream_id, "reset-stream-key").json()
    action(owner, stream_id, "disable")

    listed = events(owner)

    assert {"video.live_stream.created", "video.live_stream.connected",
            "video.live_stream.active", "video.live_stream.disconnected",
            "video.live_stream.idle", "video.asset.live_stream_completed"} <= {
        e["type"] for e in listed}
    text = json.dumps(listed)
    for key in (created["stream_key"], reset["stream_key"]):
        assert key.split("?key=")[1] not in text
    for srt in (created["srt_url"], reset["srt_url"]):
        assert srt.split("passphrase=")[1] not in text
    assert TARGET_KEY not in text
    for event in listed:
        if event["object"]["type"] == "live_stream":
            assert event["data"]["stream_key"] is None
            assert event["data"]["srt_url"] is None


def test_the_created_event_shows_the_stream_as_a_get_does(owner):
    created = create_stream(owner)

    (event,) = events(owner, "video.live_stream.created")

    assert event["object"] == {"type": "live_stream", "id": created["id"]}
    assert event["data"]["id"] == created["id"]
    assert event["data"]["status"] == "idle"
    assert event_types(owner, created["id"]) == ["video.live_stream.created"]


# --- names -----------------------------------------------------------------------------
def test_a_stream_has_the_name_it_was_given_and_an_unnamed_one_a_dated_name(owner):
    named = create_stream(owner, name="  Sunday service ")
    unnamed = create_stream(owner)

    assert named["name"] == "Sunday service"
    assert get(owner, named["id"]).json()["name"] == "Sunday service"
    assert re.fullmatch(r"Live stream of \d{4}-\d\d-\d\d \d\d:\d\d", unnamed["name"])
    created = next(e for e in events(owner, "video.live_stream.created")
                   if e["object"]["id"] == named["id"])
    assert created["data"]["name"] == "Sunday service"


def test_renaming_a_stream_is_audited_and_an_empty_name_is_refused(owner):
    stream = create_stream(owner, name="Studio B")

    renamed = owner.patch(f"/api/v1/live-streams/{stream['id']}", {"name": "Studio C"},
                          format="json")
    refused = owner.patch(f"/api/v1/live-streams/{stream['id']}", {"name": " "}, format="json")
    too_long = owner.post(
        "/api/v1/live-streams", {"name": "x" * 201}, format="json")

    assert renamed.status_code == 200 and renamed.json()["name"] == "Studio C"
    assert_problem(refused, 400)
    assert_problem(too_long, 400)
    assert get(owner, stream["id"]).json()["name"] == "Studio C"
    entry = AuditEntry.objects.get(object_id=stream["id"], action="live_stream.updated")
    assert entry.changes == {"name": ["Studio B", "Studio C"]}
    assert "video.live_stream.updated" in event_types(owner, stream["id"])
