"""Every read of the API costs a fixed, small number of queries, whatever the length of
the list or the number of related rows each object shows.

The counts are of the view's own queries: the client is authenticated with DRF's
force_authenticate, so finding the API key (which costs nothing when the key is in a
warm shared cache, and one query when it is not) is left out of every count.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from foundation.context import Actor
from live import services as live_services
from media_core.api.serializers import asset_data
from media_core.models import Asset, Rendition
from playback.services import signing_key_create
from tests.clips import random_bytes
from tests.factories import asset_from_file, upload_for
from webhooks import services as webhook_services
from webhooks.models import WebhookAttempt, WebhookDelivery

pytestmark = pytest.mark.django_db

TESTS = Actor.system("tests")


@pytest.fixture
def api(environment, make_key) -> APIClient:
    """A client of an all-scopes key of the environment, its authentication not counted."""
    key, _ = make_key(environment)
    client = APIClient()
    client.force_authenticate(user=None, token=key)
    return client


def read(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.content
    return response.json()


def make_assets(environment, tmp_path, count: int) -> list[Asset]:
    """Assets as the API shows them at their busiest: two playback IDs, a job, and (every
    other one) processed into two video renditions and an audio one."""
    assets = []
    for i in range(count):
        asset = asset_from_file(environment, random_bytes(tmp_path / f"{i}.mp4", 100),
                                playback_policy=["public", "signed"], title=f"asset {i}")
        if i % 2:
            for name, kind, height in (("720p", "video", 720), ("360p", "video", 360),
                                       ("audio", "audio", None)):
                Rendition.objects.create(asset=asset, name=name, kind=kind, height=height,
                                         width=height and height * 16 // 9, bitrate=1000,
                                         peak_bitrate=1200, codecs="avc1.64001f")
            Asset.objects.filter(pk=asset.pk).update(status=Asset.Status.READY,
                                                     renditions_status="ready")
        assets.append(asset)
    return assets


# --- assets and uploads -------------------------------------------------------------------
def test_an_asset_is_read_in_five_queries(api, environment, tmp_path,
                                          django_assert_num_queries, settings):
    """The asset with its upload and its latest job's progress; its video renditions;
    its playback IDs; its text tracks; its downloads (each time when no document is
    kept, the first time when one is)."""
    settings.API_DOCUMENT_CACHE = "off"
    preparing, ready = make_assets(environment, tmp_path, 2)

    for asset in (preparing, ready):
        with django_assert_num_queries(5):
            body = read(api, f"/api/v1/assets/{asset.id}")
        assert len(body["playback_ids"]) == 2
        assert body["upload_id"]
    assert body["status"] == "ready"
    assert [r["name"] for r in body["renditions"]] == ["720p", "360p"]


def test_a_preparing_asset_shows_the_progress_of_its_latest_job(api, environment, tmp_path):
    asset = make_assets(environment, tmp_path, 1)[0]
    asset.jobs.update(progress=0.4567)

    assert read(api, f"/api/v1/assets/{asset.id}")["progress"] == 0.457


@pytest.mark.parametrize("count", [1, 25])
def test_the_asset_list_costs_six_queries_for_one_asset_or_a_full_page(
        api, environment, tmp_path, django_assert_num_queries, count, settings):
    """The page's ids; then, for assets whose documents are not built yet, the assets
    with their uploads and progress, their renditions, their playback IDs, their text
    tracks, their downloads."""
    settings.API_DOCUMENT_CACHE = "off"
    make_assets(environment, tmp_path, count)

    with django_assert_num_queries(6):
        body = read(api, "/api/v1/assets")

    assert len(body["data"]) == count
    assert all(len(a["playback_ids"]) == 2 for a in body["data"])


@pytest.mark.parametrize("count", [1, 25])
def test_built_documents_leave_one_query_to_a_list_and_none_to_an_asset(
        api, environment, tmp_path, django_assert_num_queries, count, documents_on):
    assets = make_assets(environment, tmp_path, count)
    first = read(api, "/api/v1/assets")

    with django_assert_num_queries(1):  # the page's ids
        assert read(api, "/api/v1/assets") == first
    with django_assert_num_queries(0):
        assert read(api, f"/api/v1/assets/{assets[0].id}")["id"] == assets[0].id


def test_an_asset_reads_the_same_in_the_list_in_its_own_document_and_in_its_events(
        api, environment, tmp_path):
    for asset in make_assets(environment, tmp_path, 2):
        shown = read(api, f"/api/v1/assets/{asset.id}")
        fresh = Asset.objects.get(pk=asset.pk)  # no prefetching: the serializer asks itself

        assert shown == next(a for a in read(api, "/api/v1/assets")["data"]
                             if a["id"] == asset.id)
        assert shown == read_json(asset_data(fresh))


def read_json(data: dict) -> dict:
    """`data` as a client reads it after rendering."""
    return json.loads(JSONRenderer().render(data))


def test_a_playback_id_of_an_asset_is_read_in_one_query(api, environment, tmp_path,
                                                        django_assert_num_queries):
    asset = make_assets(environment, tmp_path, 1)[0]
    playback_id = asset.playback_ids.first()

    with django_assert_num_queries(1):
        body = read(api, f"/api/v1/assets/{asset.id}/playback-ids/{playback_id.id}")

    assert body == {"id": playback_id.id, "policy": playback_id.policy}


def test_a_missing_playback_id_still_names_what_is_missing(api, environment, tmp_path):
    asset = make_assets(environment, tmp_path, 1)[0]

    no_asset = api.get(f"/api/v1/assets/ast_{'0' * 26}/playback-ids/pbk_{'0' * 26}").json()
    no_pbk = api.get(f"/api/v1/assets/{asset.id}/playback-ids/pbk_{'0' * 26}").json()

    assert no_asset["detail"].startswith("No asset")
    assert no_pbk["detail"].startswith("No playback ID")


@pytest.mark.parametrize("count", [1, 25])
def test_uploads_are_read_in_one_query(api, environment, django_assert_num_queries, count):
    uploads = [upload_for(environment) for _ in range(count)]

    with django_assert_num_queries(1):
        assert len(read(api, "/api/v1/uploads")["data"]) == count
    with django_assert_num_queries(1):
        read(api, f"/api/v1/uploads/{uploads[0].id}")


# --- playback ----------------------------------------------------------------------------
@pytest.mark.parametrize("count", [1, 3])  # RSA keys take a while to make
def test_signing_keys_are_read_in_one_query(api, environment, django_assert_num_queries,
                                            count):
    keys = [signing_key_create(environment=environment, actor=TESTS)[0] for _ in range(count)]

    with django_assert_num_queries(1):
        assert len(read(api, "/api/v1/signing-keys")["data"]) == count
    with django_assert_num_queries(1):
        read(api, f"/api/v1/signing-keys/{keys[0].id}")


# --- live ------------------------------------------------------------------------------------
def make_streams(environment, count: int, recordings: int = 12) -> list:
    """Streams with two playback IDs, two simulcast targets and a dozen recordings each."""
    streams = []
    for _ in range(count):
        stream, _ = live_services.live_stream_create(
            environment_id=environment.id, actor=TESTS, playback_policy=["public", "signed"],
            new_asset_settings=None, reconnect_window=60, latency_mode="standard")
        for n in range(2):
            live_services.simulcast_target_create(stream=stream, actor=TESTS,
                                                  url=f"rtmp://8.8.8.{n + 1}/app")
        # Only their link to the stream counts here: rows, not processed recordings.
        Asset.objects.bulk_create(Asset(environment=environment, live_stream_id=stream.id,
                                        status=Asset.Status.READY) for _ in range(recordings))
        streams.append(stream)
    return streams


def test_a_live_stream_is_read_in_four_queries(api, environment, django_assert_num_queries):
    """The stream; its simulcast targets; its playback IDs; its latest recordings."""
    stream = make_streams(environment, 1)[0]

    with django_assert_num_queries(4):
        body = read(api, f"/api/v1/live-streams/{stream.id}")

    assert len(body["playback_ids"]) == 2
    assert len(body["simulcast_targets"]) == 2
    assert len(body["recent_asset_ids"]) == 10
    assert body["recent_asset_ids"] == sorted(body["recent_asset_ids"], reverse=True)


@pytest.mark.parametrize("count", [1, 5])
def test_the_live_stream_list_costs_four_queries_for_any_number_of_streams(
        api, environment, django_assert_num_queries, count):
    unrecorded = make_streams(environment, 1, recordings=0)[0]
    streams = make_streams(environment, count)

    with django_assert_num_queries(4):
        body = read(api, "/api/v1/live-streams")

    assert [s["id"] for s in body["data"]] == [s.id for s in reversed([unrecorded, *streams])]
    for listed, stream in zip(body["data"], reversed(streams), strict=False):
        assert len(listed["recent_asset_ids"]) == 10
        assert set(listed["recent_asset_ids"]) <= set(
            Asset.objects.filter(live_stream_id=stream.id).values_list("id", flat=True))
    assert body["data"][-1]["recent_asset_ids"] == []


def test_a_listed_stream_reads_as_its_own_document(api, environment):
    stream = make_streams(environment, 1)[0]

    shown = read(api, f"/api/v1/live-streams/{stream.id}")
    listed = read(api, "/api/v1/live-streams")["data"][0]

    for body in (shown, listed):
        body["health"].pop("uptime")
    assert shown == listed


def test_simulcast_targets_are_read_in_two_queries_and_one(api, environment,
                                                          django_assert_num_queries):
    stream = make_streams(environment, 1)[0]
    target = stream.simulcast_targets.first()

    with django_assert_num_queries(2):  # the stream is there; its targets
        assert len(read(api, f"/api/v1/live-streams/{stream.id}/simulcast-targets")["data"]) == 2
    with django_assert_num_queries(1):
        read(api, f"/api/v1/live-streams/{stream.id}/simulcast-targets/{target.id}")


def test_a_missing_simulcast_target_still_names_what_is_missing(api, environment):
    stream = make_streams(environment, 1)[0]
    nothing = f"smt_{'0' * 26}"

    no_stream = api.get(f"/api/v1/live-streams/lvs_{'0' * 26}/simulcast-targets/{nothing}")
    no_target = api.get(f"/api/v1/live-streams/{stream.id}/simulcast-targets/{nothing}")
    no_list = api.get(f"/api/v1/live-streams/lvs_{'0' * 26}/simulcast-targets")

    assert no_stream.json()["detail"].startswith("No live stream")
    assert no_target.json()["detail"].startswith("No simulcast target")
    assert no_list.status_code == 404


# --- webhooks, events, audit -----------------------------------------------------------------
def make_deliveries(environment, count: int):
    endpoint, _ = webhook_services.endpoint_create(
        environment_id=environment.id, url="https://hooks.example.com/kino", events=["*"],
        actor=TESTS)
    for _ in range(count):
        upload_for(environment)  # an event, delivered to the endpoint
    now = timezone.now()
    for delivery in WebhookDelivery.objects.filter(endpoint=endpoint):
        for n in range(2):
            WebhookAttempt.objects.create(delivery=delivery, status_code=500, latency_ms=9,
                                          started_at=now + timedelta(seconds=n))
    return endpoint


@pytest.mark.parametrize("count", [1, 25])
def test_webhook_endpoints_and_their_deliveries_cost_the_same_for_any_number(
        api, environment, django_assert_num_queries, count):
    endpoint = make_deliveries(environment, count)
    for _ in range(count - 1):
        webhook_services.endpoint_create(environment_id=environment.id, events=["*"],
                                         url="https://hooks.example.com/other", actor=TESTS)

    with django_assert_num_queries(1):
        assert len(read(api, "/api/v1/webhook-endpoints")["data"]) == count
    with django_assert_num_queries(1):
        read(api, f"/api/v1/webhook-endpoints/{endpoint.id}")
    with django_assert_num_queries(3):  # the endpoint; its deliveries with their events; attempts
        deliveries = read(api, f"/api/v1/webhook-endpoints/{endpoint.id}/deliveries")["data"]
    assert len(deliveries) == count  # one event per upload
    assert all(len(d["attempts"]) == 2 and d["event_type"] for d in deliveries)


@pytest.mark.parametrize("count", [1, 25])
def test_events_and_the_audit_log_are_read_in_one_query(api, environment,
                                                        django_assert_num_queries, count):
    for _ in range(count):
        upload_for(environment)

    with django_assert_num_queries(1):
        events = read(api, "/api/v1/events")["data"]
    with django_assert_num_queries(1):
        read(api, f"/api/v1/events/{events[0]['id']}")
    with django_assert_num_queries(1):
        assert len(read(api, "/api/v1/audit-log")["data"]) >= count
    assert len(events) == count  # one event per upload


# --- viewers and upload URLs -------------------------------------------------------------------
def ready_playback_id(environment, tmp_path, policy: str = "public") -> str:
    asset = make_assets(environment, tmp_path, 2)[1]  # the second one is made ready
    Asset.objects.filter(pk=asset.pk).update(media_prefix=f"assets/{asset.id}/job_x-1")
    return asset.playback_ids.get(policy=policy).id


def test_the_master_playlist_is_written_from_one_query(anonymous, environment, tmp_path,
                                                       django_assert_num_queries):
    """The playback ID, its asset, the asset's renditions and its text tracks, read
    together."""
    playback_id = ready_playback_id(environment, tmp_path)

    with django_assert_num_queries(1):
        response = anonymous.get(f"/v/{playback_id}.m3u8")

    assert response.status_code == 200, response.content
    lines = response.content.decode().splitlines()
    assert sum(line.startswith("#EXT-X-MEDIA:TYPE=AUDIO") for line in lines) == 1
    variants = [line for line in lines if line.startswith("#EXT-X-STREAM-INF")]
    assert [v.split("RESOLUTION=")[1].split(",")[0] for v in variants] == ["1280x720", "640x360"]


def test_a_public_master_playlist_is_written_again_without_a_query(
        anonymous, environment, tmp_path, django_assert_num_queries, documents_on):
    """Once read, the playlist is written from what this process kept under the asset's
    version; only the child links' token and expiry are new."""
    playback_id = ready_playback_id(environment, tmp_path)
    first = anonymous.get(f"/v/{playback_id}.m3u8").content.decode()
    anonymous.get(f"/v/{playback_id}.m3u8")  # the version is read before the database now

    with django_assert_num_queries(0):
        again = anonymous.get(f"/v/{playback_id}.m3u8")

    assert again.status_code == 200
    assert again["Cache-Control"] == "public, max-age=30"
    child_base = re.compile(r"/v/pbk_[0-9a-z]+/s/\d+/[^/]+/")  # expiry and signature
    assert len(child_base.findall(again.content.decode())) == 3
    assert child_base.sub("", again.content.decode()) == child_base.sub("", first)

    Asset.objects.filter(pk=Asset.objects.get(playback_ids=playback_id).pk).update(
        allowed_origins=["https://shop.example.com"])
    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 403


def test_the_master_playlist_refuses_in_one_query_too(anonymous, environment, tmp_path,
                                                      django_assert_num_queries):
    preparing = make_assets(environment, tmp_path, 1)[0].playback_ids.first().id

    with django_assert_num_queries(1):
        assert anonymous.get(f"/v/{preparing}.m3u8").status_code == 412
    with django_assert_num_queries(1):
        assert anonymous.get(f"/v/pbk_{'0' * 26}.m3u8").status_code == 404


def test_a_signed_master_playlist_adds_only_its_signing_key(anonymous, environment, tmp_path,
                                                           django_assert_num_queries):
    import time

    import jwt

    playback_id = ready_playback_id(environment, tmp_path, policy="signed")
    key, private_pem = signing_key_create(environment=environment, actor=TESTS)
    token = jwt.encode({"sub": playback_id, "aud": "v", "exp": int(time.time()) + 600},
                       private_pem, algorithm="RS256", headers={"kid": key.id})

    with django_assert_num_queries(2):
        response = anonymous.get(f"/v/{playback_id}.m3u8", {"token": token})

    assert response.status_code == 200, response.content


def test_a_tus_head_is_answered_from_one_query(anonymous, environment, django_assert_num_queries):
    from media_core.upload_urls import upload_url

    upload = upload_for(environment)
    path = "/upload/" + upload_url(upload).split("/upload/", 1)[1]
    created = anonymous.post(path, HTTP_UPLOAD_LENGTH="1000", HTTP_TUS_RESUMABLE="1.0.0")
    assert created.status_code == 201, created.content

    with django_assert_num_queries(1):
        response = anonymous.head(path, HTTP_TUS_RESUMABLE="1.0.0")

    assert response.status_code == 200
    assert (response["Upload-Offset"], response["Upload-Length"]) == ("0", "1000")


def test_the_master_read_in_one_query_is_the_one_the_asset_writes(environment, tmp_path):
    from media_core.models import TextTrack
    from media_core.selectors import ready_text_tracks
    from playback.hls import master_playlist
    from playback.views import _find_for_master

    playback_id = ready_playback_id(environment, tmp_path)
    asset = Asset.objects.get(playback_ids=playback_id)
    for language in ("en", "de"):
        TextTrack.objects.create(asset=asset, status="ready", language_code=language,
                                 name=language, source_format="webvtt")
    found, renditions, text_tracks = _find_for_master(playback_id)

    assert [t.id for t in text_tracks] == [t.id for t in ready_text_tracks(asset_id=asset.id)]
    assert master_playlist(found.asset, "/base", renditions, text_tracks=text_tracks,
                           text_base="/text") == master_playlist(
        asset, "/base", text_tracks=ready_text_tracks(asset_id=asset.id), text_base="/text")
    for field in Asset._meta.concrete_fields:
        assert getattr(found.asset, field.attname) == getattr(asset, field.attname), field
    assert _find_for_master(f"pbk_{'0' * 26}") == (None, [], [])
