"""Operators make and name live streams in the console: the stream key is shown once,
on the page after the form, and every change goes through the live services."""

from __future__ import annotations

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from foundation.admin import change_url, changelist_url
from foundation.models import AuditEntry
from live import services
from live.models import LiveStream
from media_core.models import PlaybackID
from tests.conftest import ADMIN
from webhooks.models import Event

from .conftest import form_data

pytestmark = pytest.mark.django_db

ADD = "/admin/live/livestream/add/"


def _create(client, environment, **fields):
    data = {"name": "Sunday service", "environment": environment.pk,
            "playback_policy": "public", "record": "on", "latency_mode": "standard",
            "reconnect_window": "60", **fields}
    return client.post(ADD, {k: v for k, v in data.items() if v is not None})


def test_an_operator_creates_a_named_stream_and_sees_its_key_once(member, environment):
    operator = member("Live operators")
    assert operator.get(ADD).status_code == 200

    response = _create(operator, environment)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    stream = LiveStream.objects.get()
    page = response.content.decode()
    key = page.split('<code id="stream-key">', 1)[1].split("</code>", 1)[0]
    assert key.startswith(f"{stream.id}?key=")
    assert services.secret_hash(key.partition("?key=")[2]) == stream.key_hash
    assertContains(response, "This is the only time the stream key is shown.")
    assertContains(response, '<code id="rtmp-url">rtmp://')
    assert (stream.name, stream.environment, stream.latency_mode) == (
        "Sunday service", environment, "standard")
    assert stream.new_asset_settings["playback_policy"] == ["public"]
    assert list(PlaybackID.objects.filter(source_id=stream.id).values_list("policy", flat=True)) \
        == ["public"]
    entry = AuditEntry.objects.get(object_id=stream.id, action="live_stream.created")
    assert (entry.actor_type, entry.actor_label) == ("user", "live-operators")
    assert Event.objects.filter(object_id=stream.id, type="video.live_stream.created").exists()
    # Afterwards the stream's page never shows the key again.
    assertNotContains(operator.get(change_url(stream)), key.partition("?key=")[2])


def test_a_stream_without_a_name_or_with_a_bad_window_is_refused_with_a_message(
        member, environment):
    operator = member("Live operators")

    response = _create(operator, environment, name="  ", reconnect_window="5000")

    assert response.status_code == 200
    assertContains(response, "Give the stream a name operators will recognise.")
    assertContains(response, "Between 0 and 1800 seconds.")
    assert not LiveStream.objects.exists()


def test_an_unrecorded_stream_without_playback_ids(member, environment):
    operator = member("Live operators")

    _create(operator, environment, record=None, playback_policy="")

    stream = LiveStream.objects.get()
    assert stream.new_asset_settings is None
    assert not PlaybackID.objects.filter(source_id=stream.id).exists()
    assertContains(operator.get(change_url(stream)), "Not recorded")


def test_an_operator_renames_a_stream_through_the_service(member, environment):
    stream, _ = services.live_stream_create(
        environment_id=environment.id, actor=ADMIN, playback_policy=["public"],
        new_asset_settings=None, reconnect_window=30, latency_mode="low", name="Studio B")
    operator = member("Live operators")

    data = form_data(operator.get(change_url(stream)), "livestream_form")
    response = operator.post(change_url(stream), {**data, "name": "Studio C"})

    assert response.status_code == 302
    stream.refresh_from_db()
    assert stream.name == "Studio C"
    entry = AuditEntry.objects.get(object_id=stream.id, action="live_stream.updated")
    assert entry.changes == {"name": ["Studio B", "Studio C"]}
    listing = operator.get(changelist_url(LiveStream) + "?q=studio")
    assertContains(listing, "<strong>Studio C</strong>", html=True)


def test_support_reads_streams_but_cannot_create_or_rename_them(member, environment):
    stream, _ = services.live_stream_create(
        environment_id=environment.id, actor=ADMIN, playback_policy=["public"],
        new_asset_settings=None, reconnect_window=30, latency_mode="low", name="Studio B")
    support = member("Support")

    assert support.get(ADD).status_code == 403
    assert _create(support, environment).status_code == 403
    page = support.get(change_url(stream))
    assert page.status_code == 200
    assertNotContains(page, 'name="name"')
    assert support.post(change_url(stream), {"name": "Hijacked", "latency_mode": "low",
                                              "reconnect_window": "30"}).status_code == 403
    stream.refresh_from_db()
    assert stream.name == "Studio B"
    assertNotContains(support.get(changelist_url(LiveStream)), ADD)


def test_health_reads_as_rows_not_json(admin_client, environment):
    stream, _ = services.live_stream_create(
        environment_id=environment.id, actor=ADMIN, playback_policy=["public"],
        new_asset_settings=None, reconnect_window=30, latency_mode="standard", name="Studio B")
    services.ingest_publish(node="ingest-1", app="live", name=stream.id, client_id="7",
                            address="127.0.0.1", args={"relay": services.relay_token(stream)})
    services.ingest_report(node="ingest-1", relays=[], streams=[{
        "app": "live", "name": stream.id, "client_id": "7", "bytes_in": 250_000,
        "bitrate": 2_450_000, "frame_rate": 29.97, "width": 1280, "height": 720,
        "video_codec": "h264", "audio_codec": "aac", "keyframe_interval": 2.0,
        "playlist_ready": True}])

    page = admin_client.get(change_url(stream))

    for label, value in [("bitrate", "2,450 kb/s"), ("frame_rate", "30.0 fps"),
                         ("resolution", "1280×720"), ("keyframe_interval", "2.0 s"),
                         ("encoder", "connected"), ("disconnects", "0")]:
        assertContains(page, f'<td data-health="{label}">{value}</td>', html=True)
    assertNotContains(page, '"bitrate":')
