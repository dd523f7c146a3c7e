"""What the platform records of its own work as it does it: processing seconds per job
type, the storage ledger against what is really in storage, live and recording seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from foundation.usage import selectors
from foundation.usage.models import UsageRecord
from live import services as live_services
from live.ingest.config import layout
from live.ingest.recordings import Recordings
from live.models import LiveSession
from media_core.models import Asset, ProcessingJob
from media_core.processing.pipeline import run_job
from media_core.services import processing
from tests.clips import make_clip, random_bytes
from tests.factories import asset_from_file
from tests.live.support import Ingest, create_stream, go_live, node_stores

VTT = b"WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nHello\n"


def today(environment) -> dict:
    day = datetime.now(UTC).date()
    return selectors.usage_by_day(environment_id=environment.id, start=day, end=day)[0]


def on_disk(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=3)


def job_seconds(asset: Asset) -> float:
    return sum((job.finished_at - job.started_at).total_seconds()
               for job in ProcessingJob.objects.filter(asset=asset))


def test_an_encode_counts_its_seconds_and_storage_matches_the_files(environment, sync_tasks,
                                                                    clip, media_root):
    asset = asset_from_file(environment, clip, mp4_support="standard")
    assert asset.status == "ready"

    figures = today(environment)
    processing_seconds = figures["processing_seconds"]
    assert processing_seconds["encode"] == pytest.approx(job_seconds(asset), rel=0.1, abs=0.05)
    assert processing_seconds["static_renditions"] > 0
    assert processing_seconds["total"] == pytest.approx(
        processing_seconds["encode"] + processing_seconds["static_renditions"], abs=0.002)
    stored = figures["storage_bytes"]
    assert stored["total"] == on_disk(media_root) > 0
    assert stored["originals"] == clip.stat().st_size
    assert stored["static_renditions"] == on_disk(media_root / asset.media_prefix / "static")
    assert stored["renditions"] > 0


def test_a_repeated_task_counts_no_more(environment, sync_tasks, clip):
    asset = asset_from_file(environment, clip)
    before = today(environment)
    job = asset.jobs.get()

    run_job(job.id)  # the queue hands the finished job out again
    processing.job_record_usage(job=ProcessingJob.objects.select_related("asset").get(pk=job.id),
                                seconds=100)

    assert today(environment) == before


def test_deleting_an_asset_takes_its_bytes_off_the_ledger(owner, environment, sync_tasks, clip,
                                                          media_root):
    asset = asset_from_file(environment, clip, mp4_support="standard")
    assert today(environment)["storage_bytes"]["total"] > 0

    assert owner.delete(f"/api/v1/assets/{asset.id}").status_code == 204

    assert today(environment)["storage_bytes"]["total"] == on_disk(media_root) == 0


def test_a_refused_file_is_stored_and_let_go_and_its_attempt_counts(environment, sync_tasks,
                                                                    tmp_path, media_root):
    asset = asset_from_file(environment, random_bytes(tmp_path / "noise.mp4"))
    assert asset.status == "errored"

    figures = today(environment)
    assert figures["storage_bytes"]["total"] == on_disk(media_root) == 0
    assert figures["processing_seconds"]["encode"] > 0


def test_text_tracks_and_images_are_in_the_ledger_until_removed(owner, anonymous, environment,
                                                                sync_tasks, clip, media_root):
    asset = asset_from_file(environment, clip)
    playback_id = asset.playback_ids.get().id
    added = owner.post(f"/api/v1/assets/{asset.id}/tracks",
                       {"file": SimpleUploadedFile("en.vtt", VTT), "language_code": "en",
                        "name": "English"}, format="multipart")
    assert added.status_code == 201, added.content
    assert anonymous.get(f"/v/{playback_id}/thumbnail.jpg?time=1&width=64").status_code == 200

    figures = today(environment)
    assert figures["storage_bytes"]["text_tracks"] == on_disk(media_root / "assets" / asset.id
                                                              / "text") > 0
    assert figures["storage_bytes"]["images"] == on_disk(media_root / asset.media_prefix
                                                         / "images") > 0
    assert figures["storage_bytes"]["total"] == on_disk(media_root)
    assert figures["processing_seconds"]["text_tracks"] > 0

    removed = owner.delete(f"/api/v1/assets/{asset.id}/tracks/{added.json()['id']}")
    assert removed.status_code == 204
    assert today(environment)["storage_bytes"]["text_tracks"] == 0
    assert today(environment)["storage_bytes"]["total"] == on_disk(media_root)


def test_a_clip_counts_as_clip_processing(owner, environment, sync_tasks, clip):
    source = asset_from_file(environment, clip)
    response = owner.post(f"/api/v1/assets/{source.id}/clips", {"start": 0.5, "end": 2},
                          format="json")
    assert response.status_code == 201, response.content
    made = Asset.objects.get(pk=response.json()["id"])

    assert made.status == "ready"
    assert today(environment)["processing_seconds"]["clip"] == pytest.approx(
        job_seconds(made), rel=0.1, abs=0.05)


# --- live --------------------------------------------------------------------------------
@pytest.fixture
def rec_dir(settings, tmp_path) -> Path:
    settings.LIVE_DIR = tmp_path / "live"
    folder = settings.LIVE_DIR / "rec"
    folder.mkdir(parents=True)
    return folder


def test_live_seconds_run_from_connect_to_disconnect(owner, environment, db):
    ingest = Ingest()
    stream = create_stream(owner)
    go_live(ingest, stream)
    LiveSession.objects.filter(stream_id=stream["id"]).update(
        started_at=timezone.now() - timedelta(seconds=90))

    ingest.publish_done(stream["id"])
    ingest.publish_done(stream["id"])

    assert today(environment)["live_seconds"] == pytest.approx(90, abs=2)
    assert UsageRecord.objects.filter(key__startswith="live_session:").count() == 1


def test_a_recording_counts_its_length_and_its_join(owner, environment, sync_tasks, rec_dir,
                                                    media_root):
    ingest = Ingest()
    stream = create_stream(owner, new_asset_settings={"playback_policy": ["public"]},
                           reconnect_window=30)
    go_live(ingest, stream)
    flv = make_clip(rec_dir / f"{stream['id']}-1.flv", seconds=2)
    ingest.record_done(stream["id"], str(flv))
    ingest.publish_done(stream["id"])
    node = Recordings(layout())
    node_stores(ingest, node)  # the node stores its file
    node.shutdown()

    live_services.live_streams_sweep(timezone.now() + timedelta(seconds=31))

    asset = Asset.objects.get(live_stream_id=stream["id"])
    assert asset.status == "ready"
    figures = today(environment)
    assert figures["recording_seconds"] == pytest.approx(asset.duration, abs=0.001)
    assert figures["processing_seconds"]["live_recording"] > 0
    assert figures["storage_bytes"]["recordings"] == asset.master_size > 0
    assert figures["storage_bytes"]["originals"] == 0
    assert figures["storage_bytes"]["total"] == on_disk(media_root)
