"""The operator dashboard: its WebSocket (through the project's whole ASGI stack: origin
check, session auth, routing) and its admin page. Changes commit for real, so the
cards services broadcast after commit reach the socket."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from config.asgi import application
from foundation.context import Actor
from foundation.tenancy import environment_get_or_create
from live import services
from live.consumers import NOT_ALLOWED
from live.models import LiveStream

PATH = "/ws/live/dashboard/"
ORIGIN = b"http://127.0.0.1:8000"
OPERATOR = Actor.system("tests")
INGEST = {"node": "edge-1", "app": "live", "client_id": "7", "address": "198.51.100.7"}


@pytest.fixture(autouse=True)
def fresh_layer(settings):
    """A channel layer of the test's own (changing the setting replaces the layer)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def environment(transactional_db):
    return environment_get_or_create(name="production", actor=OPERATOR)


def _stream(environment) -> tuple[LiveStream, str]:
    stream, key = services.live_stream_create(
        environment_id=environment.id, actor=OPERATOR, playback_policy=["public"],
        new_asset_settings=None, reconnect_window=60, latency_mode="standard")
    return stream, key.split("?key=", 1)[1]


def _socket(user=None, origin: bytes = ORIGIN) -> WebsocketCommunicator:
    """A browser's socket: made before the event loop runs (logging in touches the database)."""
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    if user is not None:
        client = Client()
        client.force_login(user)
        name = django_settings.SESSION_COOKIE_NAME
        headers.append((b"cookie", f"{name}={client.cookies[name].value}".encode()))
    return WebsocketCommunicator(application, PATH, headers=headers)


@pytest.fixture
def staff(django_user_model, transactional_db):
    return django_user_model.objects.create_user("operator", password="pw", is_staff=True)


@pytest.fixture
def member(django_user_model, transactional_db):
    return django_user_model.objects.create_user("viewer", password="pw")


def test_a_staff_user_gets_a_snapshot_then_each_change_after_it_commits(staff, environment):
    stream, _ = _stream(environment)
    gone, _ = _stream(environment)
    services.live_stream_delete(stream=gone, actor=OPERATOR)

    socket = _socket(staff)

    async def scenario():
        connected, _ = await socket.connect()
        assert connected
        snapshot = await socket.receive_json_from()
        assert snapshot["type"] == "snapshot"
        assert [card["id"] for card in snapshot["streams"]] == [stream.id]  # not the deleted one
        card = snapshot["streams"][0]
        assert card["status"] == "idle" and card["environment"] == "production"
        assert card["health"]["connected"] is False

        await database_sync_to_async(services.live_stream_disable)(stream=stream, actor=OPERATOR)
        update = await socket.receive_json_from()
        assert update["type"] == "update"
        assert update["stream"]["id"] == stream.id and update["stream"]["status"] == "disabled"
        assert await socket.receive_nothing()
        await socket.disconnect()

    async_to_sync(scenario)()


def test_new_streams_encoder_health_and_deletions_arrive_as_updates(staff, environment):
    socket = _socket(staff)

    async def scenario():
        assert (await socket.connect())[0]
        assert (await socket.receive_json_from())["streams"] == []

        stream, secret = await database_sync_to_async(_stream)(environment)
        created = await socket.receive_json_from()
        assert created == {"type": "update", "stream": created["stream"]}
        assert created["stream"]["id"] == stream.id and created["stream"]["status"] == "idle"

        await database_sync_to_async(services.ingest_publish)(
            **INGEST, name=stream.id, args={"key": secret})
        connected = (await socket.receive_json_from())["stream"]
        assert connected["health"]["connected"] is True

        await database_sync_to_async(services.ingest_report)(node=INGEST["node"], relays=[], streams=[{
            "app": "live", "name": stream.id, "client_id": INGEST["client_id"],
            "bytes_in": 1_250_000, "bitrate": 2_500_000, "frame_rate": 30.0, "width": 1280,
            "height": 720, "video_codec": "H264", "audio_codec": "AAC",
            "keyframe_interval": 2.0, "stalled": False, "playlist_ready": True}])
        active = (await socket.receive_json_from())["stream"]
        assert active["status"] == "active"
        health = active["health"]
        assert (health["bitrate"], health["frame_rate"], health["width"], health["height"],
                health["keyframe_interval"]) == (2_500_000, 30.0, 1280, 720, 2.0)
        assert health["uptime"] is not None and not health["stalled"]

        await database_sync_to_async(services.live_stream_delete)(stream=stream, actor=OPERATOR)
        deleted = await socket.receive_json_from()
        # Ending the run is part of the same commit: the last card says "deleted".
        while deleted["stream"]["status"] != "deleted":
            deleted = await socket.receive_json_from()
        assert deleted["stream"]["id"] == stream.id
        await socket.disconnect()

    async_to_sync(scenario)()


def _refused(user) -> None:
    socket = _socket(user)

    async def scenario():
        await socket.connect()
        assert await socket.receive_output() == {"type": "websocket.close", "code": NOT_ALLOWED}
        await socket.disconnect()

    async_to_sync(scenario)()


def test_it_refuses_an_anonymous_visitor(transactional_db):
    _refused(None)


def test_it_refuses_a_logged_in_user_who_is_not_staff(member):
    _refused(member)


def test_it_refuses_an_inactive_staff_user(staff):
    staff.is_active = False
    staff.save()
    _refused(staff)


def test_a_refused_socket_hears_no_changes(member, environment):
    stream, _ = _stream(environment)

    socket = _socket(member)

    async def scenario():
        await socket.connect()
        assert (await socket.receive_output())["code"] == NOT_ALLOWED
        await database_sync_to_async(services.live_stream_disable)(stream=stream, actor=OPERATOR)
        assert await socket.receive_nothing()

    async_to_sync(scenario)()


def test_it_refuses_a_page_of_another_site_even_with_a_staff_session(staff):
    socket = _socket(staff, origin=b"https://evil.example")

    async def scenario():
        connected, _ = await socket.connect()
        assert not connected

    async_to_sync(scenario)()


# --- the page ---------------------------------------------------------------------------
def test_the_page_shows_streams_to_staff_with_the_socket_to_keep_them_current(staff, environment):
    stream, _ = _stream(environment)
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/live/dashboard/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-socket-path="/ws/live/dashboard/"' in page
    assert "live/dashboard.js" in page
    assert stream.id in page  # the first rows, before the socket connects
    assert '<th scope="col" class="num">Bitrate (kb/s)</th>' in page


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_the_page_sends_others_to_the_login(who, member):
    client = Client()
    if who == "member":
        client.force_login(member)
    response = client.get("/admin/live/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
