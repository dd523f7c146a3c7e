"""A finished run's recording files become its asset: joined, stored and processed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from live import services
from live.models import LiveSession
from live.recordings import finalise_recording
from media_core.models import Asset
from tests.clips import make_clip

from .support import Ingest, create_stream, event_types, go_live

pytestmark = pytest.mark.django_db

RECORDING = {"playback_policy": ["public"], "title": "Match day"}


@pytest.fixture(autouse=True)
def rec_dir(settings, tmp_path):
    settings.LIVE_DIR = tmp_path / "live"
    folder = settings.LIVE_DIR / "rec"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def ingest():
    return Ingest()


def asset_shown(owner, asset_id: str) -> dict:
    response = owner.get(f"/api/v1/assets/{asset_id}")
    assert response.status_code == 200, response.content
    return response.json()


def end_of_window(stream: dict):
    return timezone.now() + timedelta(seconds=stream["reconnect_window"] + 1)


def test_a_run_with_a_reconnect_becomes_one_ready_asset(owner, ingest, rec_dir, sync_tasks):
    """Two publish sessions, each recorded by nginx-rtmp as an FLV, end up joined."""
    stream = create_stream(owner, new_asset_settings=RECORDING, reconnect_window=30)
    files = []
    for client_id in ("1", "2"):
        go_live(ingest, stream, client_id=client_id)
        flv = make_clip(rec_dir / f"{stream['id']}-{client_id}.flv", seconds=2)
        files.append(flv)
        assert ingest.record_done(stream["id"], str(flv), client_id=client_id).status_code == 200
        ingest.publish_done(stream["id"], client_id=client_id)
    asset_id = owner.get(f"/api/v1/live-streams/{stream['id']}").json()["recent_asset_ids"][0]
    assert asset_shown(owner, asset_id)["status"] == "preparing"

    # The reconnect window passes: the recording is joined and processed (in-process here).
    services.live_streams_sweep(end_of_window(stream))

    asset = asset_shown(owner, asset_id)
    assert asset["status"] == "ready", asset
    assert asset["live_stream_id"] == stream["id"]
    assert asset["duration"] == pytest.approx(4.0, abs=0.3)
    assert {t["type"] for t in asset["tracks"]} == {"video", "audio"}
    stored = Asset.objects.get(pk=asset_id)
    assert stored.master_name == f"recordings/{asset_id}/recording.mp4"
    assert stored.jobs.count() == 1
    assert not any(f.exists() for f in files)
    assert event_types(owner, asset_id)[-3:] == ["video.asset.live_stream_completed",
                                                 "video.asset.ready", "video.asset.published"]
    playback_id = asset["playback_ids"][0]["id"]
    assert owner.get(f"/v/{playback_id}.m3u8").status_code == 200


def ended_run(owner, ingest, *, record_path: str | None = None, ended_ago: float = 11) -> str:
    """A recording stream's run, over, with one session that ended `ended_ago` seconds ago."""
    stream = create_stream(owner, new_asset_settings=RECORDING, reconnect_window=0)
    go_live(ingest, stream)
    asset_id = owner.get(f"/api/v1/live-streams/{stream['id']}").json()["active_asset_id"]
    if record_path is not None:
        ingest.record_done(stream["id"], record_path)
    ingest.publish_done(stream["id"])
    LiveSession.objects.filter(stream_id=stream["id"]).update(
        ended_at=timezone.now() - timedelta(seconds=ended_ago))
    return asset_id


def test_a_run_that_recorded_nothing_ends_as_an_errored_asset(owner, ingest):
    asset_id = ended_run(owner, ingest)

    assert finalise_recording(asset_id) == "no media"

    asset = asset_shown(owner, asset_id)
    assert asset["status"] == "errored"
    assert asset["errors"]["type"] == "no_media_recorded"
    assert asset["errors"]["messages"]
    assert event_types(owner, asset_id)[-1] == "video.asset.errored"
    assert finalise_recording(asset_id) == "nothing to do"


def test_an_empty_recording_file_counts_as_nothing_recorded(owner, ingest, rec_dir):
    empty = rec_dir / "empty.flv"
    empty.write_bytes(b"")
    asset_id = ended_run(owner, ingest, record_path=str(empty))

    finalise_recording(asset_id)

    assert asset_shown(owner, asset_id)["errors"]["type"] == "no_media_recorded"


def test_the_recording_waits_a_moment_for_the_file_of_a_session_just_ended(owner, ingest):
    asset_id = ended_run(owner, ingest, ended_ago=1)

    assert finalise_recording(asset_id) == "waiting for a recording file"
    assert asset_shown(owner, asset_id)["status"] == "preparing"


def test_the_recording_waits_while_a_session_is_open(owner, ingest):
    stream = create_stream(owner, new_asset_settings=RECORDING)
    go_live(ingest, stream)
    asset_id = owner.get(f"/api/v1/live-streams/{stream['id']}").json()["active_asset_id"]

    assert finalise_recording(asset_id) == "a session is still open"
    assert asset_shown(owner, asset_id)["status"] == "preparing"


@pytest.mark.parametrize("where", ["outside", "traversal", "not_flv"])
def test_a_recording_path_outside_the_recordings_folder_is_ignored(owner, ingest, rec_dir,
                                                                   tmp_path, where):
    outside = tmp_path / "elsewhere" / "precious.flv"
    outside.parent.mkdir()
    outside.write_bytes(b"FLV" + bytes(1000))
    not_flv = rec_dir / "notes.txt"
    not_flv.write_bytes(b"not a recording")
    path = {"outside": str(outside),
            "traversal": str(rec_dir / ".." / ".." / "elsewhere" / "precious.flv"),
            "not_flv": str(not_flv)}[where]
    asset_id = ended_run(owner, ingest, record_path=path)

    assert finalise_recording(asset_id) == "no media"

    assert asset_shown(owner, asset_id)["errors"]["type"] == "no_media_recorded"
    assert outside.read_bytes().startswith(b"FLV")
    assert not_flv.exists()


def test_a_stream_that_does_not_record_has_its_files_discarded(owner, ingest, rec_dir, tmp_path):
    stream = create_stream(owner)
    go_live(ingest, stream)
    ours = rec_dir / f"{stream['id']}-1.flv"
    ours.write_bytes(b"FLV" + bytes(100))
    outside = tmp_path / "keep.flv"
    outside.write_bytes(b"FLV" + bytes(100))

    ingest.record_done(stream["id"], str(ours))
    ingest.record_done(stream["id"], str(outside))

    assert not ours.exists()
    assert outside.exists()
