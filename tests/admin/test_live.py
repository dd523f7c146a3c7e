"""Live streams in the console: pages, and operator actions through the services."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from foundation.admin import change_url, changelist_url
from foundation.models import AuditEntry
from live import services
from live.models import LiveSession, LiveStream, SimulcastTarget
from tests.conftest import ADMIN

pytestmark = pytest.mark.django_db


@pytest.fixture
def stream(environment):
    created, _ = services.live_stream_create(
        environment_id=environment.id, actor=ADMIN, playback_policy=["public"],
        new_asset_settings={"title": "Show"}, reconnect_window=30, latency_mode="low")
    services.ingest_publish(node="ingest-1", app="live-low", name=created.id, client_id="7",
                            address="203.0.113.9",
                            args={"relay": services.relay_token(created)})
    services.simulcast_target_create(stream=created, actor=ADMIN,
                                     url="rtmp://a.example.net/app", stream_key="abcdefghijkl")
    services.ingest_report(node="ingest-1", relays=[], streams=[{
        "app": "live-low", "name": created.id, "client_id": "7", "bytes_in": 250_000,
        "bitrate": 1_200_000, "frame_rate": 30, "width": 1280, "height": 720,
        "keyframe_interval": 1.0, "playlist_ready": True}])
    created.refresh_from_db()
    return created


def _action(client, stream, action):
    return client.post(changelist_url(LiveStream), {"action": action, "_selected_action": [stream.pk]},
                       follow=True)


def test_the_stream_pages_show_status_health_sessions_and_targets(admin_client, stream):
    listing = admin_client.get(changelist_url(LiveStream) + "?status=active&encoder=connected")
    assert listing.status_code == 200
    assert stream.id in listing.content.decode() and "1,200 kb/s" in listing.content.decode()
    page = admin_client.get(change_url(stream)).content.decode()
    assert "203.0.113.9" in page  # the session's address
    assert "a.example.net" in page and "…ijkl" in page and "abcdefghijkl" not in page
    assert "1280" in page  # health sample
    for model in (LiveSession, SimulcastTarget):
        assert admin_client.get(changelist_url(model)).status_code == 200
    session = LiveSession.objects.get(stream=stream)
    assert admin_client.get(change_url(session)).status_code == 200


def test_disable_and_enable_go_through_the_service_as_the_admin_user(admin_client, stream):
    _action(admin_client, stream, "disable")
    stream.refresh_from_db()
    assert stream.status == LiveStream.Status.DISABLED
    assert LiveSession.objects.get(stream=stream).drop_requested
    _action(admin_client, stream, "enable")
    stream.refresh_from_db()
    assert stream.status == LiveStream.Status.IDLE
    actions = list(AuditEntry.objects.filter(object_id=stream.id, actor_type="user")
                   .values_list("action", flat=True))
    assert actions == ["live_stream.disabled", "live_stream.enabled"] or \
        sorted(actions) == ["live_stream.disabled", "live_stream.enabled"]


def test_reset_key_shows_the_new_key_once(admin_client, stream):
    response = _action(admin_client, stream, "reset_key")
    shown = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert f"{stream.id}?key=" in shown
    secret = shown.split("?key=", 1)[1].split("<", 1)[0]
    stream.refresh_from_db()
    assert services.secret_hash(secret) == stream.key_hash
    assert secret not in admin_client.get(change_url(stream)).content.decode()


def test_support_staff_can_read_but_not_operate(support_client, stream):
    assert support_client.get(change_url(stream)).status_code == 200
    _action(support_client, stream, "disable")
    stream.refresh_from_db()
    assert stream.status == LiveStream.Status.ACTIVE


def test_the_stream_list_links_to_the_live_dashboard(admin_client, stream):
    page = admin_client.get(changelist_url(LiveStream)).content.decode()
    assert 'href="/admin/live/dashboard/"' in page
