"""An asset read back right after any change shows the change: through the API, the
admin, the worker and its playback IDs. Pollers may keep an ETag; it must not hold."""

from __future__ import annotations

import pytest

from foundation.admin import change_url
from media_core.processing.pipeline import run_job
from tests.clips import make_clip
from tests.factories import asset_from_file

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
                                                                tmp_path):
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
