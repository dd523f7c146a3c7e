"""Direct uploads: POST /api/v1/uploads, then the file by one PUT to a URL that needs no key."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.utils import timezone

from foundation.models import AuditEntry
from media_core import upload_endpoint
from media_core.models import Asset, Upload
from media_core.upload_endpoint import upload_file
from media_core.upload_urls import upload_url
from webhooks.models import Event

from .conftest import assert_problem, create_upload, path_of, put_file

pytestmark = [pytest.mark.django_db, pytest.mark.storage]

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def parse_time(value: str) -> datetime:
    assert RFC3339_UTC.match(value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def stored_files(media_root: Path) -> list[Path]:
    return [p for p in Path(media_root).rglob("*") if p.is_file()] if Path(media_root).exists() \
        else []


def test_creating_an_upload_answers_201_with_a_waiting_url(owner, settings):
    response = owner.post("/api/v1/uploads", {
        "new_asset_settings": {"title": "Keynote", "playback_policy": ["public"],
                               "passthrough": "order-77"},
        "cors_origin": "https://app.example",
    }, format="json")

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert re.match(r"^upl_[0-9a-z]{26}$", body["id"])
    assert body["status"] == "waiting"
    assert body["asset_id"] is None
    assert body["url"].startswith(f"{settings.PUBLIC_BASE_URL}/upload/{body['id']}/")
    expires = parse_time(body["expires_at"])
    assert timedelta(minutes=59) < expires - timezone.now() <= timedelta(hours=1)
    parse_time(body["created_at"])
    assert body["new_asset_settings"] == {"title": "Keynote", "playback_policy": ["public"],
                                          "passthrough": "order-77"}
    assert body["cors_origin"] == "https://app.example"


def test_an_assets_limit_above_its_environments_is_refused_and_creates_nothing(
        owner, environment):
    response = owner.post("/api/v1/uploads", {"new_asset_settings": {
        "max_duration_seconds": 12 * 3600 + 1}}, format="json")

    body = assert_problem(response, 400, "invalid_request")
    assert "at most 43200" in body["errors"]["new_asset_settings.max_duration_seconds"][0]
    assert not Upload.objects.exists()
    create_upload(owner, max_duration_seconds=12 * 3600)  # the environment's own limit is fine


def test_an_upload_with_a_timeout_expires_after_it(owner):
    response = owner.post("/api/v1/uploads", {"timeout": 120}, format="json")

    body = response.json()
    assert body["timeout"] == 120
    left = parse_time(body["expires_at"]) - timezone.now()
    assert timedelta(seconds=100) < left <= timedelta(seconds=120)


def test_an_upload_reads_back_as_it_was_created(owner):
    created = create_upload(owner, title="Same")

    assert owner.get(f"/api/v1/uploads/{created['id']}").json() == created


def test_creating_an_upload_writes_an_audit_entry_and_an_event(owner, environment):
    created = create_upload(owner, title="Audited")

    audit = AuditEntry.objects.get(object_id=created["id"])
    assert (audit.action, audit.actor_type) == ("upload.created", "api_key")
    assert audit.changes["status"] == [None, "waiting"]
    event = Event.objects.get(object_id=created["id"])
    assert event.type == "video.upload.created"
    assert event.environment == environment


def test_a_clip_put_to_the_url_becomes_a_ready_asset(owner, anonymous, clip, sync_tasks):
    created = create_upload(owner, title="From PUT", playback_policy=["public", "signed"],
                            passthrough="p-1")

    response = put_file(anonymous, created["url"], clip.read_bytes())

    assert response.status_code == 200, response.content
    asset_id = response.json()["asset_id"]
    assert re.match(r"^ast_[0-9a-z]{26}$", asset_id)
    upload = owner.get(f"/api/v1/uploads/{created['id']}").json()
    assert (upload["status"], upload["asset_id"], upload["url"]) == ("asset_created", asset_id,
                                                                     None)
    asset = owner.get(f"/api/v1/assets/{asset_id}").json()
    assert asset["status"] == "ready"
    assert (asset["title"], asset["passthrough"], asset["upload_id"]) == ("From PUT", "p-1",
                                                                          created["id"])
    assert sorted(p["policy"] for p in asset["playback_ids"]) == ["public", "signed"]


def test_the_upload_url_needs_no_api_key_and_ignores_one(owner, anonymous, clip, sync_tasks,
                                                         client_with_scopes):
    created = create_upload(owner)
    stranger = client_with_scopes("events:read")
    stranger.credentials(HTTP_AUTHORIZATION="Bearer kino_sk_not-a-key")

    response = put_file(stranger, created["url"], clip.read_bytes())

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("tamper", [
    lambda url: url[:-2] + ("AA" if not url.endswith("AA") else "BB"),
    lambda url: url.rsplit("/", 1)[0] + "/",
    lambda url: url.rsplit("/", 1)[0] + "/nottherighttoken",
])
def test_a_wrong_token_in_the_url_is_a_404(owner, anonymous, tamper):
    created = create_upload(owner)

    response = put_file(anonymous, tamper(created["url"]), b"bytes")

    assert_problem(response, 404, "not_found")
    assert Upload.objects.get(pk=created["id"]).status == Upload.Status.WAITING


def test_the_token_of_one_upload_does_not_open_another(owner, anonymous):
    first = create_upload(owner)
    second = create_upload(owner)
    token = first["url"].rsplit("/", 1)[1]

    response = anonymous.generic("PUT", f"/upload/{second['id']}/{token}", b"x")

    assert_problem(response, 404, "not_found")


def test_a_put_after_cancel_is_a_410_and_stores_nothing(owner, anonymous, media_root):
    created = create_upload(owner)
    owner.put(f"/api/v1/uploads/{created['id']}/cancel")

    response = put_file(anonymous, created["url"], b"late bytes")

    assert_problem(response, 410, "upload_closed")
    assert stored_files(media_root) == []
    assert not Asset.objects.exists()


def test_a_second_put_after_the_asset_was_made_is_a_409(owner, anonymous, clip, sync_tasks):
    created = create_upload(owner)
    assert put_file(anonymous, created["url"], clip.read_bytes()).status_code == 200

    response = put_file(anonymous, created["url"], clip.read_bytes())

    assert_problem(response, 409, "upload_complete")
    assert Asset.objects.count() == 1


def test_an_expired_upload_url_is_a_410(owner, anonymous, media_root):
    created = create_upload(owner)
    upload = Upload.objects.get(pk=created["id"])
    upload.expires_at = timezone.now() - timedelta(seconds=1)
    upload.save(update_fields=["expires_at"])

    response = put_file(anonymous, upload_url(upload), b"too late")

    assert_problem(response, 410, "upload_expired")
    assert stored_files(media_root) == []
    assert not Asset.objects.exists()


def test_a_body_larger_than_the_limit_is_a_413_and_leaves_nothing(owner, anonymous, media_root,
                                                                  settings):
    settings.UPLOAD_MAX_BYTES = 1000
    created = create_upload(owner)

    response = put_file(anonymous, created["url"], b"x" * 1001)

    body = assert_problem(response, 413, "file_too_large")
    assert "1000" in body["detail"]
    assert stored_files(media_root) == []
    assert not Asset.objects.exists()
    assert Upload.objects.get(pk=created["id"]).status == Upload.Status.WAITING


def test_a_body_exactly_at_the_limit_is_taken(owner, anonymous, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    created = create_upload(owner)

    response = put_file(anonymous, created["url"], b"x" * 1000)

    assert response.status_code == 200
    assert response.json()["size"] == 1000


def streamed_put(url: str, body: bytes) -> ASGIRequest:
    """A PUT as an ASGI server hands it over for a chunked body: no Content-Length."""
    path = urlparse(url).path
    scope = {
        "type": "http", "method": "PUT", "path": path, "root_path": "", "query_string": b"",
        "headers": [(b"content-type", b"video/mp4"), (b"host", b"testserver")],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }
    return ASGIRequest(scope, io.BytesIO(body))


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(owner, media_root, settings):
    settings.UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    created = create_upload(owner)
    upload_id, token = urlparse(created["url"]).path.split("/")[2:4]

    response = upload_file(streamed_put(created["url"], b"x" * (4 * 1024 * 1024)),
                           upload_id=upload_id, token=token)

    assert_problem(response, 413, "file_too_large")
    assert not Asset.objects.exists()
    assert stored_files(media_root) == []


def test_an_empty_body_is_refused_and_the_url_stays_usable(owner, anonymous, clip, media_root,
                                                          sync_tasks):
    created = create_upload(owner)

    empty = put_file(anonymous, created["url"], b"")

    assert_problem(empty, 400, "empty_file")
    assert not Asset.objects.exists()
    assert stored_files(media_root) == []
    assert Upload.objects.get(pk=created["id"]).status == Upload.Status.WAITING
    assert put_file(anonymous, created["url"], clip.read_bytes()).status_code == 200


def test_the_upload_url_takes_only_put(owner, anonymous):
    created = create_upload(owner)

    response = anonymous.get(path_of(created["url"]))

    assert_problem(response, 405, "method_not_allowed")
    assert "PUT" in response["Allow"]


def test_the_upload_url_answers_a_preflight_for_its_cors_origin(owner, anonymous):
    created = owner.post("/api/v1/uploads", {"cors_origin": "https://app.example"},
                         format="json").json()

    allowed = anonymous.options(path_of(created["url"]), HTTP_ORIGIN="https://app.example")
    other = anonymous.options(path_of(created["url"]), HTTP_ORIGIN="https://evil.example")

    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example"
    assert "PUT" in allowed["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in other


def test_completing_an_upload_leaves_events_and_audit_entries(owner, anonymous, clip,
                                                              sync_tasks):
    created = create_upload(owner)

    asset_id = put_file(anonymous, created["url"], clip.read_bytes()).json()["asset_id"]

    audit = AuditEntry.objects.get(object_id=created["id"], action="upload.asset_created")
    assert audit.actor_type == "upload_url"
    assert audit.changes == {"status": ["waiting", "asset_created"], "asset_id": [None, asset_id]}
    assert Event.objects.filter(object_id=created["id"],
                                type="video.upload.asset_created").count() == 1


def test_an_upload_list_shows_each_upload_as_its_detail_does(owner, environment):
    created = create_upload(owner, title="listed")

    listed = owner.get("/api/v1/uploads").json()["data"]

    assert listed == [owner.get(f"/api/v1/uploads/{created['id']}").json()]


def test_a_put_arriving_while_another_writes_is_refused_and_touches_nothing(
        owner, anonymous, media_root, settings, monkeypatch):
    """Two PUTs of one upload: the writer claim lets one write; the other gets 409.

    Storage that overwrites (S3 with file_overwrite, FileSystemStorage(allow_overwrite=True))
    makes a shared file name dangerous, so the winner's file must come through intact.
    """
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(media_root), "allow_overwrite": True}}}
    created = create_upload(owner)
    real_complete = upload_endpoint.services.upload_complete
    raced = []

    def complete_after_a_competitor(**kwargs):
        if not raced:
            raced.append(put_file(anonymous, created["url"], b"second bytes"))
        return real_complete(**kwargs)

    monkeypatch.setattr(upload_endpoint.services, "upload_complete", complete_after_a_competitor)

    first = put_file(anonymous, created["url"], b"first bytes")

    assert first.status_code == 200
    assert_problem(raced[0], 409, "offset_conflict")
    asset = Asset.objects.get()
    master = Path(media_root) / asset.master_name
    assert master.read_bytes() == b"first bytes"
    assert stored_files(media_root) == [master]
