"""Downloads (mp4_support: standard): highest.mp4 and audio.m4a made from the ladder by a
remux, served with byte ranges, the title as the file name, and a `d` token when signed."""

from __future__ import annotations

import time

import jwt
import pytest

from media_core.models import Asset, StaticRendition
from tests.api.conftest import assert_problem
from tests.clips import make_clip, probe
from tests.factories import asset_from_file

# Storage-marked tests run on local files and again in a bucket: those that make or
# read the files.
pytestmark = pytest.mark.django_db(transaction=True)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture(scope="module")
def ten_seconds(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clips") / "ten.mp4", seconds=10, size="640x360")


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    """For what the length does not matter to: cheaper to process."""
    return make_clip(tmp_path_factory.mktemp("clips") / "short.mp4")


@pytest.fixture
def downloadable(environment, sync_tasks, ten_seconds) -> Asset:
    asset = asset_from_file(environment, ten_seconds, title="Harbour: at dawn",
                            playback_policy=["public"], mp4_support="standard")
    assert asset.status == "ready"
    return asset


@pytest.mark.storage
def test_a_ready_asset_offers_both_downloads_in_its_document(owner, downloadable):
    shown = owner.get(f"/api/v1/assets/{downloadable.id}").json()

    assert shown["mp4_support"] == "standard"
    sizes = {d["name"]: d["bytes"] for d in shown["static_renditions"]}
    assert [d["status"] for d in shown["static_renditions"]] == ["ready", "ready"]
    assert sorted(sizes) == ["audio.m4a", "highest.mp4"] and all(sizes.values())
    types = [e["type"] for e in owner.get("/api/v1/events?limit=100").json()["data"]]
    assert "video.asset.static_renditions.ready" in types


@pytest.mark.storage
def test_highest_mp4_is_the_top_rung_for_the_whole_duration(anonymous, downloadable, tmp_path):
    playback_id = downloadable.playback_ids.get().id
    response = anonymous.get(f"/v/{playback_id}/highest.mp4")

    assert response.status_code == 200
    data = body(response)
    assert int(response["Content-Length"]) == len(data)
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Disposition"] == 'attachment; filename="Harbour at dawn.mp4"'
    saved = tmp_path / "highest.mp4"
    saved.write_bytes(data)
    info = probe(str(saved))
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    top = max(r.height for r in downloadable.renditions.all() if r.height)
    assert video["height"] == top == 360
    assert abs(float(info["format"]["duration"]) - downloadable.duration) <= 0.1
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}


@pytest.mark.storage
def test_a_byte_range_gets_exactly_those_bytes(anonymous, downloadable):
    url = f"/v/{downloadable.playback_ids.get().id}/highest.mp4"
    whole = body(anonymous.get(url))

    first = anonymous.get(url, HTTP_RANGE="bytes=0-99")
    tail = anonymous.get(url, HTTP_RANGE="bytes=-10")
    beyond = anonymous.get(url, HTTP_RANGE=f"bytes={len(whole)}-")

    assert first.status_code == 206 and body(first) == whole[:100]
    assert first["Content-Length"] == "100"
    assert first["Content-Range"] == f"bytes 0-99/{len(whole)}"
    assert tail.status_code == 206 and body(tail) == whole[-10:]
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(whole)}"


@pytest.mark.storage
def test_audio_m4a_is_the_audio_alone(anonymous, downloadable, tmp_path):
    response = anonymous.get(f"/v/{downloadable.playback_ids.get().id}/audio.m4a")

    assert response.status_code == 200 and response["Content-Type"] == "audio/mp4"
    saved = tmp_path / "audio.m4a"
    saved.write_bytes(body(response))
    info = probe(str(saved))
    assert [s["codec_type"] for s in info["streams"]] == ["audio"]
    assert abs(float(info["format"]["duration"]) - downloadable.duration) <= 0.1


@pytest.mark.storage
def test_no_downloads_without_mp4_support_then_switched_on_later(owner, anonymous, environment,
                                                                 sync_tasks, short):
    asset = asset_from_file(environment, short, playback_policy=["public"])
    url = f"/v/{asset.playback_ids.get().id}/highest.mp4"
    assert_problem(anonymous.get(url), 404, "download_not_offered")
    assert owner.get(f"/api/v1/assets/{asset.id}").json()["static_renditions"] == []
    jobs = asset.jobs.count()

    switched = owner.patch(f"/api/v1/assets/{asset.id}", {"mp4_support": "standard"},
                           format="json")

    assert switched.status_code == 200
    assert anonymous.get(url).status_code == 200
    assert asset.jobs.count() == jobs  # made from the ladder: nothing encoded again
    off = owner.patch(f"/api/v1/assets/{asset.id}", {"mp4_support": "none"}, format="json")
    assert off.json()["static_renditions"] == []
    assert_problem(anonymous.get(url), 404, "download_not_offered")
    assert not StaticRendition.objects.filter(asset=asset).exists()


def test_a_signed_playback_id_needs_a_download_token(owner, anonymous, environment, sync_tasks,
                                                     short):
    asset = asset_from_file(environment, short, playback_policy=["signed"],
                            mp4_support="standard")
    playback_id = asset.playback_ids.get().id
    key = owner.post("/api/v1/signing-keys").json()

    def token(aud: str) -> str:
        return jwt.encode({"sub": playback_id, "aud": aud, "exp": int(time.time()) + 600},
                          key["private_key"], algorithm="RS256", headers={"kid": key["id"]})

    url = f"/v/{playback_id}/highest.mp4"
    assert anonymous.get(url).status_code == 403
    assert anonymous.get(url, {"token": token("v")}).status_code == 403
    allowed = anonymous.get(url, {"token": token("d")})
    assert allowed.status_code == 200 and "private" in allowed["Cache-Control"]


def test_an_unpublished_asset_has_no_downloads(owner, anonymous, downloadable):
    owner.post(f"/api/v1/assets/{downloadable.id}/unpublish", {}, format="json")

    assert anonymous.get(f"/v/{downloadable.playback_ids.get().id}/highest.mp4").status_code == 404


def test_mp4_support_takes_only_its_values(owner, downloadable):
    response = owner.patch(f"/api/v1/assets/{downloadable.id}", {"mp4_support": "capped-1080p"},
                           format="json")

    problem = assert_problem(response, 400)
    assert "mp4_support" in problem["errors"]
