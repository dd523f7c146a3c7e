"""What ingest nodes call (nginx-rtmp's callbacks and the runner's reports), and what the
stream's owner then sees through the API and its events."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from foundation.logging import RedactSecretsFilter, redact
from live import services
from live.models import LiveSession, LiveStream
from media_core.models import Asset

from .support import (
    NODE,
    Ingest,
    create_stream,
    event_types,
    events,
    go_live,
    ingest_url,
    split_key,
    stat,
)

pytestmark = pytest.mark.django_db

RECORDING = {"playback_policy": ["public"], "title": "Evening show"}


@pytest.fixture
def ingest():
    return Ingest()


@pytest.fixture
def stream(owner) -> dict:
    return create_stream(owner, reconnect_window=30)


def shown(owner, stream_id: str) -> dict:
    response = owner.get(f"/api/v1/live-streams/{stream_id}")
    assert response.status_code == 200, response.content
    return response.json()


def open_sessions(stream_id: str) -> list[LiveSession]:
    return list(LiveSession.objects.filter(stream_id=stream_id, ended_at=None))


def after_window(stream: dict, extra: float = 1):
    return timezone.now() + timedelta(seconds=stream["reconnect_window"] + extra)


# --- who may call ---------------------------------------------------------------------
def test_a_callback_with_the_wrong_secret_is_refused(ingest, stream):
    response = ingest.publish(stream["stream_key"], secret="not-the-ingest-secret")

    assert response.status_code == 403
    assert open_sessions(stream["id"]) == []


def test_a_report_with_the_wrong_secret_is_refused(ingest, stream):
    response = ingest.http.post(ingest_url("report", secret="guess"), "{}",
                                content_type="application/json")

    assert response.status_code == 403
    assert b"passphrase" not in response.content


def test_a_callback_from_a_badly_named_node_is_refused(stream):
    response = Ingest(node="edge 1;rm").publish(stream["stream_key"])

    assert response.status_code == 403


def test_a_report_that_is_not_json_is_400(ingest):
    response = ingest.http.post(ingest_url("report"), "not json", content_type="application/json")

    assert response.status_code == 400


# --- publishing -------------------------------------------------------------------------
def test_the_right_key_may_publish_and_the_stream_shows_connected(owner, ingest, stream):
    response = ingest.publish(stream["stream_key"])

    assert response.status_code == 200
    (session,) = open_sessions(stream["id"])
    assert (session.node, session.app, session.client_id, session.via) == (NODE, "live", "1",
                                                                           "rtmp")
    body = shown(owner, stream["id"])
    assert body["status"] == "idle"  # until the first playlist is written
    assert body["health"]["connected"] is True
    assert body["health"]["uptime"] is not None
    assert event_types(owner, stream["id"])[-1] == "video.live_stream.connected"


@pytest.mark.parametrize("key", ["", "not-the-key", "x" * 32])
def test_a_wrong_key_is_refused(owner, ingest, stream, key):
    name, _ = split_key(stream["stream_key"])

    response = ingest.publish(f"{name}?key={key}" if key else name)

    assert response.status_code == 403
    assert open_sessions(stream["id"]) == []
    assert shown(owner, stream["id"])["health"]["connected"] is False
    assert "video.live_stream.connected" not in event_types(owner, stream["id"])


def test_one_streams_key_does_not_publish_another(owner, ingest, stream):
    other = create_stream(owner)
    _, key = split_key(stream["stream_key"])

    assert ingest.publish(f"{other['id']}?key={key}").status_code == 403
    assert open_sessions(other["id"]) == []


@pytest.mark.parametrize("name", ["lvs_00000000000000000000000000", "live", "../etc", ""])
def test_an_unknown_stream_is_refused(ingest, stream, name):
    _, key = split_key(stream["stream_key"])

    assert ingest.publish(f"{name}?key={key}").status_code == 403


def test_a_deleted_stream_is_refused(owner, ingest, stream):
    owner.delete(f"/api/v1/live-streams/{stream['id']}")

    assert ingest.publish(stream["stream_key"]).status_code == 403


def test_an_unknown_application_is_refused(ingest, stream):
    assert ingest.publish(stream["stream_key"], app="vod").status_code == 403
    assert open_sessions(stream["id"]) == []


def test_a_disabled_stream_is_refused_and_publishes_again_once_enabled(owner, ingest, stream):
    owner.post(f"/api/v1/live-streams/{stream['id']}/disable")

    assert ingest.publish(stream["stream_key"]).status_code == 403
    assert open_sessions(stream["id"]) == []

    owner.post(f"/api/v1/live-streams/{stream['id']}/enable")
    assert ingest.publish(stream["stream_key"]).status_code == 200


def test_a_second_encoder_is_refused_while_the_first_publishes(ingest, stream):
    assert ingest.publish(stream["stream_key"], client_id="1").status_code == 200

    assert ingest.publish(stream["stream_key"], client_id="2").status_code == 403
    assert Ingest(node="edge-2").publish(stream["stream_key"], client_id="7").status_code == 403
    assert [s.client_id for s in open_sessions(stream["id"])] == ["1"]


def test_the_low_latency_application_takes_encoders_too(owner, ingest):
    created = create_stream(owner, latency_mode="low")

    assert ingest.publish(created["stream_key"], app="live-low").status_code == 200


def test_the_encoder_leaving_ends_its_session_and_counts_a_disconnect(owner, ingest, stream):
    ingest.publish(stream["stream_key"])

    response = ingest.publish_done(stream["id"])

    assert response.status_code == 200
    assert open_sessions(stream["id"]) == []
    session = LiveSession.objects.get(stream_id=stream["id"])
    assert session.ended_at is not None and session.end_reason
    health = shown(owner, stream["id"])["health"]
    assert health["connected"] is False
    assert health["disconnects"] == 1
    assert health["uptime"] is None
    assert event_types(owner, stream["id"])[-2:] == ["video.live_stream.connected",
                                                     "video.live_stream.disconnected"]


def test_publish_done_for_an_unknown_session_changes_nothing(owner, ingest, stream):
    ingest.publish(stream["stream_key"])

    ingest.publish_done(stream["id"], client_id="99")
    Ingest(node="edge-2").publish_done(stream["id"])

    assert len(open_sessions(stream["id"])) == 1
    assert shown(owner, stream["id"])["health"]["disconnects"] == 0


# --- reports and health ----------------------------------------------------------------
def test_the_first_playlist_makes_the_stream_active(owner, ingest, stream):
    ingest.publish(stream["stream_key"])
    ingest.report([stat(stream["id"], playlist_ready=False)])
    assert shown(owner, stream["id"])["status"] == "idle"

    ingest.report([stat(stream["id"])])

    assert shown(owner, stream["id"])["status"] == "active"
    types = event_types(owner, stream["id"])
    assert types[-2:] == ["video.live_stream.connected", "video.live_stream.active"]
    ingest.report([stat(stream["id"])])
    assert event_types(owner, stream["id"]).count("video.live_stream.active") == 1


def test_the_reported_health_is_readable_through_the_api(owner, ingest, stream):
    ingest.publish(stream["stream_key"])

    ingest.report([stat(stream["id"], bitrate=4_200_000, frame_rate=29.97, width=1920,
                        height=1080, keyframe_interval=2.0)])

    health = shown(owner, stream["id"])["health"]
    assert health["connected"] is True
    assert health["bitrate"] == 4_200_000
    assert health["frame_rate"] == 29.97
    assert (health["width"], health["height"]) == (1920, 1080)
    assert (health["video_codec"], health["audio_codec"]) == ("H264", "AAC")
    assert health["keyframe_interval"] == 2.0
    assert health["stalled"] is False
    assert health["last_seen_at"]
    assert health["disconnects"] == 0


def test_a_stalled_encoder_shows_as_stalled_and_its_last_seen_time_stays(owner, ingest, stream):
    ingest.publish(stream["stream_key"])
    ingest.report([stat(stream["id"])])
    seen = shown(owner, stream["id"])["health"]["last_seen_at"]

    ingest.report([stat(stream["id"], bitrate=0, stalled=True)])

    health = shown(owner, stream["id"])["health"]
    assert health["stalled"] is True
    assert health["bitrate"] == 0
    assert health["last_seen_at"] == seen

    ingest.report([stat(stream["id"])])
    assert shown(owner, stream["id"])["health"]["stalled"] is False


def test_a_report_with_nonsense_values_is_taken_without_error(owner, ingest, stream):
    ingest.publish(stream["stream_key"])

    ingest.report([stat(stream["id"], bitrate="fast", frame_rate=None, width="wide",
                        bytes_in=-5, video_codec=None)])

    health = shown(owner, stream["id"])["health"]
    assert health["bitrate"] == 0 and health["width"] is None


def test_a_session_the_node_stops_reporting_is_ended_after_ten_seconds(owner, ingest, stream):
    ingest.publish(stream["stream_key"])
    ingest.report([])
    assert len(open_sessions(stream["id"])) == 1  # just started: not in a report yet

    LiveSession.objects.filter(stream_id=stream["id"]).update(
        started_at=timezone.now() - timedelta(seconds=11))
    ingest.report([])

    assert open_sessions(stream["id"]) == []
    health = shown(owner, stream["id"])["health"]
    assert health["connected"] is False and health["disconnects"] == 1
    assert "video.live_stream.disconnected" in event_types(owner, stream["id"])


def test_a_session_still_reported_stays_open_however_old(ingest, stream):
    ingest.publish(stream["stream_key"])
    LiveSession.objects.filter(stream_id=stream["id"]).update(
        started_at=timezone.now() - timedelta(minutes=30))

    ingest.report([stat(stream["id"])])

    assert len(open_sessions(stream["id"])) == 1


def test_another_nodes_report_does_not_end_this_nodes_session(ingest, stream):
    ingest.publish(stream["stream_key"])
    LiveSession.objects.filter(stream_id=stream["id"]).update(
        started_at=timezone.now() - timedelta(seconds=30))

    Ingest(node="edge-2").report([])

    assert len(open_sessions(stream["id"])) == 1


def test_a_final_report_ends_every_session_of_the_node(owner, ingest, stream):
    ingest.publish(stream["stream_key"])

    ingest.report([], final=True)

    assert open_sessions(stream["id"]) == []
    assert shown(owner, stream["id"])["health"]["connected"] is False


# --- what the node should run ------------------------------------------------------------
def test_the_report_answer_lists_an_srt_listener_per_stream(owner, ingest, stream):
    low = create_stream(owner, latency_mode="low")
    disabled = create_stream(owner)
    owner.post(f"/api/v1/live-streams/{disabled['id']}/disable")

    answer = ingest.report([])

    by_stream = {s["stream"]: s for s in answer["srt"]}
    assert set(by_stream) == {stream["id"], low["id"]}
    for created in (stream, low):
        listener = by_stream[created["id"]]
        assert f":{listener['port']}?" in created["srt_url"]
        assert created["srt_url"].endswith(f"passphrase={listener['passphrase']}")
        assert listener["relay_token"] == services.relay_token(
            LiveStream.objects.get(pk=created["id"]))
    assert by_stream[stream["id"]]["app"] == "live"
    assert by_stream[low["id"]]["app"] == "live-low"
    assert answer["simulcast"] == [] and answer["drop"] == []


def test_the_srt_relay_publishes_with_its_token_instead_of_the_key(owner, ingest, stream):
    (listener,) = [s for s in ingest.report([])["srt"] if s["stream"] == stream["id"]]

    response = ingest.call("on_publish", name=stream["id"], client_id="3",
                           relay=listener["relay_token"])

    assert response.status_code == 200
    assert open_sessions(stream["id"])[0].via == "srt"


def test_a_disabled_streams_encoder_is_dropped(owner, ingest, stream):
    ingest.publish(stream["stream_key"], client_id="5")
    assert ingest.update(stream["id"], client_id="5").status_code == 200

    owner.post(f"/api/v1/live-streams/{stream['id']}/disable")

    assert ingest.update(stream["id"], client_id="5").status_code == 403
    answer = ingest.report([stat(stream["id"], client_id="5")])
    assert answer["drop"] == [{"app": "live", "name": stream["id"], "client_id": "5"}]
    assert stream["id"] not in {s["stream"] for s in answer["srt"]}


def test_on_update_for_an_unknown_session_is_refused(ingest, stream):
    assert ingest.update(stream["id"], client_id="42").status_code == 403


def test_a_deleted_streams_encoder_is_dropped(owner, ingest, stream):
    ingest.publish(stream["stream_key"])

    owner.delete(f"/api/v1/live-streams/{stream['id']}")

    assert ingest.update(stream["id"]).status_code == 403
    answer = ingest.report([stat(stream["id"])])
    assert [d["name"] for d in answer["drop"]] == [stream["id"]]


def test_resetting_the_key_refuses_the_old_key_and_the_old_relay_token(owner, ingest, stream):
    old_token = services.relay_token(LiveStream.objects.get(pk=stream["id"]))
    ingest.publish(stream["stream_key"], client_id="1")

    reset = owner.post(f"/api/v1/live-streams/{stream['id']}/reset-stream-key").json()

    # The encoder with the old key is disconnected...
    assert ingest.update(stream["id"], client_id="1").status_code == 403
    answer = ingest.report([stat(stream["id"], client_id="1")])
    assert [d["client_id"] for d in answer["drop"]] == ["1"]
    ingest.publish_done(stream["id"], client_id="1")
    # ... and may not come back; the new key and the new relay token may publish.
    assert ingest.publish(stream["stream_key"], client_id="2").status_code == 403
    assert ingest.call("on_publish", name=stream["id"], client_id="3",
                       relay=old_token).status_code == 403
    (listener,) = [s for s in ingest.report([])["srt"] if s["stream"] == stream["id"]]
    assert listener["relay_token"] != old_token
    assert reset["srt_url"].endswith(f"passphrase={listener['passphrase']}")
    assert ingest.publish(reset["stream_key"], client_id="4").status_code == 200


# --- simulcast relays ---------------------------------------------------------------------
def target_for(owner, stream_id: str, key: str = "yt-key-0123456789") -> dict:
    response = owner.post(f"/api/v1/live-streams/{stream_id}/simulcast-targets",
                          {"url": "rtmp://8.8.8.8/live2", "stream_key": key}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def target_status(owner, stream_id: str, target_id: str) -> dict:
    return owner.get(f"/api/v1/live-streams/{stream_id}/simulcast-targets/{target_id}").json()


def test_the_report_answer_asks_for_a_relay_per_target_of_an_open_session(owner, ingest, stream):
    target = target_for(owner, stream["id"])
    assert ingest.report([])["simulcast"] == []

    ingest.publish(stream["stream_key"])
    answer = ingest.report([stat(stream["id"])])

    (session,) = open_sessions(stream["id"])
    assert answer["simulcast"] == [{
        "target": target["id"], "session": session.id, "stream": stream["id"], "app": "live",
        "server": "rtmp://8.8.8.8/live2", "key": "yt-key-0123456789"}]
    assert Ingest(node="edge-2").report([])["simulcast"] == []


def test_relay_reports_move_the_target_through_its_states(owner, ingest, stream):
    target = target_for(owner, stream["id"])
    ingest.publish(stream["stream_key"])
    relay = {"target": target["id"], "session": "whatever"}

    ingest.report([stat(stream["id"])], [{**relay, "state": "starting"}])
    assert target_status(owner, stream["id"], target["id"])["status"] == "starting"

    ingest.report([stat(stream["id"])], [{**relay, "state": "broadcasting", "speed": "1.01"}])
    assert target_status(owner, stream["id"], target["id"])["status"] == "broadcasting"

    ingest.report([stat(stream["id"])], [{**relay, "state": "errored",
                                          "error": "Connection reset by peer"}])
    errored = target_status(owner, stream["id"], target["id"])
    assert errored["status"] == "errored"
    assert errored["error"] == "Connection reset by peer"

    ingest.report([stat(stream["id"])], [{**relay, "state": "broadcasting", "restarts": 1}])
    again = target_status(owner, stream["id"], target["id"])
    assert again["status"] == "broadcasting" and again["error"] is None

    ingest.report([stat(stream["id"])], [{**relay, "state": "stopped"}])
    assert target_status(owner, stream["id"], target["id"])["status"] == "idle"

    assert event_types(owner, target["id"]) == [
        "video.live_stream.simulcast_target.starting",
        "video.live_stream.simulcast_target.broadcasting",
        "video.live_stream.simulcast_target.errored",
        "video.live_stream.simulcast_target.broadcasting",
        "video.live_stream.simulcast_target.idle"]
    (errored_event,) = events(owner, "video.live_stream.simulcast_target.errored")
    assert errored_event["object"] == {"type": "simulcast_target", "id": target["id"]}
    assert errored_event["data"]["live_stream_id"] == stream["id"]
    assert errored_event["data"]["stream_key"] == "…6789"
    assert "yt-key-0123456789" not in str(events(owner))


def test_a_relay_reported_broadcasting_at_once_passes_through_starting(owner, ingest, stream):
    target = target_for(owner, stream["id"])
    ingest.publish(stream["stream_key"])

    ingest.report([stat(stream["id"])], [{"target": target["id"], "state": "broadcasting"}])

    assert target_status(owner, stream["id"], target["id"])["status"] == "broadcasting"
    assert event_types(owner, target["id"])[-1] == "video.live_stream.simulcast_target.broadcasting"


def test_targets_go_idle_when_the_encoder_leaves(owner, ingest, stream):
    target = target_for(owner, stream["id"])
    ingest.publish(stream["stream_key"])
    ingest.report([stat(stream["id"])], [{"target": target["id"], "state": "broadcasting"}])

    ingest.publish_done(stream["id"])
    answer = ingest.report([])

    assert answer["simulcast"] == []
    assert target_status(owner, stream["id"], target["id"])["status"] == "idle"


def test_a_relay_report_for_an_unknown_target_or_state_is_ignored(owner, ingest, stream):
    target = target_for(owner, stream["id"])

    ingest.report([], [{"target": "smt_00000000000000000000000000", "state": "broadcasting"},
                       {"target": target["id"], "state": "exploded"}])

    assert target_status(owner, stream["id"], target["id"])["status"] == "idle"


# --- the reconnect window and the recording -------------------------------------------------
def test_the_stream_stays_active_through_the_reconnect_window_then_goes_idle(owner, ingest,
                                                                             stream):
    go_live(ingest, stream)
    ingest.publish_done(stream["id"])

    assert services.live_streams_sweep() == []
    assert shown(owner, stream["id"])["status"] == "active"

    assert services.live_streams_sweep(after_window(stream)) == [stream["id"]]

    body = shown(owner, stream["id"])
    assert body["status"] == "idle"
    assert event_types(owner, stream["id"])[-3:] == ["video.live_stream.active",
                                                     "video.live_stream.disconnected",
                                                     "video.live_stream.idle"]
    assert services.live_streams_sweep(after_window(stream)) == []


def test_a_zero_reconnect_window_ends_the_run_when_the_encoder_leaves(owner, ingest):
    created = create_stream(owner, reconnect_window=0)
    go_live(ingest, created)

    ingest.publish_done(created["id"])

    assert shown(owner, created["id"])["status"] == "idle"


def test_a_recording_stream_creates_its_asset_at_the_first_publish(owner, ingest):
    created = create_stream(owner, new_asset_settings=RECORDING)
    assert Asset.objects.count() == 0

    ingest.publish(created["stream_key"])

    body = shown(owner, created["id"])
    asset_id = body["active_asset_id"]
    assert asset_id and body["recent_asset_ids"] == [asset_id]
    asset = owner.get(f"/api/v1/assets/{asset_id}").json()
    assert asset["live_stream_id"] == created["id"]
    assert asset["status"] == "preparing"
    assert asset["title"] == "Evening show"
    assert [p["policy"] for p in asset["playback_ids"]] == ["public"]
    assert "video.asset.created" in event_types(owner, asset_id)


def test_a_stream_without_recording_makes_no_asset(owner, ingest, stream):
    go_live(ingest, stream)

    assert shown(owner, stream["id"])["active_asset_id"] is None
    assert Asset.objects.count() == 0


def test_a_reconnect_within_the_window_continues_the_same_recording(owner, ingest):
    created = create_stream(owner, new_asset_settings=RECORDING, reconnect_window=30)
    go_live(ingest, created, client_id="1")
    asset_id = shown(owner, created["id"])["active_asset_id"]
    ingest.publish_done(created["id"], client_id="1")

    go_live(ingest, created, client_id="2")

    body = shown(owner, created["id"])
    assert body["status"] == "active"
    assert body["active_asset_id"] == asset_id
    assert {s.asset_id for s in LiveSession.objects.filter(stream_id=created["id"])} == {asset_id}
    assert body["health"]["disconnects"] == 1
    assert event_types(owner, created["id"]).count("video.live_stream.active") == 1
    assert Asset.objects.count() == 1


def test_after_the_window_the_recording_is_completed_and_the_next_run_records_anew(owner,
                                                                                   ingest):
    created = create_stream(owner, new_asset_settings=RECORDING, reconnect_window=30)
    go_live(ingest, created)
    first = shown(owner, created["id"])["active_asset_id"]
    ingest.publish_done(created["id"])

    services.live_streams_sweep(after_window(created))

    body = shown(owner, created["id"])
    assert body["status"] == "idle" and body["active_asset_id"] is None
    assert body["recent_asset_ids"] == [first]
    assert event_types(owner, first)[-1] == "video.asset.live_stream_completed"
    (completed,) = events(owner, "video.asset.live_stream_completed")
    assert completed["data"]["live_stream_id"] == created["id"]

    go_live(ingest, created, client_id="2")
    second = shown(owner, created["id"])["active_asset_id"]
    assert second and second != first
    assert shown(owner, created["id"])["recent_asset_ids"] == [second, first]


def test_the_node_is_told_to_remove_the_live_hls_of_a_run_only_once_it_is_over(owner, ingest):
    created = create_stream(owner, reconnect_window=30)
    go_live(ingest, created)
    ingest.publish_done(created["id"])
    # Inside the reconnect window the stream is still on air: its playlist stays.
    assert ingest.report()["ended"] == []

    services.live_streams_sweep(after_window(created))

    assert ingest.report()["ended"] == [{"app": "live", "name": created["id"]}]
    assert Ingest(node="edge-2").report()["ended"] == []  # another node never had it


def test_disabling_an_active_stream_ends_the_run_at_once(owner, ingest):
    created = create_stream(owner, new_asset_settings=RECORDING)
    go_live(ingest, created)
    asset_id = shown(owner, created["id"])["active_asset_id"]

    owner.post(f"/api/v1/live-streams/{created['id']}/disable")
    ingest.publish_done(created["id"])

    body = shown(owner, created["id"])
    assert body["status"] == "disabled" and body["active_asset_id"] is None
    assert "video.live_stream.idle" in event_types(owner, created["id"])
    assert event_types(owner, asset_id)[-1] == "video.asset.live_stream_completed"
    assert services.live_streams_sweep(after_window(created)) == []


# --- secrets in logs --------------------------------------------------------------------
@pytest.fixture
def log_output():
    """Everything logged while the test runs, through the project's redaction filter."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    loggers = [logging.getLogger(n) for n in ("django.request", "django.server", "kino")]
    levels = [(lg, lg.level) for lg in (root, *loggers)]
    root.addHandler(handler)
    for lg in (root, *loggers):
        lg.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        for lg, level in levels:
            lg.setLevel(level)


def test_neither_the_stream_key_nor_the_ingest_secret_reaches_a_log_line(owner, ingest, stream,
                                                                         settings, log_output):
    _, key = split_key(stream["stream_key"])
    ingest.publish(f"{stream['id']}?key=wrong-{key[:6]}")  # refused: a 403 logged with its URL
    ingest.publish(stream["stream_key"])
    ingest.update(stream["id"], client_id="404")
    ingest.report([stat(stream["id"])])
    ingest.publish_done(stream["id"])
    ingest.publish(stream["stream_key"], secret="guessed-secret")

    text = log_output.getvalue()

    assert stream["id"] in text  # the lines are there, and name the stream
    assert "/live/ingest/" in text
    assert settings.LIVE_INGEST_SECRET not in text
    assert key not in text and f"wrong-{key[:6]}" not in text
    assert "guessed-secret" not in text


def test_redact_removes_keys_tokens_and_passphrases_from_urls(settings):
    secret = settings.LIVE_INGEST_SECRET
    lines = {
        f"POST /live/ingest/{secret}/edge-1/on_publish 403": secret,
        "rtmp://127.0.0.1:1935/live/lvs_0123?key=Zm9vYmFyYmF6cXV4": "Zm9vYmFyYmF6cXV4",
        "srt://host:10001?mode=listener&passphrase=s3cr3t-pass&pbkeylen=16": "s3cr3t-pass",
        "rtmp://127.0.0.1:1935/live/lvs_0123?relay=abcdef0123456789": "abcdef0123456789",
        "PUT /upload/upl_0123/tok-en-value-123 200": "tok-en-value-123",
    }
    for line, secret_part in lines.items():
        redacted = redact(line)
        assert secret_part not in redacted, redacted
        assert "[secret]" in redacted or "[token]" in redacted
    assert "pbkeylen=16" in redact("srt://h:1?passphrase=x&pbkeylen=16")
    assert redact("nothing to hide here") == "nothing to hide here"
    # A traceback's file names are no callback URL.
    where = 'File "/srv/kino/live/ingest/recordings.py", line 75, in _handle'
    assert redact(where) == where


# --- the end of a run as reports and events tell it --------------------------------------------
def test_a_completed_stream_stays_idle_while_its_encoder_is_being_dropped(owner, ingest):
    created = create_stream(owner, new_asset_settings=RECORDING)
    go_live(ingest, created)

    owner.post(f"/api/v1/live-streams/{created['id']}/complete")
    # The node's next report still carries the encoder: it drops it on this answer.
    answer = ingest.report([stat(created["id"])])

    assert [d["name"] for d in answer["drop"]] == [created["id"]]
    assert shown(owner, created["id"])["status"] == "idle"
    assert event_types(owner, created["id"]).count("video.live_stream.active") == 1


def test_a_relay_that_fails_before_its_first_report_shows_as_errored(owner, ingest, stream):
    target = target_for(owner, stream["id"])
    ingest.publish(stream["stream_key"])

    ingest.report([stat(stream["id"])], [{
        "target": target["id"], "state": "errored",
        "error": "The URL points to a private or local address; simulcast targets must be "
                 "public."}])

    shown_target = target_status(owner, stream["id"], target["id"])
    assert shown_target["status"] == "errored"
    assert "private" in shown_target["error"]
    assert event_types(owner, target["id"])[-1] == "video.live_stream.simulcast_target.errored"


def test_health_timestamps_are_rfc3339_utc_like_every_other_timestamp(owner, ingest, stream):
    go_live(ingest, stream)

    body = shown(owner, stream["id"])

    utc = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"
    assert re.match(utc, body["created_at"])
    assert re.match(utc, body["health"]["last_seen_at"]), body["health"]


def test_deleting_an_active_stream_tells_of_the_run_ending_as_idle(owner, ingest, stream):
    go_live(ingest, stream)

    owner.delete(f"/api/v1/live-streams/{stream['id']}")

    by_type = {e["type"]: e for e in events(owner) if e["object"]["id"] == stream["id"]}
    assert by_type["video.live_stream.idle"]["data"]["status"] == "idle"
    assert by_type["video.live_stream.deleted"]["data"]["status"] == "idle"
