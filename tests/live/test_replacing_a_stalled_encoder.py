"""A second encoder with the key is refused while the first streams, and replaces it
once the first has stalled (a dropped network whose connection lingers)."""

from __future__ import annotations

import pytest

from live import services
from live.models import LiveSession
from tests.conftest import ADMIN

pytestmark = pytest.mark.django_db


def _report(stream, client_id: str, stalled: bool) -> dict:
    return services.ingest_report(node="n1", relays=[], streams=[{
        "app": "live", "name": stream.id, "client_id": client_id, "bytes_in": 1000,
        "bitrate": 0 if stalled else 900_000, "stalled": stalled, "playlist_ready": True}])


def test_a_new_encoder_replaces_a_stalled_one_but_not_a_healthy_one(environment):
    stream, key = services.live_stream_create(
        environment_id=environment.id, actor=ADMIN, playback_policy=[], new_asset_settings=None,
        reconnect_window=30, latency_mode="standard")
    secret = key.split("key=", 1)[1]
    services.ingest_publish(node="n1", app="live", name=stream.id, client_id="1", address="a",
                            args={"key": secret})
    _report(stream, "1", stalled=False)

    with pytest.raises(services.Refused, match="another encoder is publishing this stream$"):
        services.ingest_publish(node="n1", app="live", name=stream.id, client_id="2",
                                address="b", args={"key": secret})
    assert _report(stream, "1", stalled=True)["drop"] == []

    with pytest.raises(services.Refused, match="stalled and is being disconnected"):
        services.ingest_publish(node="n1", app="live", name=stream.id, client_id="3",
                                address="b", args={"key": secret})
    answer = services.desired_state("n1")
    assert answer["drop"] == [{"app": "live", "name": stream.id, "client_id": "1"}]

    # The ingest drops it; nginx-rtmp reports the end; the encoder's retry gets in.
    services.ingest_publish_done(node="n1", client_id="1", name=stream.id)
    session = services.ingest_publish(node="n1", app="live", name=stream.id, client_id="4",
                                      address="b", args={"key": secret})
    assert LiveSession.objects.get(pk=session.pk).ended_at is None
    stream.refresh_from_db()
    assert stream.connected and stream.status == "active"  # the run went on


def test_a_malformed_report_is_refused_with_400(client, settings):
    url = f"/live/ingest/{settings.LIVE_INGEST_SECRET}/n1/report"
    for body in ('{"streams": ["x"]}', '{"relays": [1]}', '[1]', 'not json'):
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 400, body
