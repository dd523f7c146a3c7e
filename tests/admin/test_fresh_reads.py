"""An asset read back right after any change shows the change: through the API, the
admin, the worker, its playback IDs and the live ingest. Pollers may keep an ETag; it
must not hold. Documents are built once per change here (documents_on) as they are with
REDIS_URL, so a change that did not reach them would show as a stale read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from foundation.admin import change_url
from live.models import LiveSession
from live.recordings import finalise_recording
from media_core.processing.pipeline import run_job
from tests.clips import make_clip
from tests.factories import asset_from_file
from tests.live.support import Ingest, create_stream, go_live

from .conftest import form_data

pytestmark = pytest.mark.django_db


def _read(owner, asset_id: str, etag: str | None = None):
    extra = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    return owner.get(f"/api/v1/assets/{asset_id}", **extra)


def _changed(owner, asset_id: str, etag: str) -> dict:
    """The asset as a poller holding `etag` gets it now: a whole new document."""
    response = _read(owner, asset_id, etag)
    assert response.status_code == 200, "a poller was told nothing changed"
    assert response["ETag"] != etag
    return response.json()


def test_every_path_that_changes_an_asset_is_read_back_at_once(owner, admin_client, environment,
                                                                tmp_path, documents_on):
    asset = asset_from_file(environment, make_clip(tmp_path / "clip.mp4"), title="First",
                            playback_policy=["public"])
    first = _read(owner, asset.id)
    assert first.json()["status"] == "preparing"
    assert _read(owner, asset.id, first["ETag"]).status_code == 304

    # The worker processes it.
    run_job(asset.jobs.latest("id").id)
    ready = _changed(owner, asset.id, first["ETag"])
    assert ready["status"] == "ready" and ready["duration"]
    etag = _read(owner, asset.id)["ETag"]

    # The API renames it.
    owner.patch(f"/api/v1/assets/{asset.id}", {"title": "Second"}, format="json")
    assert _changed(owner, asset.id, etag)["title"] == "Second"
    etag = _read(owner, asset.id)["ETag"]

    # An editor renames it in the admin.
    data = form_data(admin_client.get(change_url(asset)), "asset_form")
    data.update(title="Third")
    assert admin_client.post(change_url(asset), data).status_code == 302
    assert _changed(owner, asset.id, etag)["title"] == "Third"
    etag = _read(owner, asset.id)["ETag"]

    # A playback ID is added and removed (neither touches the asset's own row).
    added = owner.post(f"/api/v1/assets/{asset.id}/playback-ids", {"policy": "signed"},
                       format="json").json()
    shown = _changed(owner, asset.id, etag)
    assert added["id"] in [p["id"] for p in shown["playback_ids"]]
    etag = _read(owner, asset.id)["ETag"]
    owner.delete(f"/api/v1/assets/{asset.id}/playback-ids/{added['id']}")
    assert added["id"] not in [p["id"] for p in _changed(owner, asset.id, etag)["playback_ids"]]

    # Deleted: gone at once.
    owner.delete(f"/api/v1/assets/{asset.id}")
    assert _read(owner, asset.id).status_code == 404


def test_a_live_recording_is_read_back_at_once_as_its_run_goes(owner, documents_on, settings,
                                                               tmp_path):
    settings.LIVE_DIR = tmp_path / "live"
    (settings.LIVE_DIR / "rec").mkdir(parents=True)
    ingest = Ingest()
    stream = create_stream(owner, new_asset_settings={"title": "Match day"}, reconnect_window=0)
    go_live(ingest, stream)
    asset_id = owner.get(f"/api/v1/live-streams/{stream['id']}").json()["active_asset_id"]
    live = _read(owner, asset_id)
    assert live.json()["status"] == "preparing"
    assert live.json()["live_stream_id"] == stream["id"]

    # The encoder stops; the ingest ends the run and the recording holds no media.
    ingest.publish_done(stream["id"])
    LiveSession.objects.filter(stream_id=stream["id"]).update(
        ended_at=timezone.now() - timedelta(seconds=60))
    assert finalise_recording(asset_id) == "no media"

    errored = _changed(owner, asset_id, live["ETag"])
    assert errored["status"] == "errored"
    assert errored["errors"]["type"] == "no_media_recorded"
