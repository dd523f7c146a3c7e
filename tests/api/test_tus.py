"""The upload URL speaks tus 1.0.0: core, creation, creation-with-upload, expiration,
checksum and termination."""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import timedelta

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.test import RequestFactory
from django.utils import timezone

from media_core import staging, upload_endpoint
from media_core import upload_urls as urls
from media_core.models import Asset, Upload
from media_core.services.uploads import upload_claim_writer
from tests.clips import make_clip

pytestmark = [pytest.mark.django_db, pytest.mark.storage]

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
OCTETS = "application/offset+octet-stream"


@pytest.fixture
def upload_url(owner):
    response = owner.post("/api/v1/uploads", {"new_asset_settings": {"playback_policy": ["public"]}},
                          format="json")
    return response.json()["url"].split("8000", 1)[1]


def create(client, url, length, **headers):
    return client.post(url, HTTP_UPLOAD_LENGTH=str(length), **TUS, **headers)


def patch(client, url, body: bytes, offset: int, **headers):
    headers.setdefault("content_type", OCTETS)
    return client.generic("PATCH", url, body, HTTP_UPLOAD_OFFSET=str(offset), **TUS, **headers)


def head(client, url):
    return client.head(url, **TUS)


def staged_bytes(settings, upload_id: str) -> int:
    return staging.staged_bytes(upload_id)


def test_options_advertises_the_protocol_and_its_extensions(anonymous, upload_url, settings):
    response = anonymous.options(upload_url)

    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) == {
        "creation", "creation-with-upload", "expiration", "checksum", "termination"}
    assert response["Tus-Max-Size"] == str(settings.UPLOAD_MAX_BYTES)
    assert "sha1" in response["Tus-Checksum-Algorithm"].split(",")


def test_creation_answers_201_with_a_location_and_head_reports_the_offset(anonymous, upload_url):
    created = create(anonymous, upload_url, 1000,
                     HTTP_UPLOAD_METADATA="filename " + base64.b64encode(b"holiday.mp4").decode())

    assert created.status_code == 201
    assert created["Location"].endswith(upload_url)
    assert created["Tus-Resumable"] == "1.0.0"
    assert created["Upload-Expires"].endswith("GMT")
    state = head(anonymous, upload_url)
    assert (state.status_code, state["Upload-Offset"], state["Upload-Length"]) == (200, "0", "1000")
    assert state["Cache-Control"] == "no-store"
    assert Upload.objects.get().filename == "holiday.mp4"


def test_chunks_append_and_the_last_one_makes_the_asset(anonymous, upload_url, tmp_path):
    data = make_clip(tmp_path / "clip.mp4").read_bytes()
    create(anonymous, upload_url, len(data))
    middle = len(data) // 2

    first = patch(anonymous, upload_url, data[:middle], 0)
    assert (first.status_code, first["Upload-Offset"]) == (204, str(middle))
    assert head(anonymous, upload_url)["Upload-Offset"] == str(middle)
    last = patch(anonymous, upload_url, data[middle:], middle)

    assert (last.status_code, last["Upload-Offset"]) == (204, str(len(data)))
    upload = Upload.objects.get()
    assert upload.status == Upload.Status.ASSET_CREATED
    assert last["Upload-Asset-Id"] == upload.asset_id
    asset = Asset.objects.get()
    from media_core.storage import media_storage
    with media_storage().open(asset.master_name) as fh:
        assert fh.read() == data


def test_creation_with_upload_takes_the_first_bytes_in_the_post(anonymous, upload_url):
    created = create(anonymous, upload_url, 10, data=b"hello", content_type=OCTETS)

    assert (created.status_code, created["Upload-Offset"]) == (201, "5")


def test_a_patch_at_the_wrong_offset_is_a_409_and_says_where_to_resume(anonymous, upload_url):
    create(anonymous, upload_url, 100)
    patch(anonymous, upload_url, b"x" * 10, 0)

    response = patch(anonymous, upload_url, b"y" * 10, 0)

    assert response.status_code == 409
    assert response["Upload-Offset"] == "10"
    assert Upload.objects.get().offset == 10


def test_a_checksum_mismatch_is_460_and_keeps_nothing(anonymous, upload_url):
    create(anonymous, upload_url, 100)
    wrong = base64.b64encode(hashlib.sha1(b"other").digest()).decode()

    response = patch(anonymous, upload_url, b"x" * 10, 0, HTTP_UPLOAD_CHECKSUM=f"sha1 {wrong}")

    assert response.status_code == 460
    assert head(anonymous, upload_url)["Upload-Offset"] == "0"


def test_a_matching_checksum_is_accepted(anonymous, upload_url):
    create(anonymous, upload_url, 100)
    right = base64.b64encode(hashlib.sha1(b"x" * 10).digest()).decode()

    response = patch(anonymous, upload_url, b"x" * 10, 0, HTTP_UPLOAD_CHECKSUM=f"sha1 {right}")

    assert (response.status_code, response["Upload-Offset"]) == (204, "10")


def test_an_unsupported_checksum_algorithm_is_400(anonymous, upload_url):
    create(anonymous, upload_url, 100)

    response = patch(anonymous, upload_url, b"x", 0, HTTP_UPLOAD_CHECKSUM="crc32 AAAA")

    assert response.status_code == 400


def test_a_patch_without_the_offset_content_type_is_415(anonymous, upload_url):
    create(anonymous, upload_url, 100)

    assert patch(anonymous, upload_url, b"x", 0, content_type="video/mp4").status_code == 415


def test_a_length_over_the_maximum_is_refused_at_creation(anonymous, upload_url, settings):
    settings.UPLOAD_MAX_BYTES = 1000

    response = create(anonymous, upload_url, 1001)

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert Upload.objects.get().length is None


def test_an_empty_upload_is_refused_at_creation(anonymous, upload_url):
    response = create(anonymous, upload_url, 0)

    assert (response.status_code, response.json()["code"]) == (400, "empty_file")


def test_more_bytes_than_declared_are_refused(anonymous, upload_url):
    create(anonymous, upload_url, 5)

    response = patch(anonymous, upload_url, b"x" * 6, 0)

    assert response.status_code == 413
    assert Upload.objects.get().offset == 0


def test_a_request_without_tus_resumable_is_412(anonymous, upload_url):
    response = anonymous.head(upload_url)

    assert response.status_code == 412
    assert response["Tus-Version"] == "1.0.0"


def test_an_expired_upload_is_410(anonymous, upload_url):
    create(anonymous, upload_url, 100)
    Upload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    # The URL's token signs the expiry, so the moved expiry needs its own URL.
    url = urls.upload_url(Upload.objects.get()).split("8000", 1)[1]

    assert patch(anonymous, url, b"x", 0).status_code == 410
    assert head(anonymous, url).status_code == 410


def test_termination_cancels_the_upload_and_deletes_its_bytes(anonymous, upload_url, settings,
                                                              django_capture_on_commit_callbacks,
                                                              monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)
    create(anonymous, upload_url, 100)
    patch(anonymous, upload_url, b"x" * 10, 0)
    assert staged_bytes(settings, Upload.objects.get().id) == 10

    with django_capture_on_commit_callbacks(execute=True):
        response = anonymous.delete(upload_url, **TUS)

    assert response.status_code == 204
    assert Upload.objects.get().status == Upload.Status.CANCELLED
    assert staged_bytes(settings, Upload.objects.get().id) == 0
    assert head(anonymous, upload_url).status_code == 410


def test_an_interrupted_patch_keeps_the_bytes_that_arrived(anonymous, upload_url):
    create(anonymous, upload_url, 100)
    # The client declared 60 bytes and the connection dropped after 25.
    environ = RequestFactory()._base_environ(
        PATH_INFO=upload_url, REQUEST_METHOD="PATCH", CONTENT_TYPE=OCTETS, CONTENT_LENGTH="60",
        HTTP_UPLOAD_OFFSET="0", HTTP_TUS_RESUMABLE="1.0.0", **{"wsgi.input": io.BytesIO(b"z" * 25)})
    request = WSGIRequest(environ)
    upload = Upload.objects.get()
    from media_core.upload_urls import upload_token

    response = upload_endpoint.upload_file(request, upload.id, upload_token(upload))

    assert response["Upload-Offset"] == "25"
    assert head(anonymous, upload_url)["Upload-Offset"] == "25"


def test_two_writers_racing_at_one_offset_cannot_both_write(anonymous, upload_url):
    create(anonymous, upload_url, 100)
    upload = Upload.objects.get()

    first = upload_claim_writer(upload_id=upload.id, offset=0)
    second = upload_claim_writer(upload_id=upload.id, offset=0)

    assert first and second is None
    assert patch(anonymous, upload_url, b"x", 0).status_code == 409


def test_a_browser_origin_gets_cors_with_the_tus_headers_exposed(owner, anonymous):
    made = owner.post("/api/v1/uploads", {"cors_origin": "https://app.example"}, format="json")
    url = made.json()["url"].split("8000", 1)[1]

    preflight = anonymous.options(url, HTTP_ORIGIN="https://app.example",
                                  HTTP_ACCESS_CONTROL_REQUEST_METHOD="PATCH")
    other = anonymous.options(url, HTTP_ORIGIN="https://evil.example")

    assert preflight["Access-Control-Allow-Origin"] == "https://app.example"
    assert "PATCH" in preflight["Access-Control-Allow-Methods"]
    assert "Upload-Offset" in preflight["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in other
