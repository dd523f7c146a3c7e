"""Publication through the API: an asset plays only while it is published."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from foundation.audit import AuditEntry
from media_core.models import Asset
from media_core.services import processing
from media_core.services.assets import asset_record_inspection
from media_core.services.publication import publication_run_due
from tests.clips import random_bytes
from tests.factories import asset_from_file
from webhooks.models import Event

pytestmark = pytest.mark.django_db

RENDITIONS = [
    {"name": "720p", "kind": "video", "width": 1280, "height": 720, "frame_rate": 30.0,
     "bitrate": 2_000_000, "peak_bitrate": 2_400_000, "codecs": "avc1.64001f"},
    {"name": "audio", "kind": "audio", "width": None, "height": None, "frame_rate": None,
     "bitrate": 128_000, "peak_bitrate": 130_000, "codecs": "mp4a.40.2"},
]


def new_asset(environment, tmp_path, **settings) -> Asset:
    return asset_from_file(environment, random_bytes(tmp_path / "a.mp4", 100),
                           playback_policy=["public"], **settings)


def finish(asset: Asset) -> Asset:
    """Processing succeeds (its services, without FFmpeg): the asset becomes ready."""
    job = processing.job_claim(job_id=asset.jobs.get().id)
    asset_record_inspection(asset=asset, duration=10.0, tracks=[], aspect_ratio="16:9")
    assert processing.job_succeed(job=job, renditions=RENDITIONS, max_resolution="720p")
    return Asset.objects.get(pk=asset.pk)


def plays(client, asset: Asset) -> bool:
    """What a viewer finds: the master playlist, the embed page and the thumbnail agree."""
    playback_id = asset.playback_ids.get().id
    master = client.get(f"/v/{playback_id}.m3u8").status_code
    embed = client.get(f"/embed/{playback_id}").status_code
    if master == 404:
        assert embed == 404
        assert client.get(f"/v/{playback_id}/thumbnail.jpg").status_code == 404
        return False
    assert (master, embed) == (200, 200)
    return True


def event_types(asset: Asset) -> list[str]:
    return list(Event.objects.filter(object_id=asset.id).order_by("id")
                .values_list("type", flat=True))


def test_under_auto_an_asset_is_published_when_it_becomes_ready(owner, anonymous, environment,
                                                                 tmp_path):
    asset = new_asset(environment, tmp_path)
    shown = owner.get(f"/api/v1/assets/{asset.id}").json()
    assert shown["publication_status"] == "scheduled" and shown["publish_at"]

    asset = finish(asset)

    shown = owner.get(f"/api/v1/assets/{asset.id}").json()
    assert shown["publication_status"] == "published" and shown["published_at"]
    assert shown["publish_at"] is None
    assert event_types(asset)[-3:] == ["video.asset.ready", "video.asset.published",
                                       "video.asset.renditions_ready"]
    assert plays(anonymous, asset)


def test_under_review_an_asset_waits_in_draft_until_an_editor_publishes_it(
        owner, anonymous, environment, tmp_path):
    environment.publishing = "review"
    environment.save()
    asset = finish(new_asset(environment, tmp_path))

    assert owner.get(f"/api/v1/assets/{asset.id}").json()["publication_status"] == "draft"
    assert not plays(anonymous, asset)

    published = owner.post(f"/api/v1/assets/{asset.id}/publish", {}, format="json")

    assert published.status_code == 200, published.content
    assert published.json()["publication_status"] == "published"
    assert plays(anonymous, asset)
    assert event_types(asset)[-1] == "video.asset.published"
    entry = AuditEntry.objects.filter(object_id=asset.id).latest("id")
    assert entry.action == "asset.published"
    assert entry.changes["publication_status"] == ["draft", "published"]


def test_publish_false_keeps_one_asset_a_draft_under_auto(owner, anonymous, environment,
                                                           tmp_path):
    asset = finish(new_asset(environment, tmp_path, publish=False))

    assert owner.get(f"/api/v1/assets/{asset.id}").json()["publication_status"] == "draft"
    assert not plays(anonymous, asset)


def test_publish_false_is_taken_by_the_upload_api(owner):
    created = owner.post("/api/v1/uploads", {"new_asset_settings": {"publish": False}},
                         format="json")

    assert created.status_code == 201
    assert created.json()["new_asset_settings"]["publish"] is False


def test_only_a_ready_asset_is_published_now(owner, environment, tmp_path):
    asset = new_asset(environment, tmp_path, publish=False)

    refused = owner.post(f"/api/v1/assets/{asset.id}/publish", {}, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "asset_not_ready"


def test_unpublished_playback_is_404_at_once_whatever_the_policy(owner, anonymous, environment,
                                                                  tmp_path, settings):
    asset = finish(new_asset(environment, tmp_path))
    playback_id = asset.playback_ids.get().id
    master = anonymous.get(f"/v/{playback_id}.m3u8").content.decode()
    child = next(line for line in master.splitlines() if line.startswith("/v/"))

    answer = owner.post(f"/api/v1/assets/{asset.id}/unpublish", {}, format="json")

    assert answer.json()["publication_status"] == "unpublished"
    assert not plays(anonymous, asset)
    assert anonymous.get(child).status_code == 404  # the links given out stop too
    assert event_types(asset)[-1] == "video.asset.unpublished"
    again = owner.post(f"/api/v1/assets/{asset.id}/unpublish", {}, format="json")
    assert again.status_code == 409


def test_a_scheduled_publication_plays_from_its_time_to_the_second(owner, anonymous,
                                                                    environment, tmp_path):
    asset = finish(new_asset(environment, tmp_path, publish=False))
    at = timezone.now() + timedelta(seconds=2)

    scheduled = owner.post(f"/api/v1/assets/{asset.id}/publish", {"at": at.isoformat()},
                           format="json").json()

    assert scheduled["publication_status"] == "scheduled"
    assert not plays(anonymous, asset)
    time.sleep(max(0.0, (at - timezone.now()).total_seconds()) + 0.1)
    assert plays(anonymous, asset)  # before any schedule ran
    assert publication_run_due() == {"published": 1, "unpublished": 0}
    assert owner.get(f"/api/v1/assets/{asset.id}").json()["publication_status"] == "published"
    assert event_types(asset)[-1] == "video.asset.published"


def test_a_scheduled_unpublication_stops_playback_at_its_time(owner, anonymous, environment,
                                                               tmp_path, documents_on):
    asset = finish(new_asset(environment, tmp_path))
    at = timezone.now() + timedelta(seconds=2)
    owner.post(f"/api/v1/assets/{asset.id}/unpublish", {"at": at.isoformat()}, format="json")
    assert plays(anonymous, asset)
    assert plays(anonymous, asset)  # the master playlist from the kept template

    time.sleep(max(0.0, (at - timezone.now()).total_seconds()) + 0.1)

    assert not plays(anonymous, asset)
    assert publication_run_due()["unpublished"] == 1
    assert owner.get(f"/api/v1/assets/{asset.id}").json()["publication_status"] == "unpublished"


def test_a_bad_time_is_a_400_naming_the_field(owner, environment, tmp_path):
    asset = finish(new_asset(environment, tmp_path))

    refused = owner.post(f"/api/v1/assets/{asset.id}/publish", {"at": "tomorrow"}, format="json")

    assert refused.status_code == 400
    assert "at" in refused.json()["errors"]
