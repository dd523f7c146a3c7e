"""A finished run's recording files become its asset: stored by the ingest node itself,
joined, stored and processed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from live import services
from live.ingest.config import layout
from live.ingest.recordings import Recordings
from live.models import LiveSession
from live.recordings import finalise_recording
from media_core.models import Asset
from media_core.storage import list_tree
from media_core.storage import store_file as real_store_file
from tests.clips import make_clip

from .support import Ingest, create_stream, event_types, go_live, node_stores, settle

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


@pytest.fixture
def node():
    """The ingest node's side: what it stores, as the runner drives it."""
    recordings = Recordings(layout())
    yield recordings
    recordings.shutdown()


def asset_shown(owner, asset_id: str) -> dict:
    response = owner.get(f"/api/v1/assets/{asset_id}")
    assert response.status_code == 200, response.content
    return response.json()


def end_of_window(stream: dict):
    return timezone.now() + timedelta(seconds=stream["reconnect_window"] + 1)


@pytest.mark.storage
def test_a_run_with_a_reconnect_becomes_one_ready_asset(owner, ingest, node, rec_dir,
                                                        sync_tasks):
    """Two publish sessions, each recorded by nginx-rtmp as an FLV and stored by the node
    itself, end up joined: no other machine reads the node's disk."""
    stream = create_stream(owner, new_asset_settings=RECORDING, reconnect_window=30)
    files = []
    for client_id in ("1", "2"):
        go_live(ingest, stream, client_id=client_id)
        flv = make_clip(rec_dir / f"{stream['id']}-{client_id}.flv", seconds=2)
        files.append(flv)
        assert ingest.record_done(stream["id"], str(flv), client_id=client_id).status_code == 200
        ingest.publish_done(stream["id"], client_id=client_id)
    asset_id = owner.get(f"/api/v1/live-streams/{stream['id']}").json()["recent_asset_ids"][0]
    said = node_stores(ingest, node)
    assert [r["outcome"] for r in said] == ["stored", "stored"]
    assert not any(f.exists() for f in files)  # off the node's disk once stored
    assert len(list_tree(f"recordings/{asset_id}/sessions")) == 2
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
    assert list_tree(f"recordings/{asset_id}/sessions") == []  # joined, then let go
    assert node.reports() == []  # the platform heard: nothing more to say
    assert event_types(owner, asset_id)[-4:] == ["video.asset.live_stream_completed",
                                                 "video.asset.ready", "video.asset.published",
                                                 "video.asset.renditions_ready"]
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


def test_an_empty_recording_file_counts_as_nothing_recorded(owner, ingest, node, rec_dir):
    empty = rec_dir / "empty.flv"
    empty.write_bytes(b"")
    asset_id = ended_run(owner, ingest, record_path=str(empty))
    node_stores(ingest, node)

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


def test_the_recording_waits_for_the_node_to_store_its_file(owner, ingest, node, rec_dir):
    flv = make_clip(rec_dir / "run.flv", seconds=1)
    asset_id = ended_run(owner, ingest, record_path=str(flv))

    assert finalise_recording(asset_id) == "waiting for the ingest node to store a recording"

    node_stores(ingest, node)
    assert LiveSession.objects.get(asset_id=asset_id).recording_name  # then joined:
    assert finalise_recording(asset_id) == f"recordings/{asset_id}/recording.mp4"


def test_a_node_gone_for_good_leaves_the_run_joined_from_what_was_stored(owner, ingest,
                                                                         rec_dir):
    """A node that stopped with a file not stored gets a while to come back for it."""
    flv = make_clip(rec_dir / "never-stored.flv", seconds=1)
    asset_id = ended_run(owner, ingest, record_path=str(flv))
    ingest.report(final=True)  # the node stops; the file stays on its disk
    assert finalise_recording(asset_id) == "waiting for the ingest node to store a recording"

    LiveSession.objects.filter(asset_id=asset_id).update(
        ended_at=timezone.now() - timedelta(minutes=11))
    assert finalise_recording(asset_id) == "no media"
    assert asset_shown(owner, asset_id)["errors"]["type"] == "no_media_recorded"


def test_a_node_that_stored_a_file_but_died_before_saying_so_says_so_after(owner, ingest,
                                                                          node, rec_dir):
    flv = make_clip(rec_dir / "run.flv", seconds=1)
    asset_id = ended_run(owner, ingest, record_path=str(flv))
    node.reconcile(ingest.report()["recordings"])
    settle(node)
    assert not flv.exists()  # stored, then the node was killed before its report

    restarted = Recordings(layout())
    said = node_stores(ingest, restarted)

    assert said == [{"session": LiveSession.objects.get(asset_id=asset_id).id,
                     "outcome": "stored", "name": f"recordings/{asset_id}/sessions/"
                     f"{LiveSession.objects.get(asset_id=asset_id).id}.flv"}]
    assert finalise_recording(asset_id).endswith("recording.mp4")
    restarted.shutdown()


def test_a_file_storage_refused_stays_on_the_node_and_is_tried_again(owner, ingest, node,
                                                                    rec_dir, monkeypatch):
    flv = make_clip(rec_dir / "run.flv", seconds=1)
    ended_run(owner, ingest, record_path=str(flv))

    reachable = False

    def store_file(path: Path, name: str) -> str:
        if not reachable:
            raise OSError("the bucket is unreachable")
        return real_store_file(path, name)

    monkeypatch.setattr("live.ingest.recordings.store_file", store_file)
    assert node_stores(ingest, node) == []
    assert flv.exists()

    reachable = True
    assert [r["outcome"] for r in node_stores(ingest, node)] == ["stored"]
    assert not flv.exists()


@pytest.mark.storage
def test_deleting_a_recording_before_it_is_joined_deletes_its_stored_files(owner, ingest,
                                                                            node, rec_dir,
                                                                            sync_tasks):
    flv = make_clip(rec_dir / "run.flv", seconds=1)
    asset_id = ended_run(owner, ingest, record_path=str(flv), ended_ago=0)
    node_stores(ingest, node)
    assert list_tree(f"recordings/{asset_id}") != []

    assert owner.delete(f"/api/v1/assets/{asset_id}").status_code == 204

    assert list_tree(f"recordings/{asset_id}") == []


@pytest.mark.parametrize("where", ["outside", "traversal", "not_flv"])
def test_a_recording_path_outside_the_recordings_folder_is_ignored(owner, ingest, node, rec_dir,
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

    assert [r["outcome"] for r in node_stores(ingest, node)] == ["missing"]
    assert finalise_recording(asset_id) == "no media"

    assert asset_shown(owner, asset_id)["errors"]["type"] == "no_media_recorded"
    assert outside.read_bytes().startswith(b"FLV")
    assert not_flv.exists()
    assert list_tree("recordings") == []


def test_a_stream_that_does_not_record_has_its_files_discarded(owner, ingest, node, rec_dir):
    stream = create_stream(owner)
    go_live(ingest, stream)
    ours = rec_dir / f"{stream['id']}-1.flv"
    ours.write_bytes(b"FLV" + bytes(100))

    ingest.record_done(stream["id"], str(ours))

    assert [r["outcome"] for r in node_stores(ingest, node)] == ["discarded"]
    assert not ours.exists()
    assert list_tree("recordings") == []
