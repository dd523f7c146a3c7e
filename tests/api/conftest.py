"""Shared pieces of the API tests: problem checks, uploads through the API, a clip."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings

from tests.clips import make_clip

PROBLEM = "application/problem+json"
LEAKS = ("Traceback", "/work/", "kino_sk_", 'File "')


def assert_problem(response, status: int, code: str | None = None) -> dict:
    """The response is an RFC 9457 problem document for `status` that leaks nothing."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith(PROBLEM), response["Content-Type"]
    text = response.content.decode()
    for leak in (*LEAKS, settings.SECRET_KEY):
        assert leak not in text, f"{leak!r} in {text}"
    body = json.loads(text)
    for key in ("type", "title", "status", "detail"):
        assert key in body, f"no {key!r} in {body}"
        assert body[key], f"empty {key!r} in {body}"
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


def path_of(url: str) -> str:
    parsed = urlparse(url)
    return parsed.path + (f"?{parsed.query}" if parsed.query else "")


def create_upload(client, **new_asset_settings) -> dict:
    new_asset_settings.setdefault("playback_policy", ["public"])
    response = client.post("/api/v1/uploads", {"new_asset_settings": new_asset_settings},
                           format="json")
    assert response.status_code == 201, response.content
    return response.json()


def put_file(client, url: str, data: bytes, **extra):
    """Send bytes to an upload URL as a browser would: one PUT, no API key."""
    return client.generic("PUT", path_of(url), data, content_type="video/mp4", **extra)


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """A real 2-second 160x90 clip with audio."""
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4")


@pytest.fixture
def upload_clip(anonymous, clip):
    """Create an upload with `client` and PUT the clip to its URL; returns (upload, asset_id)."""

    def upload(client, **new_asset_settings) -> tuple[dict, str]:
        created = create_upload(client, **new_asset_settings)
        response = put_file(anonymous, created["url"], clip.read_bytes())
        assert response.status_code == 200, response.content
        return created, response.json()["asset_id"]

    return upload


@pytest.fixture
def ready_asset(owner, upload_clip, sync_tasks) -> dict:
    """An asset of the owner's environment, processed for real, as the API shows it."""
    _, asset_id = upload_clip(owner, title="Ready clip")
    body = owner.get(f"/api/v1/assets/{asset_id}").json()
    assert body["status"] == "ready", body
    return body
