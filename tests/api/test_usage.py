"""GET /api/v1/usage: who may read it, what it refuses, and what it answers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from foundation.usage import services
from foundation.usage.models import Metric

from .conftest import assert_problem

pytestmark = pytest.mark.django_db

TODAY = datetime.now(UTC).date()


def usage(client, **query):
    return client.get("/api/v1/usage", query)


def test_a_key_needs_the_usage_read_scope(client_with_scopes, anonymous):
    assert_problem(usage(client_with_scopes("assets:read,audit:read")), 403, "forbidden")
    assert_problem(usage(anonymous), 401)
    assert usage(client_with_scopes("usage:read")).status_code == 200


def test_by_default_it_covers_the_last_30_days_oldest_first(owner, environment):
    body = usage(owner).json()

    assert body["environment"] == {"id": environment.id, "name": "production"}
    assert body["granularity"] == "day"
    assert body["to"] == TODAY.isoformat()
    assert body["from"] == (TODAY - timedelta(days=29)).isoformat()
    assert [row["date"] for row in body["data"]] == [
        (TODAY - timedelta(days=29 - n)).isoformat() for n in range(30)]
    assert body["data"][-1] == {
        "date": TODAY.isoformat(),
        "processing_seconds": {"total": 0.0, "encode": 0.0, "clip": 0.0,
                               "static_renditions": 0.0, "text_tracks": 0.0,
                               "live_recording": 0.0},
        "storage_bytes": {"total": 0, "originals": 0, "renditions": 0, "static_renditions": 0,
                          "text_tracks": 0, "recordings": 0, "images": 0},
        "delivery_bytes": 0, "live_seconds": 0.0, "recording_seconds": 0.0,
        "orphaned_bytes_deleted": 0}


@pytest.mark.parametrize("query, field", [
    ({"from": "2026-11-30", "to": "2026-11-01"}, "from"),
    ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),
    ({"from": "2026-13-01"}, "from"),
    ({"to": "yesterday"}, "to"),
    ({"granularity": "hour"}, "granularity"),
])
def test_a_bad_range_or_granularity_is_a_400_naming_the_parameter(owner, query, field):
    body = assert_problem(usage(owner, **query), 400, "invalid_request")

    assert list(body["errors"]) == [field]


def test_a_range_of_366_days_is_answered(owner):
    body = usage(owner, **{"from": "2025-01-01", "to": "2026-01-01"}).json()

    assert len(body["data"]) == 366


def test_days_to_come_are_left_out(owner):
    body = usage(owner, **{"from": (TODAY - timedelta(days=1)).isoformat(),
                           "to": (TODAY + timedelta(days=5)).isoformat()}).json()

    assert [row["date"] for row in body["data"]] == [
        (TODAY - timedelta(days=1)).isoformat(), TODAY.isoformat()]


def test_a_key_sees_its_own_environments_figures_only(owner, outsider, environment):
    services.counter_add(environment_id=environment.id, metric=Metric.DELIVERY_BYTES,
                         amount=123, day=date(2026, 11, 2))
    services.counter_add(environment_id=environment.id, metric=Metric.PROCESSING_MS,
                         dimension="encode", amount=1500, day=date(2026, 11, 2))
    query = {"from": "2026-11-02", "to": "2026-11-02"}

    mine = usage(owner, **query).json()["data"][0]
    theirs = usage(outsider, **query).json()["data"][0]

    assert (mine["delivery_bytes"], mine["processing_seconds"]["encode"]) == (123, 1.5)
    assert mine["processing_seconds"]["total"] == 1.5
    assert (theirs["delivery_bytes"], theirs["processing_seconds"]["total"]) == (0, 0.0)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_delivery_bytes_are_what_a_player_received_up_to_the_request(owner, anonymous,
                                                                     ready_asset):
    playback_id = ready_asset["playback_ids"][0]["id"]
    received = 0
    master = anonymous.get(f"/v/{playback_id}.m3u8")
    received += len(master.content)
    child = next(line for line in master.content.decode().splitlines()
                 if line and not line.startswith("#"))
    playlist = body_of(anonymous.get(child))
    received += len(playlist)
    base = child.rsplit("/", 1)[0]
    for name in re.findall(r'^(?!#)(\S+)$|URI="([^"]+)"', playlist.decode(), re.M):
        segment = anonymous.get(f"{base}/{name[0] or name[1]}")
        assert segment.status_code == 200
        received += len(body_of(segment))
    anonymous.get(f"/v/{playback_id}/nothing-here.m4s")  # refused: not counted

    row = usage(owner).json()["data"][-1]

    assert received > 10_000
    assert row["delivery_bytes"] == received
